"""Command line of the drift job: evaluate one window and print the report as JSON.

Two ways in. Cluster-free: `--reference`, `--window`, `--features`, `--start`/`--end` name the
data directly. In a cluster: `--monitor <namespace>/<name>` reads the DriftMonitor (and its
ModelVersion) and derives the same arguments. Exit status 0 with the report on stdout; 2 with a
one-line message on stderr for bad input; 1 for a failure reading the data.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.fs as pafs
import pyarrow.parquet as pq
from pydantic import ValidationError

from modelplane_crds.drift_monitor import CandidateEvaluation, DriftMonitorSpec
from modelplane_crds.drift_results import DriftEvaluation
from modelplane_crds.payload_logs import FEEDBACK_DIR
from modelplane_crds.quality import QualityEvaluation, QualitySpec
from modelplane_operator.drift.alerting import SECRETS_DIR, deliver
from modelplane_operator.drift.candidate import evaluate_candidate
from modelplane_operator.drift.config import (
    CATEGORICAL_TESTS,
    NUMERICAL_TESTS,
    DriftConfig,
    FeatureSpec,
)
from modelplane_operator.drift.job import evaluate_window, load_or_build_profile
from modelplane_operator.drift.monitor import evaluated_status, failed_status, parse_duration
from modelplane_operator.drift.profile import ReferenceProfile
from modelplane_operator.drift.quality import evaluate_quality, scored_window
from modelplane_operator.drift.reader import filesystem_for, parquet_files


class UsageError(Exception):
    """Bad input from the caller: reported in one line, exit status 2."""


def main(argv: list[str] | None = None) -> int:
    """Run one drift evaluation; returns the process exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr)
    started = datetime.now(UTC)
    if args.write_status and not args.monitor:
        print("drift: --write-status needs --monitor", file=sys.stderr)
        return 2
    try:
        if args.monitor:
            from modelplane_operator.drift.resolve import arguments_from_monitor

            resolved = arguments_from_monitor(
                args.monitor, args.kubeconfig, default_bucket=args.payload_bucket
            )
            for key, value in resolved.items():
                if getattr(args, key, None) in (None, ""):
                    setattr(args, key, value)
        evaluation, candidate = _run(args)
    except (UsageError, ValidationError, ValueError) as exc:
        return _fail(args, f"drift: {exc}", 2, started)
    except OSError as exc:
        return _fail(args, f"drift: cannot read data: {exc}", 1, started)
    report = evaluation.model_dump(mode="json", by_alias=True)
    text = json.dumps(report, indent=2)
    if args.history:
        _write_history(args.history, evaluation, text)
    if args.write_status:
        _write_status(
            args, lambda monitor: _evaluated(args, monitor, evaluation, candidate, started)
        )
    if args.output:
        Path(args.output).write_text(text + "\n")
    else:
        print(text)
    return 0


def _fail(args: argparse.Namespace, message: str, code: int, started: datetime) -> int:
    """Report a failed run on stderr and, with --write-status, in the monitor's status."""
    print(message, file=sys.stderr)
    if args.write_status:
        line = message.removeprefix("drift: ")
        try:
            _write_status(args, lambda _: failed_status(line, bad_input=code == 2, started=started))
        except OSError as exc:
            print(f"drift: cannot report the failure in status: {exc}", file=sys.stderr)
    return code


def _evaluated(
    args: argparse.Namespace,
    monitor: dict[str, Any],
    evaluation: DriftEvaluation,
    candidate: CandidateEvaluation | None,
    started: datetime,
) -> dict[str, Any]:
    """The status after an evaluation, with the alerts it sent (read before it is written)."""
    version = args.model_version or ""
    spec = DriftMonitorSpec.model_validate(monitor.get("spec") or {}).quality
    if spec is not None and candidate is not None and args.candidate_window:
        scored = _quality(spec, args.candidate_window, candidate.model_version, evaluation)
        candidate = candidate.model_copy(update={"quality": scored})
    status = evaluated_status(monitor.get("status"), evaluation, version, started, candidate)
    quality = _quality(spec, args.window, args.model_version, evaluation) if spec else None
    secrets = Path(args.alert_secrets)
    alerts = deliver(monitor, evaluation, version, datetime.now(UTC), secrets, quality)
    if alerts is not None:
        status["alerts"] = alerts
    if quality is not None:
        status["lastQuality"] = quality.to_wire()
    return status


def _quality(
    spec: QualitySpec, window: str | None, version: str | None, evaluation: DriftEvaluation
) -> QualityEvaluation | None:
    """One version's quality from ground truth: its logged predictions (under `window`) joined
    to the deployment's feedback (`<deployment prefix>/_feedback`, shared by every version), over
    the drift window moved back by `labelDelay`. A failure leaves the last quality in status."""
    if not window:
        return None
    start, end = scored_window(
        evaluation.window_start, evaluation.window_end, parse_duration(spec.label_delay)
    )
    feedback = f"{window.rstrip('/').rsplit('/', 1)[0]}/{FEEDBACK_DIR}"
    try:
        return evaluate_quality(spec, window, feedback, start, end, datetime.now(UTC), version)
    except (OSError, ValueError) as exc:
        print(f"drift: quality of {version or window} not evaluated: {exc}", file=sys.stderr)
        return None


def _write_status(
    args: argparse.Namespace, patch: Callable[[dict[str, Any]], dict[str, Any]]
) -> None:
    from modelplane_operator.drift.resolve import write_status

    write_status(args.monitor, args.kubeconfig, patch)


def _write_history(uri: str, evaluation: DriftEvaluation, text: str) -> None:
    """The full result as `<uri>/<window end>.json` (a rerun of a window overwrites it)."""
    fs, base = filesystem_for(uri)
    path = f"{base}/{evaluation.window_end.astimezone(UTC):%Y%m%dT%H%M%SZ}.json"
    if isinstance(fs, pafs.LocalFileSystem):
        fs.create_dir(base, recursive=True)
    with fs.open_output_stream(path) as out:
        out.write(text.encode())


def _run(args: argparse.Namespace) -> tuple[DriftEvaluation, CandidateEvaluation | None]:
    """The stable's evaluation and, during a rollout, the candidate's (one reference profile)."""
    if not args.reference or not args.window:
        raise UsageError("--reference and --window are required (or --monitor ns/name)")
    config = _config(args)
    end = _time(args.end, "--end") if args.end else _last_full_hour()
    start = _time(args.start, "--start") if args.start else end - timedelta(hours=1)
    if end <= start:
        raise UsageError(f"--end {end.isoformat()} must be after --start {start.isoformat()}")
    profile = load_or_build_profile(
        args.reference, config, cache_uri=args.profile_cache, digest=args.reference_digest
    )
    stable = evaluate_window(profile, args.window, config, start, end)
    return stable, _candidate(args, profile, config, start, end)


def _candidate(
    args: argparse.Namespace,
    profile: ReferenceProfile,
    config: DriftConfig,
    start: datetime,
    end: datetime,
) -> CandidateEvaluation | None:
    """The candidate's window over the same bounds against the same profile, when one is given."""
    if not args.candidate_window:
        return None
    version = args.candidate_version or args.candidate_window.rstrip("/").rsplit("/", 1)[-1]
    return evaluate_candidate(profile, args.candidate_window, version, config, start, end)


def _config(args: argparse.Namespace) -> DriftConfig:
    raw = _json_arg(args.config, "--config") if args.config else {}
    if not isinstance(raw, dict):
        raise UsageError("--config must be a JSON object")
    if args.features:
        features = _json_arg(args.features, "--features")
        if isinstance(features, list):
            raw["features"] = features
        elif isinstance(features, dict):
            raw.update(features)
        else:
            raise UsageError("--features must be a JSON list of features or an object")
    config = DriftConfig.model_validate(raw)
    if not config.features and not config.outputs:
        config = config.model_copy(update=_infer_features(args.reference))
    elif args.infer_outputs and not config.outputs:
        inferred = _infer_features(args.reference)["outputs"]
        test = None if args.infer_outputs == "auto" else args.infer_outputs
        allowed = {"numerical": NUMERICAL_TESTS, "categorical": CATEGORICAL_TESTS}
        outputs = [
            o.model_copy(update={"test": test if test in allowed[o.kind] else None})
            for o in inferred
        ]
        config = config.model_copy(update={"outputs": outputs})
    if not config.features and not config.outputs:
        raise UsageError("no features given and none found in the reference")
    return config


def _infer_features(reference_uri: str) -> dict[str, list[FeatureSpec]]:
    """Features and outputs from the reference's `feature.` / `input.` / `output.` columns."""
    fs, path = filesystem_for(reference_uri)
    files = parquet_files(fs, path)
    if not files:
        raise UsageError(f"no Parquet files at reference {reference_uri!r}")
    with fs.open_input_file(files[0]) as handle:
        schema = pq.ParquetFile(handle).schema_arrow
    features: list[FeatureSpec] = []
    outputs: list[FeatureSpec] = []
    for field in schema:
        prefix, _, rest = field.name.partition(".")
        if prefix not in ("feature", "input", "output") or not rest:
            continue
        kind = "categorical" if str(field.type) in ("string", "large_string") else "numerical"
        name = rest if prefix != "input" else field.name
        spec = FeatureSpec(name=name, column=field.name, kind=kind)
        (outputs if prefix == "output" else features).append(spec)
    return {"features": features, "outputs": outputs}


def _json_arg(value: str, flag: str) -> object:
    text = Path(value[1:]).read_text() if value.startswith("@") else value
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{flag} is not valid JSON: {exc}") from exc


def _time(value: str, flag: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise UsageError(f"{flag} {value!r} is not an ISO 8601 time") from exc
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _last_full_hour() -> datetime:
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m modelplane_operator.drift",
        description="Evaluate one window of payload logs against a reference; print JSON.",
    )
    parser.add_argument("--monitor", help="namespace/name of a DriftMonitor to evaluate")
    parser.add_argument(
        "--kubeconfig",
        help="kubeconfig for --monitor (default: in-cluster, else the default kubeconfig)",
    )
    parser.add_argument(
        "--payload-bucket",
        help="with --monitor: the bucket of deployments without payloadLogging.uri (the"
        " operator's payload bucket, as its serving pods get it)",
    )
    parser.add_argument("--reference", help="reference Parquet file or prefix (s3:// or path)")
    parser.add_argument("--reference-digest", help="digest keying the cached reference profile")
    parser.add_argument("--profile-cache", help="s3:// or path prefix to cache profiles under")
    parser.add_argument(
        "--window", help="payload-log prefix: s3://bucket/<namespace>/<deployment>/<variant>"
    )
    _candidate_arguments(parser)
    parser.add_argument(
        "--features",
        help="JSON (or @file) list of features [{name, kind, column?, test?, threshold?, alpha?}]"
        " or an object {features, outputs}; default: inferred from the reference's columns",
    )
    parser.add_argument(
        "--infer-outputs",
        choices=["auto", "psi", "ks", "chi2", "jsd", "wasserstein"],
        help="also test the reference's output.* columns (prediction drift) with this test",
    )
    parser.add_argument("--config", help="JSON (or @file) DriftConfig: thresholds, correction, …")
    parser.add_argument("--start", help="window start, ISO 8601 (default: end - 1 h)")
    parser.add_argument("--end", help="window end, ISO 8601 (default: the last full hour)")
    parser.add_argument(
        "--write-status",
        action="store_true",
        help="with --monitor: write the result (or the failure) into the monitor's status",
    )
    parser.add_argument(
        "--alert-secrets",
        default=str(SECRETS_DIR),
        help="with --write-status: where the Secrets of the monitor's alert sinks are mounted"
        " (<dir>/<secret>/<key>)",
    )
    parser.add_argument(
        "--history", help="s3:// or path prefix to keep the full result under, per window end"
    )
    parser.add_argument(
        "--model-version", help="the ModelVersion evaluated, for the status (set by --monitor)"
    )
    parser.add_argument("--output", help="write the JSON report to this file instead of stdout")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    return parser


def _candidate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--candidate-window",
        help="payload-log prefix of the candidate during a rollout, evaluated over the same"
        " bounds against the same reference into status.candidateEvaluation (set by --monitor)",
    )
    parser.add_argument(
        "--candidate-version",
        help="the candidate ModelVersion, for the status (default: the window's last segment)",
    )
