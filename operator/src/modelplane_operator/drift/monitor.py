"""Translate a DriftMonitor, its ModelDeployment and the stable ModelVersion into the job's
explicit arguments, and an evaluation into the status the job writes.

Pure: the specs come from `drift.resolve` (which reads them through the operator's `cluster`
gateway for `--monitor <namespace>/<name>`), and the result is the same arguments the
cluster-free mode takes (reference, window prefix, features, config, window bounds). During a
rollout the candidate's payload logs are a second window over the same bounds, evaluated against
the stable's reference with the stable's features: "drift of the candidate's traffic relative to
what stable was trained on". Only the stable's evaluation drives conditions and alerts.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from modelplane_crds.drift_monitor import (
    DATA_UNAVAILABLE,
    EVALUATION_FAILED,
    RECENT_EVALUATIONS,
    CandidateEvaluation,
    EvaluationFailure,
    EvaluationRole,
    EvaluationSummary,
)
from modelplane_crds.drift_results import DriftEvaluation
from modelplane_crds.payload_logs import bucket_of, version_prefix
from modelplane_operator.drift.config import CATEGORICAL_TESTS, NUMERICAL_TESTS

_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> timedelta:
    """`1h`, `30m`, `1h30m`, `90s` → timedelta."""
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"invalid duration {text!r} (use forms like 1h, 30m, 1h30m)")
    return timedelta(seconds=sum(float(n) * _UNIT_SECONDS[u] for n, u in parts))


def window_end(now: datetime, size: timedelta, kind: str) -> datetime:
    """Where a run's window ends. `sliding`: at the run (the last `size` before it).
    `tumbling`: at the end of the last complete window of `size` aligned to the Unix epoch in UTC
    (1h windows are whole hours, 15m windows quarter hours), so consecutive windows never
    overlap; a schedule running more often than `size` re-evaluates the same window, and the
    rerun replaces its result."""
    now = now.astimezone(UTC)
    if kind == "sliding":
        return now
    step = size.total_seconds()
    return datetime.fromtimestamp(now.timestamp() // step * step, UTC)


def arguments_from_specs(
    namespace: str,
    deployment_name: str,
    monitor: dict[str, Any],
    deployment: dict[str, Any],
    version: dict[str, Any],
    now: datetime,
    *,
    version_name: str,
    default_bucket: str | None = None,
    monitor_name: str | None = None,
    candidate_name: str | None = None,
) -> dict[str, str]:
    """Pure translation of the three specs into job arguments (tested without a cluster).

    `version` is the spec of the ModelVersion named `version_name`, whose payload logs form the
    window (the layout of `modelplane_crds.payload_logs`) and whose reference dataset is the
    baseline unless the monitor names one. `candidate_name`, during a rollout, adds the
    candidate's payload logs as a second window. The bucket is the deployment's
    `payloadLogging.uri`, else `default_bucket` (the operator's, as the pods get it).
    """
    root = f"s3://{payload_bucket(deployment, deployment_name, default_bucket)}"
    ref_uri, ref_digest = _reference(monitor, version)
    tests = monitor.get("features") or {}
    window = monitor.get("window") or {}
    size = parse_duration(window.get("size", "1h"))
    end = window_end(now, size, window.get("type", "tumbling"))
    arguments = {
        "reference": ref_uri,
        "window": _window(root, namespace, deployment_name, version_name),
        "config": json.dumps(_config(monitor, tests)),
        "profile_cache": f"{root}/{profiles_prefix(namespace, monitor_name)}".rstrip("/"),
        "model_version": version_name,
        "start": (end - size).isoformat(),
        "end": end.isoformat(),
    }
    if candidate_name:
        arguments["candidate_window"] = _window(root, namespace, deployment_name, candidate_name)
        arguments["candidate_version"] = candidate_name
    if monitor_name:
        arguments["history"] = f"{root}/{history_prefix(namespace, monitor_name)}".rstrip("/")
    features = _feature_specs(version, tests)
    if features:
        arguments["features"] = json.dumps(features)
    prediction = monitor.get("predictionDrift") or {}
    if prediction and prediction.get("enabled", True):
        arguments["infer_outputs"] = prediction.get("test", "auto")
    if ref_digest:
        arguments["reference_digest"] = f"sha256:{ref_digest}"
    return arguments


def history_prefix(namespace: str, monitor_name: str) -> str:
    """`<namespace>/drift-history/<monitor>/`: the full result of each window (the job writes)."""
    return f"{namespace}/drift-history/{monitor_name}/"


def profiles_prefix(namespace: str, monitor_name: str | None) -> str:
    """`<namespace>/drift-profiles/<monitor>/`: the monitor's cached reference profiles (its own,
    so the job's credentials need write access to no other monitor's files); without a
    monitor (a run by hand) `<namespace>/drift-profiles/`."""
    return f"{namespace}/drift-profiles/{monitor_name + '/' if monitor_name else ''}"


def reference_uri(monitor: dict[str, Any], version: dict[str, Any]) -> str | None:
    """The reference dataset the job reads: the monitor's own, else the stable version's; None
    without one."""
    try:
        return _reference(monitor, version)[0]
    except ValueError:
        return None


def payload_bucket(
    deployment: dict[str, Any], deployment_name: str, default_bucket: str | None
) -> str:
    """The bucket the deployment's pods log to: its `payloadLogging.uri`'s, else the operator's."""
    uri = (deployment.get("payloadLogging") or {}).get("uri")
    bucket = bucket_of(uri) if uri else default_bucket
    if not bucket:
        raise ValueError(
            f"deployment {deployment_name!r} has no payloadLogging.uri and the operator no"
            " payload bucket; drift needs payload logs"
        )
    return bucket


def _window(root: str, namespace: str, deployment_name: str, version_name: str) -> str:
    """The payload-log prefix of one served version."""
    return f"{root}/{version_prefix(namespace, deployment_name, version_name)}".rstrip("/")


def serving_stable_version(deployment: dict[str, Any]) -> str:
    """The ModelVersion serving as stable: the status's (what the pods run), else the spec's
    (before the operator's first pass)."""
    served = (deployment.get("status") or {}).get("stableVersion")
    return str(served or deployment["spec"]["stable"]["modelVersionRef"]["name"])


def serving_candidate_version(deployment: dict[str, Any]) -> str | None:
    """The ModelVersion being rolled out, as the deployment's status names it (the spec's
    candidate serves no traffic before the operator starts the rollout); None without one."""
    status = deployment.get("status") or {}
    candidate = status.get("candidateVersion")
    if not candidate or candidate == serving_stable_version(deployment):
        return None
    return str(candidate)


def _reference(monitor: dict[str, Any], version: dict[str, Any]) -> tuple[str, str | None]:
    """The reference dataset's URI and digest: the monitor's own, else the version's."""
    reference = monitor.get("reference") or {"fromStableVersion": True}
    if reference.get("uri"):
        return reference["uri"], reference.get("sha256")
    dataset = version.get("referenceDataset")
    if not dataset:
        raise ValueError("the stable ModelVersion has no referenceDataset")
    return dataset["uri"], dataset.get("sha256")


def _config(monitor: dict[str, Any], tests: dict[str, Any]) -> dict[str, Any]:
    """The engine's configuration (a `DriftConfig` as JSON) from the monitor's spec."""
    thresholds = tests.get("thresholds") or {}
    config: dict[str, Any] = {
        "minSamples": monitor.get("minSamples", 500),
        "alpha": tests.get("alpha", 0.05),
        "correction": monitor.get("correction", "bh-fdr"),
        "datasetDriftShare": (monitor.get("datasetDrift") or {}).get("driftShare", 0.5),
    }
    for test in ("psi", "jsd", "wasserstein"):
        if test in thresholds:
            config[f"{test}Threshold"] = thresholds[test]
    return config


def _feature_specs(version: dict[str, Any], tests: dict[str, Any]) -> list[dict[str, Any]]:
    """The ModelVersion's features with the monitor's default test and per-feature overrides."""
    overrides = {o["name"]: o for o in tests.get("overrides", [])}
    default_test = tests.get("defaultTest", "auto")
    features = []
    for feature in version.get("features", []):
        override = overrides.get(feature["name"], {})
        test = override.get("test", default_test)
        spec: dict[str, Any] = {"name": feature["name"], "kind": feature["type"]}
        fits = NUMERICAL_TESTS if feature["type"] == "numerical" else CATEGORICAL_TESTS
        # An explicit override must fit the feature (the job reports it if not); the monitor's
        # default test applies only where it fits, the automatic choice elsewhere.
        if test != "auto" and ("test" in override or test in fits):
            spec["test"] = test
        for key in ("threshold", "alpha"):
            if override.get(key) is not None:
                spec[key] = override[key]
        features.append(spec)
    return features


def evaluated_status(
    previous: dict[str, Any] | None,
    evaluation: DriftEvaluation,
    version: str,
    started: datetime,
    candidate: CandidateEvaluation | None = None,
) -> dict[str, Any]:
    """The status patch the job writes after an evaluation: the full result, a line for it (and
    for the candidate's, during a rollout) first in `recentEvaluations` (bounded per role; a
    rerun of the same window replaces its line), the candidate's result or none, and no
    failure."""
    lines = [_summary(evaluation, version, "stable")]
    if candidate is not None and candidate.evaluation is not None:
        lines.append(_summary(candidate.evaluation, candidate.model_version, "candidate"))
    recent = _recent(previous, lines)
    return {
        "lastEvaluation": evaluation.model_dump(mode="json", by_alias=True, exclude_none=True),
        "lastScheduleTime": _stamp(started),
        "evaluatedVersion": version,
        "candidateEvaluation": (
            candidate.model_dump(mode="json", by_alias=True, exclude_none=True)
            if candidate is not None
            else None
        ),
        "recentEvaluations": [
            r.model_dump(mode="json", by_alias=True, exclude_none=True) for r in recent
        ],
        "lastFailure": None,
    }


def _summary(evaluation: DriftEvaluation, version: str, role: EvaluationRole) -> EvaluationSummary:
    return EvaluationSummary(
        window_end=evaluation.window_end,
        model_version=version,
        role=role,
        samples=evaluation.samples,
        share=evaluation.dataset.share if evaluation.dataset else None,
        drifted=bool(evaluation.dataset and evaluation.dataset.drifted),
        insufficient_data=evaluation.insufficient_data,
    )


def _recent(
    previous: dict[str, Any] | None, lines: list[EvaluationSummary]
) -> list[EvaluationSummary]:
    """New lines first, then the older ones not replaced by them; RECENT_EVALUATIONS per role."""
    replaced = {(line.window_end, line.role) for line in lines}
    merged = list(lines)
    for raw in (previous or {}).get("recentEvaluations") or []:
        try:
            line = EvaluationSummary.model_validate(raw)
        except ValueError:
            continue
        if (line.window_end, line.role) not in replaced:
            merged.append(line)
    kept: dict[str, int] = {}
    recent = []
    for line in merged:
        kept[line.role] = kept.get(line.role, 0) + 1
        if kept[line.role] <= RECENT_EVALUATIONS:
            recent.append(line)
    return recent


def failed_status(message: str, *, bad_input: bool, started: datetime) -> dict[str, Any]:
    """The status patch the job writes when it cannot evaluate (the last results stay)."""
    failure = EvaluationFailure(
        time=started,
        reason=EVALUATION_FAILED if bad_input else DATA_UNAVAILABLE,
        message=message[:1024],
    )
    return {
        "lastScheduleTime": _stamp(started),
        "lastFailure": failure.model_dump(mode="json", by_alias=True),
    }


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
