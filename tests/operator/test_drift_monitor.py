"""DriftMonitor children, conditions and the job's status patches, as plain functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from modelplane_crds.conditions import Condition
from modelplane_crds.drift_monitor import (
    ALERT_SECRETS_DIR,
    RECENT_EVALUATIONS,
    CandidateEvaluation,
    DriftMonitorSpec,
    DriftMonitorStatus,
)
from modelplane_crds.drift_results import DriftEvaluation
from modelplane_crds.quality import QualityEvaluation
from modelplane_operator.builders import drift_monitor as builders
from modelplane_operator.drift.alerting import previously_drifted
from modelplane_operator.drift.monitor import evaluated_status, failed_status
from modelplane_operator.handlers.converged import conditions_of
from modelplane_operator.handlers.drift_monitor import converge_drift_monitor, result_patch
from modelplane_operator.metrics import Metrics
from tests.operator.factories import quality_evaluation
from tests.operator.fakes import FakeCluster

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)
OWNER: dict[str, Any] = {
    "apiVersion": "modelplane.io/v1alpha1",
    "kind": "DriftMonitor",
    "metadata": {"name": "fraud-inputs", "namespace": "mp-acme", "uid": "u-1", "generation": 2},
    "spec": {"deploymentRef": {"name": "fraud"}, "schedule": "*/5 * * * *"},
}
REF: dict[str, Any] = {
    "apiVersion": "modelplane.io/v1alpha1",
    "kind": "DriftMonitor",
    "name": "fraud-inputs",
    "uid": "u-1",
    "controller": True,
    "blockOwnerDeletion": False,
}
CONFIG = builders.JobConfig(
    image="ghcr.io/modelplane/operator:t", payload_bucket="logs", s3_endpoint_url="http://s3:9000"
)


def spec(**overrides: Any) -> DriftMonitorSpec:
    return DriftMonitorSpec.model_validate({**OWNER["spec"], **overrides})


def evaluation(share: float | None, drifted: list[str], samples: int = 800) -> DriftEvaluation:
    features = [
        {
            "feature": f,
            "test": "psi",
            "statistic": 0.5 if f in drifted else 0.01,
            "threshold": 0.2,
            "drifted": f in drifted,
            "samples": samples,
        }
        for f in ("amount", "country")
    ]
    body: dict[str, Any] = {
        "windowStart": NOW - timedelta(hours=1),
        "windowEnd": NOW,
        "samples": samples,
        "features": features if share is not None else [],
        "insufficientData": share is None,
    }
    if share is not None:
        body["dataset"] = {"share": share, "threshold": 0.5, "drifted": share >= 0.5}
    return DriftEvaluation.model_validate(body)


def test_the_cron_job_runs_one_evaluation_at_a_time_on_the_schedule_as_its_own_account() -> None:
    job = builders.build_cron_job(OWNER, REF, spec(), CONFIG, suspend=False)
    assert job["metadata"]["name"] == "drift-fraud-inputs"
    assert job["metadata"]["ownerReferences"] == [REF]
    cron = job["spec"]
    assert (cron["schedule"], cron["timeZone"], cron["suspend"]) == (
        "*/5 * * * *",
        "Etc/UTC",
        False,
    )
    assert cron["concurrencyPolicy"] == "Forbid"
    assert cron["successfulJobsHistoryLimit"] == cron["failedJobsHistoryLimit"] == 3
    assert cron["startingDeadlineSeconds"] > 0
    assert cron["jobTemplate"]["spec"]["activeDeadlineSeconds"] > 0
    pod = cron["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "drift-fraud-inputs"
    assert pod["restartPolicy"] == "Never"
    (container,) = pod["containers"]
    assert container["image"] == CONFIG.image
    assert container["command"] == ["python", "-m", "modelplane_operator.drift"]
    assert container["args"] == [
        "--monitor",
        "mp-acme/fraud-inputs",
        "--write-status",
        "--payload-bucket",
        "logs",
    ]
    env = {e["name"]: e for e in container["env"]}
    assert env["AWS_ENDPOINT_URL"]["value"] == "http://s3:9000"
    assert env["AWS_ACCESS_KEY_ID"]["valueFrom"]["secretKeyRef"]["name"] == "modelplane-s3"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert builders.build_cron_job(OWNER, REF, spec(suspend=True), CONFIG, suspend=True)["spec"][
        "suspend"
    ]


def test_the_role_reads_only_its_monitor_and_deployment_and_patches_only_its_own_status() -> None:
    role = builders.build_role(OWNER, REF, spec())
    rules = {r["resources"][0]: (r["verbs"], r.get("resourceNames")) for r in role["rules"]}
    assert rules == {
        "driftmonitors": (["get"], ["fraud-inputs"]),
        "driftmonitors/status": (["get", "patch"], ["fraud-inputs"]),
        "modeldeployments": (["get"], ["fraud"]),
        "modelversions": (["get"], None),
    }
    binding = builders.build_role_binding(OWNER, REF)
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "drift-fraud-inputs", "namespace": "mp-acme"}
    ]


def test_child_names_fit_a_cron_job_whatever_the_monitor_is_called() -> None:
    long_a, long_b = "m" * 200 + "a", "m" * 200 + "b"
    assert len(builders.child_name(long_a)) <= 52
    assert builders.child_name(long_a) != builders.child_name(long_b)


@pytest.mark.parametrize(
    ("result", "drift", "insufficient"),
    [
        (None, None, None),
        (evaluation(None, [], samples=12), None, ("True", "TooFewSamples")),
        (evaluation(0.0, []), ("False", "NoDrift"), ("False", "EnoughSamples")),
        (evaluation(0.5, ["amount"]), ("True", "DatasetDrift"), ("False", "EnoughSamples")),
        (evaluation(0.25, ["amount"]), ("True", "FeatureDrift"), ("False", "EnoughSamples")),
    ],
    ids=["none-yet", "too-few", "calm", "dataset", "one-feature"],
)
def test_conditions_follow_the_last_evaluation(
    result: DriftEvaluation | None,
    drift: tuple[str, str] | None,
    insufficient: tuple[str, str] | None,
) -> None:
    previous = [
        Condition(
            type="DriftDetected",
            status="True",
            reason="DatasetDrift",
            message="x",
            observed_generation=1,
            last_transition_time=NOW - timedelta(days=1),
        )
    ]
    found = {
        c.type: (c.status, c.reason) for c in builders.result_conditions(previous, result, 2, NOW)
    }
    assert found.get("DriftDetected") == drift
    assert found.get("InsufficientData") == insufficient


def test_the_job_keeps_a_bounded_newest_first_history_and_a_rerun_replaces_its_line() -> None:
    status: dict[str, Any] = {}
    for hours in range(RECENT_EVALUATIONS + 3):
        result = evaluation(0.0, []).model_copy(update={"window_end": NOW + timedelta(hours=hours)})
        status |= evaluated_status(status, result, "fraud-2", NOW)
    lines = status["recentEvaluations"]
    assert len(lines) == RECENT_EVALUATIONS
    assert lines[0]["windowEnd"] == "2026-12-08T00:00:00Z"
    rerun = evaluation(0.5, ["amount", "country"]).model_copy(
        update={"window_end": NOW + timedelta(hours=RECENT_EVALUATIONS + 2)}
    )
    status |= evaluated_status(status, rerun, "fraud-3", NOW)
    assert len(status["recentEvaluations"]) == RECENT_EVALUATIONS
    assert status["recentEvaluations"][0] == {
        "windowEnd": "2026-12-08T00:00:00Z",
        "modelVersion": "fraud-3",
        "role": "stable",
        "samples": 800,
        "share": 0.5,
        "drifted": True,
        "insufficientData": False,
    }
    assert status["recentEvaluations"][1]["windowEnd"] == "2026-12-07T23:00:00Z"
    assert status["evaluatedVersion"] == "fraud-3"
    assert status["lastFailure"] is None
    failed = failed_status("no Parquet files at reference", bad_input=True, started=NOW)
    assert failed["lastFailure"]["reason"] == "EvaluationFailed"
    assert "lastEvaluation" not in failed  # the last results stay


def test_a_candidate_is_reported_beside_the_stable_and_cleared_once_the_rollout_is_over() -> None:
    candidate = CandidateEvaluation(
        model_version="fraud-3", evaluation=evaluation(1.0, ["amount", "country"])
    )
    status: dict[str, Any] = {}
    status |= evaluated_status(status, evaluation(0.0, []), "fraud-2", NOW, candidate)
    assert status["lastEvaluation"]["dataset"]["drifted"] is False  # what conditions follow
    assert status["evaluatedVersion"] == "fraud-2"
    assert status["candidateEvaluation"]["modelVersion"] == "fraud-3"
    assert status["candidateEvaluation"]["evaluation"]["dataset"]["drifted"] is True
    lines = [(r["role"], r["modelVersion"], r["drifted"]) for r in status["recentEvaluations"]]
    assert lines == [("stable", "fraud-2", False), ("candidate", "fraud-3", True)]
    DriftMonitorStatus.model_validate(status)  # the shape the CRD accepts
    assert previously_drifted(status, NOW + timedelta(hours=1)) is False  # candidates never alert

    later = evaluation(0.0, []).model_copy(update={"window_end": NOW + timedelta(hours=1)})
    status |= evaluated_status(status, later, "fraud-2", NOW)
    assert status["candidateEvaluation"] is None  # a merge patch's null: the field goes
    assert [r["role"] for r in status["recentEvaluations"]] == ["stable", "stable", "candidate"]


def test_a_candidate_without_data_is_reported_without_a_history_line() -> None:
    unread = CandidateEvaluation(model_version="fraud-3", message="cannot read: denied")
    status = evaluated_status({}, evaluation(0.0, []), "fraud-2", NOW, unread)
    assert status["candidateEvaluation"] == {
        "modelVersion": "fraud-3",
        "message": "cannot read: denied",
    }
    assert [r["role"] for r in status["recentEvaluations"]] == ["stable"]
    quiet = CandidateEvaluation(model_version="fraud-3", evaluation=evaluation(None, [], 12))
    status = evaluated_status({}, evaluation(0.0, []), "fraud-2", NOW, quiet)
    assert status["recentEvaluations"][1]["insufficientData"] is True
    assert status["lastFailure"] is None  # too little candidate traffic fails nothing


def test_the_history_keeps_its_bound_per_role_so_a_rollout_does_not_push_out_the_stable() -> None:
    status: dict[str, Any] = {}
    for hours in range(RECENT_EVALUATIONS + 2):
        end = NOW + timedelta(hours=hours)
        result = evaluation(0.0, []).model_copy(update={"window_end": end})
        candidate = CandidateEvaluation(model_version="fraud-3", evaluation=result)
        status |= evaluated_status(status, result, "fraud-2", NOW, candidate)
    roles = [r["role"] for r in status["recentEvaluations"]]
    assert roles.count("stable") == roles.count("candidate") == RECENT_EVALUATIONS
    assert status["recentEvaluations"][0]["windowEnd"] == "2026-12-07T23:00:00Z"
    DriftMonitorStatus.model_validate(status)


def _deployment(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "modelplane.io/v1alpha1",
        "kind": "ModelDeployment",
        "metadata": {"name": "fraud", "namespace": "mp-acme", "uid": "d-1"},
        "spec": {"stable": {"modelVersionRef": {"name": "fraud-1"}}, **spec},
    }


def _cron(cluster: FakeCluster) -> dict[str, Any]:
    return cluster.objects[("CronJob", "mp-acme", "drift-fraud-inputs")]


def test_a_missing_or_silent_deployment_stalls_the_monitor_and_suspends_its_job() -> None:
    cluster = FakeCluster("get", "apply")
    converged = converge_drift_monitor(cluster, OWNER, CONFIG, 0, NOW)
    found = {c.type: c for c in conditions_of(converged.status)}
    assert (found["Stalled"].status, found["Stalled"].reason) == ("True", "DeploymentNotFound")
    assert found["Ready"].status == "False"
    assert converged.error is None  # the timer looks again; the deployment may appear
    assert _cron(cluster)["spec"]["suspend"] is True

    cluster.objects[("ModelDeployment", "mp-acme", "fraud")] = _deployment()
    converged = converge_drift_monitor(cluster, OWNER, CONFIG, 0, NOW)
    found = {c.type: c for c in conditions_of(converged.status)}
    assert found["Stalled"].reason == "PayloadLoggingOff"

    cluster.objects[("ModelDeployment", "mp-acme", "fraud")] = _deployment(
        payloadLogging={"sampleRate": 0.5}
    )
    converged = converge_drift_monitor(cluster, OWNER, CONFIG, 0, NOW)
    found = {c.type: c for c in conditions_of(converged.status)}
    assert (found["Ready"].status, found["Ready"].reason) == ("True", "Scheduled")
    assert "Stalled" not in found
    assert _cron(cluster)["spec"]["suspend"] is False
    kinds = sorted(kind for kind, _, _ in cluster.objects)
    assert kinds == ["CronJob", "ModelDeployment", "Role", "RoleBinding", "ServiceAccount"]


def test_an_evaluation_written_by_the_job_becomes_conditions_once() -> None:
    body = {
        **OWNER,
        "status": {
            "lastEvaluation": evaluation(0.5, ["amount"]).model_dump(
                mode="json", by_alias=True, exclude_none=True
            )
        },
    }
    patch = result_patch(body, NOW)
    assert patch is not None
    found = {c.type: c.status for c in conditions_of(patch)}
    assert found == {"InsufficientData": "False", "DriftDetected": "True"}
    settled = {**body, "status": {**body["status"], **patch}}
    assert result_patch(settled, NOW + timedelta(minutes=1)) is None


def test_the_secrets_of_the_alert_sinks_are_mounted_once_each_and_only_those() -> None:
    hooks = {"name": "hooks", "key": "url"}
    alerts = [
        {"webhook": {"urlSecretRef": hooks, "signingSecretRef": {"name": "hooks", "key": "k"}}},
        {"webhook": {"urlSecretRef": {"name": "other", "key": "url"}}},
        {"alertmanager": {"url": "http://am:9093"}},
    ]
    pod = builders.build_cron_job(OWNER, REF, spec(alerts=alerts), CONFIG, suspend=False)["spec"][
        "jobTemplate"
    ]["spec"]["template"]["spec"]
    secrets = [v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v]
    assert secrets == ["hooks", "other"]
    mounts = [m["mountPath"] for m in pod["containers"][0]["volumeMounts"] if m.get("readOnly")]
    assert mounts == [f"{ALERT_SECRETS_DIR}/hooks", f"{ALERT_SECRETS_DIR}/other"]
    plain = builders.build_cron_job(OWNER, REF, spec(), CONFIG, suspend=False)
    assert not [
        v
        for v in plain["spec"]["jobTemplate"]["spec"]["template"]["spec"]["volumes"]
        if "secret" in v
    ]


def test_a_resolve_follows_the_window_before_this_one_even_on_a_rerun() -> None:
    lines = [
        {"windowEnd": "2026-12-07T12:00:00Z", "modelVersion": "v", "samples": 9, "drifted": False},
        {"windowEnd": "2026-12-07T11:00:00Z", "modelVersion": "v", "samples": 9, "drifted": True},
    ]
    assert previously_drifted({"recentEvaluations": lines}, NOW) is True  # rerun of 12:00
    assert previously_drifted({"recentEvaluations": lines}, NOW + timedelta(hours=1)) is False
    assert previously_drifted({}, NOW) is False


def test_a_window_too_small_to_decide_neither_opens_nor_closes_the_drift_alert() -> None:
    lines = [
        {"windowEnd": "2026-12-07T12:00:00Z", "modelVersion": "v", "samples": 3, "drifted": False,
         "insufficientData": True},
        {"windowEnd": "2026-12-07T11:00:00Z", "modelVersion": "v", "samples": 900, "drifted": True},
    ]  # fmt: skip
    # 13:00 comes calm after 12:00 decided nothing: the alert opened at 11:00 is still open.
    assert previously_drifted({"recentEvaluations": lines}, NOW + timedelta(hours=1)) is True


def test_a_rerun_of_a_window_that_fired_resolves_it_when_it_finds_it_calm() -> None:
    key = "drift:u-1:2026-12-07T12:00:00Z"
    fired = {"sink": 0, "type": "webhook", "key": key,
             "state": "firing", "outcome": "Delivered", "reason": "Accepted", "attempts": 1,
             "time": "2026-12-07T12:01:00Z"}  # fmt: skip
    lines = [
        {"windowEnd": "2026-12-07T12:00:00Z", "modelVersion": "v", "samples": 9, "drifted": True},
        {"windowEnd": "2026-12-07T11:00:00Z", "modelVersion": "v", "samples": 9, "drifted": False},
    ]
    status = {"recentEvaluations": lines, "alerts": [fired]}
    assert previously_drifted(status, NOW, key) is True  # the 12:00 rerun
    assert previously_drifted(status, NOW, "drift:u-1:other") is False  # only the earlier line


def _evaluation(features: dict[str, tuple[str, float, bool]], share: float | None) -> Any:
    end = datetime(2026, 12, 7, 15, tzinfo=UTC)
    results = [
        {"feature": name, "test": test, "statistic": value, "threshold": 0.1, "drifted": drifted,
         "samples": 500}
        for name, (test, value, drifted) in features.items()
    ]  # fmt: skip
    dataset = None if share is None else {"share": share, "threshold": 0.5, "drifted": share >= 0.5}
    return DriftEvaluation.model_validate(
        {
            "windowStart": end - timedelta(hours=1),
            "windowEnd": end,
            "samples": 500,
            "features": results,
            "dataset": dataset,
            "predictionDrift": [
                {
                    "feature": "y.0",
                    "test": "psi",
                    "statistic": 0.3,
                    "threshold": 0.2,
                    "drifted": True,
                    "samples": 500,
                },
            ],
            "insufficientData": share is None,
        }
    )


def test_the_last_evaluation_becomes_gauges_and_features_gone_lose_their_series() -> None:
    metrics = Metrics()
    sample = metrics.registry.get_sample_value
    monitor = {"namespace": "team-a", "monitor": "fraud"}
    first = {"amount": ("wasserstein", 0.4, True), "country": ("jsd", 0.02, False)}
    metrics.drift.record("team-a", "fraud", _evaluation(first, 0.5))
    amount = {**monitor, "feature": "amount", "test": "wasserstein"}
    assert sample("modelplane_drift_feature_statistic", amount) == pytest.approx(0.4)
    assert sample("modelplane_drift_feature_drifted", amount) == 1
    assert sample("modelplane_drift_feature_drifted", {**monitor, "feature": "country",
                                                       "test": "jsd"}) == 0  # fmt: skip
    output = {**monitor, "output": "y.0", "test": "psi"}
    assert sample("modelplane_drift_prediction_statistic", output) == pytest.approx(0.3)
    assert sample("modelplane_drift_prediction_drifted", output) == 1
    assert sample("modelplane_drift_dataset_share", monitor) == 0.5
    assert sample("modelplane_drift_dataset_drifted", monitor) == 1
    assert sample("modelplane_drift_samples", monitor) == 500
    end = datetime(2026, 12, 7, 15, tzinfo=UTC).timestamp()
    assert sample("modelplane_drift_last_window_end_timestamp_seconds", monitor) == end

    metrics.drift.record("team-a", "fraud", _evaluation({"amount": ("ks", 0.1, False)}, 0.0))
    assert sample("modelplane_drift_feature_statistic", amount) is None  # test changed
    assert sample("modelplane_drift_feature_drifted", {**monitor, "feature": "country",
                                                       "test": "jsd"}) is None  # fmt: skip
    assert sample("modelplane_drift_feature_drifted", {**amount, "test": "ks"}) == 0
    assert sample("modelplane_drift_dataset_drifted", monitor) == 0

    metrics.drift.record("team-a", "fraud", _evaluation({}, None))  # too few rows
    assert sample("modelplane_drift_dataset_share", monitor) is None
    assert sample("modelplane_drift_samples", monitor) == 500

    metrics.drift.forget("team-a", "fraud")
    names = {s.name for m in metrics.registry.collect() for s in m.samples}
    assert not {n for n in names if n.startswith("modelplane_drift_") and "alerts" not in n}


def quality(mae: float | None, labelled: int = 300, version: str = "fraud-1") -> QualityEvaluation:
    """A regression window's quality with one `mae` metric (None: too few labels)."""
    return quality_evaluation(NOW, version, mae, labelled)


@pytest.mark.parametrize(
    ("result", "expected", "words"),
    [
        (None, None, ""),
        (quality(None, labelled=12), ("Unknown", "TooFewLabels"), "12 labelled predictions"),
        (quality(0.05), ("False", "WithinThresholds"), "fraud-1: every metric"),
        (quality(0.31), ("True", "BelowThreshold"), "fraud-1: mae 0.31 > max 0.2"),
    ],
    ids=["none-yet", "too-few-labels", "within", "degraded"],
)
def test_quality_degraded_follows_the_serving_versions_last_scored_window(
    result: QualityEvaluation | None, expected: tuple[str, str] | None, words: str
) -> None:
    found = builders.quality_conditions([], result, 2, NOW)
    conditions = {c.type: c for c in found}
    if expected is None:
        assert "QualityDegraded" not in conditions
        return
    degraded = conditions["QualityDegraded"]
    assert (degraded.status, degraded.reason) == expected
    assert words in degraded.message


def test_a_scored_window_written_by_the_job_becomes_a_condition_only_while_quality_is_asked() -> (
    None
):
    scored = quality(0.31).model_dump(mode="json", by_alias=True, exclude_none=True)
    wanted = {"task": "regression", "prediction": "output.score.0",
              "metrics": [{"metric": "mae", "max": 0.2}]}  # fmt: skip
    asking = {**OWNER, "spec": {**OWNER["spec"], "quality": wanted}}
    patch = result_patch({**asking, "status": {"lastQuality": scored}}, NOW)
    assert patch is not None
    assert {c.type: c.status for c in conditions_of(patch)} == {"QualityDegraded": "True"}
    # The quality section removed: the condition goes although the old result stays.
    stale = {**OWNER, "status": {"lastQuality": scored, **patch}}
    assert conditions_of(result_patch(stale, NOW) or {}) == []


def test_quality_becomes_gauges_per_role_and_a_finished_rollout_loses_the_candidates() -> None:
    metrics = Metrics()
    sample = metrics.registry.get_sample_value
    stable = {"namespace": "team-a", "monitor": "fraud", "role": "stable"}
    candidate = {**stable, "role": "candidate"}
    metrics.quality.record("team-a", "fraud", quality(0.05), quality(0.4, version="fraud-2"))
    assert sample("modelplane_quality_metric", {**stable, "metric": "mae"}) == pytest.approx(0.05)
    assert sample("modelplane_quality_metric", {**candidate, "metric": "mae"}) == pytest.approx(0.4)
    assert sample("modelplane_quality_degraded", stable) == 0
    assert sample("modelplane_quality_degraded", candidate) == 1
    assert sample("modelplane_quality_labelled_rows", candidate) == 300

    metrics.quality.record("team-a", "fraud", quality(None, labelled=3), None)
    assert sample("modelplane_quality_metric", {**stable, "metric": "mae"}) is None
    assert sample("modelplane_quality_degraded", stable) is None  # no decision
    assert sample("modelplane_quality_labelled_rows", stable) == 3
    for name in ("modelplane_quality_metric", "modelplane_quality_labelled_rows"):
        assert (
            sample(name, {**candidate, "metric": "mae"} if "metric" in name else candidate) is None
        )

    metrics.quality.forget("team-a", "fraud")
    names = {s.name for m in metrics.registry.collect() for s in m.samples}
    assert not {n for n in names if n.startswith("modelplane_quality_")}
