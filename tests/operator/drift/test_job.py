"""The job end to end on local payload logs: partitions, time bounds, cache, CLI, monitor specs."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from modelplane_crds.drift_results import DriftEvaluation
from modelplane_operator.drift import main
from modelplane_operator.drift.candidate import evaluate_candidate
from modelplane_operator.drift.config import DriftConfig
from modelplane_operator.drift.job import load_or_build_profile
from modelplane_operator.drift.monitor import (
    arguments_from_specs,
    parse_duration,
    serving_candidate_version,
    serving_stable_version,
)
from modelplane_operator.drift.reader import filesystem_for, iter_batches, window_files
from tests.operator.drift.helpers import START, feature_table, write_payload_logs


def _columns(seed: int, n: int, loc: float = 0.0) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    return {
        "feature.amount": rng.lognormal(loc, 1.0, n),
        "feature.country": rng.choice(np.array(["de", "fr", "us"]), n),
        "output.probability.0": rng.uniform(0, 1, n),
    }


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    """Reference file plus three hours of payload logs; the third hour has drifted amounts."""
    fs = pafs.LocalFileSystem()
    pq.write_table(feature_table(_columns(0, 3000)), tmp_path / "reference.parquet")
    base = str(tmp_path / "logs/team-a/fraud/stable")
    for h in range(3):
        hour = START + timedelta(hours=h)
        table = feature_table(_columns(h + 1, 600, loc=2.0 if h == 2 else 0.0), start=hour)
        write_payload_logs(fs, base, table, hour)
    return tmp_path


def _cli(logs: Path, *extra: str) -> list[str]:
    return [
        "--reference",
        str(logs / "reference.parquet"),
        "--window",
        str(logs / "logs/team-a/fraud/stable"),
        *extra,
    ]


def test_only_the_hour_partitions_overlapping_the_window_are_listed(logs: Path) -> None:
    fs, base = filesystem_for(str(logs / "logs/team-a/fraud/stable"))
    files = window_files(fs, base, START + timedelta(minutes=30), START + timedelta(hours=1))
    assert len(files) == 2
    assert all("hour=10" in f for f in files)
    with pytest.raises(ValueError, match="is not after start"):
        window_files(fs, base, START, START)


def test_rows_outside_the_window_are_trimmed_by_timestamp_and_only_wanted_columns_read(
    logs: Path,
) -> None:
    fs, base = filesystem_for(str(logs / "logs/team-a/fraud/stable"))
    start, end = START + timedelta(minutes=30), START + timedelta(minutes=90)
    batches = list(
        iter_batches(
            fs, window_files(fs, base, start, end), ["feature.amount"], start, end, batch_rows=100
        )
    )
    ts = np.concatenate([b.column("ts").to_numpy() for b in batches])
    assert ts.size == 600  # half of each of two hours
    assert ts.min() >= np.datetime64(start.replace(tzinfo=None))
    assert ts.max() < np.datetime64(end.replace(tzinfo=None))
    assert {tuple(b.schema.names) for b in batches} == {("feature.amount", "ts")}
    assert max(b.num_rows for b in batches) <= 100


def test_the_cli_prints_a_report_that_parses_as_the_shared_results_type(
    logs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(_cli(logs, "--start", "2026-11-20T10:00:00Z", "--end", "2026-11-20T12:00:00Z"))
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    evaluation = DriftEvaluation.model_validate(report)
    assert evaluation.samples == 1200
    assert [r.feature for r in evaluation.features] == ["amount", "country"]
    assert [r.feature for r in evaluation.prediction_drift] == ["probability.0"]
    assert not any(r.drifted for r in evaluation.features)
    assert "windowStart" in report
    assert "predictionDrift" in report


def test_a_drifted_hour_is_reported_as_drift(
    logs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    features = json.dumps([{"name": "amount"}, {"name": "country", "kind": "categorical"}])
    code = main(
        _cli(
            logs,
            "--features",
            features,
            "--start",
            "2026-11-20T12:00:00Z",
            "--end",
            "2026-11-20T13:00:00Z",
        )
    )
    assert code == 0
    evaluation = DriftEvaluation.model_validate_json(capsys.readouterr().out)
    by_name = {r.feature: r for r in evaluation.features}
    assert by_name["amount"].drifted
    assert not by_name["country"].drifted
    assert evaluation.prediction_drift == []


def test_prediction_drift_outputs_can_be_inferred_from_the_reference_next_to_given_features(
    logs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    features = json.dumps([{"name": "amount"}])
    window = ["--start", "2026-11-20T10:00:00Z", "--end", "2026-11-20T11:00:00Z"]
    assert main(_cli(logs, "--features", features, "--infer-outputs", "jsd", *window)) == 0
    evaluation = DriftEvaluation.model_validate_json(capsys.readouterr().out)
    assert [r.feature for r in evaluation.features] == ["amount"]
    assert [(r.feature, r.test) for r in evaluation.prediction_drift] == [("probability.0", "jsd")]


def test_the_reference_profile_is_cached_and_reused(
    logs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = logs / "cache"
    args = _cli(
        logs,
        "--profile-cache",
        str(cache),
        "--reference-digest",
        "sha256:abc",
        "--start",
        "2026-11-20T10:00:00Z",
        "--end",
        "2026-11-20T11:00:00Z",
    )
    assert main(args) == 0
    first = capsys.readouterr().out
    cached = list(cache.glob("sha256-abc-*.npz"))
    assert len(cached) == 1
    (logs / "reference.parquet").unlink()  # a cache hit must not need the reference data…
    pq.write_table(feature_table(_columns(0, 10)), logs / "reference.parquet")  # …only its listing
    assert main(args) == 0
    assert capsys.readouterr().out == first


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--features", "{not json"], "--features is not valid JSON"),
        (["--start", "2026-11-20T12:00:00Z", "--end", "2026-11-20T11:00:00Z"], "must be after"),
        (["--start", "yesterday"], "not an ISO 8601 time"),
        (
            ["--features", '[{"name": "country", "kind": "categorical", "test": "ks"}]'],
            "does not apply to categorical",
        ),
        (["--config", '{"correction": "holm"}'], "correction"),
    ],
)
def test_bad_input_exits_2_with_a_one_line_message(
    logs: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    assert main(_cli(logs, *extra)) == 2
    assert message in capsys.readouterr().err


def test_a_missing_reference_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "--reference",
            str(tmp_path / "none"),
            "--window",
            str(tmp_path),
            "--features",
            '[{"name": "x"}]',
        ]
    )
    assert code == 2
    assert "no Parquet files at reference" in capsys.readouterr().err


def test_an_empty_window_reports_insufficient_data(
    logs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_cli(logs, "--start", "2026-11-21T10:00:00Z", "--end", "2026-11-21T11:00:00Z")) == 0
    evaluation = DriftEvaluation.model_validate_json(capsys.readouterr().out)
    assert evaluation.insufficient_data
    assert evaluation.samples == 0


def test_monitor_specs_translate_into_job_arguments() -> None:
    now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    arguments = arguments_from_specs(
        "team-a",
        "fraud",
        {
            "deploymentRef": {"name": "fraud"},
            "window": {"size": "30m"},
            "minSamples": 50,
            "correction": "bonferroni",
            "predictionDrift": {"enabled": True, "test": "jsd"},
            "features": {
                "defaultTest": "ks",
                "alpha": 0.01,
                "thresholds": {"psi": 0.25},
                "overrides": [{"name": "amount", "test": "psi", "threshold": 0.3}],
            },
        },
        {"payloadLogging": {"uri": "s3://logs/ignored/prefix"}},
        {
            "features": [
                {"name": "amount", "type": "numerical", "input": "x", "index": 0},
                {"name": "country", "type": "categorical", "input": "x", "index": 1},
            ],
            "referenceDataset": {"uri": "s3://data/ref.parquet", "sha256": "ab" * 32},
        },
        now,
        version_name="fraud-3",
    )
    assert arguments["window"] == "s3://logs/team-a/fraud/fraud-3"
    assert arguments["reference"] == "s3://data/ref.parquet"
    assert arguments["reference_digest"] == "sha256:" + "ab" * 32
    assert arguments["start"] == "2026-11-20T11:30:00+00:00"
    assert arguments["infer_outputs"] == "jsd"
    assert json.loads(arguments["features"]) == [
        {"name": "amount", "kind": "numerical", "test": "psi", "threshold": 0.3},
        {"name": "country", "kind": "categorical"},  # defaultTest ks does not fit: auto
    ]
    config = json.loads(arguments["config"])
    assert config == {
        "minSamples": 50,
        "alpha": 0.01,
        "correction": "bonferroni",
        "datasetDriftShare": 0.5,
        "psiThreshold": 0.25,
    }
    with pytest.raises(ValueError, match=r"no payloadLogging\.uri and the operator no payload"):
        arguments_from_specs("team-a", "fraud", {}, {}, {}, now, version_name="fraud-3")
    defaulted = arguments_from_specs(
        "team-a",
        "fraud",
        {},
        {},
        {"referenceDataset": {"uri": "s3://d/r.parquet"}},
        now,
        version_name="fraud-3",
        default_bucket="org-logs",
    )
    assert defaulted["window"] == "s3://org-logs/team-a/fraud/fraud-3"


def test_during_a_rollout_the_candidate_is_a_second_window_over_the_same_bounds() -> None:
    now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    version = {"referenceDataset": {"uri": "s3://d/r.parquet"}}
    deployment = {"payloadLogging": {"uri": "s3://logs"}}
    arguments = arguments_from_specs(
        "team-a",
        "fraud",
        {},
        deployment,
        version,
        now,
        version_name="fraud-2",
        candidate_name="fraud-3",
    )
    assert arguments["window"] == "s3://logs/team-a/fraud/fraud-2"
    assert arguments["candidate_window"] == "s3://logs/team-a/fraud/fraud-3"
    assert arguments["candidate_version"] == "fraud-3"
    assert arguments["reference"] == "s3://d/r.parquet"  # the stable's, for both
    alone = arguments_from_specs(
        "team-a", "fraud", {}, deployment, version, now, version_name="fraud-2"
    )
    assert "candidate_window" not in alone
    assert {k: v for k, v in arguments.items() if not k.startswith("candidate_")} == alone


@pytest.mark.parametrize(
    ("status", "stable", "candidate"),
    [
        ({}, "fraud-1", None),  # before the operator's first pass: the spec's stable
        ({"stableVersion": "fraud-2"}, "fraud-2", None),
        ({"stableVersion": "fraud-2", "candidateVersion": "fraud-3"}, "fraud-2", "fraud-3"),
        ({"stableVersion": "fraud-3", "candidateVersion": "fraud-3"}, "fraud-3", None),
    ],
)
def test_the_serving_versions_come_from_the_deployments_status(
    status: dict[str, str], stable: str, candidate: str | None
) -> None:
    deployment = {
        "spec": {
            "stable": {"modelVersionRef": {"name": "fraud-1"}},
            "candidate": {"modelVersionRef": {"name": "fraud-9"}},  # not serving until started
        },
        "status": status,
    }
    assert serving_stable_version(deployment) == stable
    assert serving_candidate_version(deployment) == candidate


def test_the_candidate_is_evaluated_against_the_same_profile_and_never_fails_the_run(
    logs: Path,
) -> None:
    config = DriftConfig.model_validate({"features": [{"name": "amount"}], "minSamples": 100})
    profile = load_or_build_profile(str(logs / "reference.parquet"), config)
    drifted_hour = (START + timedelta(hours=2), START + timedelta(hours=3))
    window = str(logs / "logs/team-a/fraud/stable")
    shifted = evaluate_candidate(profile, window, "fraud-3", config, *drifted_hour)
    assert shifted.evaluation is not None
    assert shifted.evaluation.dataset is not None
    assert shifted.evaluation.dataset.drifted
    silent = evaluate_candidate(profile, str(logs / "none"), "fraud-3", config, *drifted_hour)
    assert silent.evaluation is not None
    assert silent.evaluation.insufficient_data
    assert silent.message is None
    bad = logs / "bad/date=2026-11-20/hour=12"
    bad.mkdir(parents=True)
    pq.write_table(pa.table({"ts": ["noon"], "feature.amount": [1.0]}), bad / "p.parquet")
    unread = evaluate_candidate(profile, str(logs / "bad"), "fraud-3", config, *drifted_hour)
    assert unread.evaluation is None
    assert unread.message is not None
    assert "must be a timestamp" in unread.message


def test_a_candidate_window_leaves_the_printed_report_the_stables(
    logs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    window = ["--start", "2026-11-20T10:00:00Z", "--end", "2026-11-20T11:00:00Z"]
    assert main(_cli(logs, *window, "--candidate-window", str(logs / "none"))) == 0
    evaluation = DriftEvaluation.model_validate_json(capsys.readouterr().out)
    assert evaluation.samples == 600


def test_durations_parse_like_the_crd_pattern() -> None:
    assert parse_duration("1h30m") == timedelta(minutes=90)
    assert parse_duration("45s") == timedelta(seconds=45)
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration("1 hour")


@pytest.mark.parametrize(
    ("kind", "size", "now", "end"),
    [
        ("sliding", "1h", "2026-11-20T12:07:30", "2026-11-20T12:07:30"),
        ("tumbling", "1h", "2026-11-20T12:07:30", "2026-11-20T12:00:00"),
        ("tumbling", "1h", "2026-11-20T12:00:00", "2026-11-20T12:00:00"),
        ("tumbling", "15m", "2026-11-20T12:44:59", "2026-11-20T12:30:00"),
        ("tumbling", "24h", "2026-11-20T12:07:30", "2026-11-20T00:00:00"),
    ],
)
def test_a_tumbling_window_is_the_last_complete_aligned_one_and_a_sliding_one_ends_now(
    kind: str, size: str, now: str, end: str
) -> None:
    moment = datetime.fromisoformat(now).replace(tzinfo=UTC)
    monitor = {"window": {"type": kind, "size": size}}
    arguments = arguments_from_specs(
        "team-a", "fraud", monitor, {}, {"referenceDataset": {"uri": "s3://d/r.parquet"}},
        moment, version_name="fraud-3", default_bucket="logs",
    )  # fmt: skip
    expected = datetime.fromisoformat(end).replace(tzinfo=UTC)
    assert datetime.fromisoformat(arguments["end"]) == expected
    assert expected - datetime.fromisoformat(arguments["start"]) == parse_duration(size)
