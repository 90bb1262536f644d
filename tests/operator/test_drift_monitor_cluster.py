"""DriftMonitors on the real control plane, the operator under its own ServiceAccount: a monitor
stalls without its deployment and schedules once it is there; its job, run with the monitor's
own ServiceAccount token, reads the serving version's payload logs from the real S3 server,
writes the result into status, and the operator turns it into conditions and printer columns.
During a rollout (the deployment's status names a candidate) the job evaluates the candidate's
logs over the same window beside the stable's.

The CronJob's pods would need the real node (tests/node); here the job runs in this process with
exactly the identity and arguments the CronJob gives it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from modelplane_api.feedback.service import SCHEMA as FEEDBACK_SCHEMA
from modelplane_crds.drift_monitor import ALERT_SECRETS_DIR
from modelplane_crds.payload_logs import (
    FEEDBACK_DIR,
    deployment_prefix,
    hour_partition,
    version_prefix,
)
from modelplane_operator.alerts import verify_signature
from tests.operator.conftest import Alertmanager, Receiver
from tests.operator.drift.helpers import feature_table
from tests.operator.monitor_support import (
    WEBHOOK_SINK,
    hook_secret,
    monitor_resources,
    put_parquet,
    run_job,
)
from tests.operator.support import (
    OPERATOR_DIR,
    Kubectl,
    condition,
    get_json,
    install_crds,
    operator_env,
    run_operator,
    service_account_kubeconfig,
    wait_for,
)

pytestmark = pytest.mark.usefixtures("aws_env")


def apply(kubectl: Kubectl, body: dict[str, Any]) -> None:
    kubectl("apply", "-f", "-", input=json.dumps(body))


def test_a_monitor_schedules_its_job_whose_result_becomes_conditions(
    kubectl: Kubectl,
    kubeconfig: Path,
    s3: Any,
    namespace: str,
    tmp_path: Path,
    receiver: Receiver,
    alertmanager: Alertmanager,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    install_crds(kubectl)
    kubectl(
        "apply", "-f", str(OPERATOR_DIR / "namespace.yaml"), "-f", str(OPERATOR_DIR / "rbac.yaml")
    )
    rng = np.random.default_rng(7)
    reference = put_parquet(
        s3, f"{namespace}/reference.parquet", pa.table({"amount": rng.normal(0, 1, 3000)})
    )
    quality = {
        "task": "regression",
        "prediction": "output.score.0",
        "labelColumn": "value",
        "metrics": [{"metric": "mae", "max": 0.2}],
        "minLabelledRows": 100,
    }
    sinks = [WEBHOOK_SINK, {"alertmanager": {"url": alertmanager.url}, "severity": "critical"}]
    version, deployment, monitor = monitor_resources(
        namespace,
        s3,
        hashlib.sha256(reference).hexdigest(),
        window={"type": "sliding", "size": "2h"},  # the traffic logged in the last half hour
        quality=quality,
        alerts=sinks,
    )
    secrets = hook_secret(kubectl, namespace, receiver.url, tmp_path / "mounted")
    now = datetime.now(UTC)
    hour = (now - timedelta(minutes=30)).replace(minute=0, second=0, microsecond=0)
    logs = feature_table(
        {"feature.amount": rng.normal(2.0, 1.0, 600), "output.score.0": rng.normal(0, 1, 600)},
        start=hour,
        seconds=1800,
    )
    key = f"{version_prefix(namespace, 'fraud', 'fraud-1')}{hour_partition(hour)}/part-0.parquet"
    put_parquet(s3, key, logs)
    _put_feedback(s3, namespace, logs.slice(0, 300), rng)
    operator_config = service_account_kubeconfig(kubeconfig, tmp_path / "op.kubeconfig")
    env = operator_env(
        operator_config,
        s3,
        monitor_interval_s=2,
        payload_bucket=s3.bucket,
        rollout_interval_s=30,
        # The monitor's job gets its own credentials, minted as the platform's MinIO user.
        monitor_sts_access_key=s3.drift_access_key,
        monitor_sts_secret_key=s3.drift_secret_key,
    )
    with run_operator(kubectl, env, namespace=namespace):
        apply(kubectl, version)
        apply(kubectl, monitor)
        stalled = wait_for(
            lambda: condition(get_json(kubectl, "dm", "fraud-inputs", "-n", namespace), "Stalled"),
            what="Stalled without the deployment",
        )
        assert stalled["reason"] == "DeploymentNotFound"
        cron = get_json(kubectl, "cronjob", "drift-fraud-inputs", "-n", namespace)
        assert cron["spec"]["suspend"] is True

        apply(kubectl, deployment)
        kubectl(
            "wait", "--for=condition=Ready", "dm/fraud-inputs", "-n", namespace, "--timeout=60s"
        )
        cron = get_json(kubectl, "cronjob", "drift-fraud-inputs", "-n", namespace)
        assert (cron["spec"]["suspend"], cron["spec"]["concurrencyPolicy"]) == (False, "Forbid")
        account = f"system:serviceaccount:{namespace}:drift-fraud-inputs"
        assert _can(
            kubectl,
            account,
            "patch",
            "driftmonitors.modelplane.io/fraud-inputs",
            namespace,
            subresource="status",
        )
        assert not _can(
            kubectl,
            account,
            "patch",
            "driftmonitors.modelplane.io/other",
            namespace,
            subresource="status",
        )
        assert not _can(
            kubectl, account, "patch", "modeldeployments.modelplane.io/fraud", namespace
        )

        job_config = service_account_kubeconfig(  # the CronJob's identity
            kubeconfig, tmp_path / "job.kubeconfig", "drift-fraud-inputs", namespace
        )
        (container,) = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
        assert container["command"] == ["python", "-m", "modelplane_operator.drift"]
        mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
        volumes = {
            v["name"]: v for v in cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["volumes"]
        }
        secret_volume = volumes["alert-secret-0"]["secret"]
        assert (secret_volume["secretName"], secret_volume["optional"]) == ("drift-hooks", True)
        assert mounts["alert-secret-0"] == f"{ALERT_SECRETS_DIR}/drift-hooks"
        # The kubelet's mount of the Secret, for the job in this process:
        args = [*container["args"], "--kubeconfig", str(job_config), "--alert-secrets", secrets]
        # … and its environment: the monitor's own temporary S3 credentials, not the org's.
        for name, value in _own_credentials(kubectl, namespace, container).items():
            monkeypatch.setenv(name, value)
        code, err = run_job(args)
        assert code == 0, err
        drifted = wait_for(
            lambda: condition(
                get_json(kubectl, "dm", "fraud-inputs", "-n", namespace), "DriftDetected"
            ),
            what="DriftDetected from the job's evaluation",
        )
        assert (drifted["status"], drifted["reason"]) == ("True", "DatasetDrift")
        status = get_json(kubectl, "dm", "fraud-inputs", "-n", namespace)["status"]
        assert status["lastEvaluation"]["samples"] == 600
        assert status["evaluatedVersion"] == "fraud-1"
        assert status["recentEvaluations"][0]["drifted"] is True
        columns = kubectl("get", "dm", "fraud-inputs", "-n", namespace).stdout
        row = columns.splitlines()[1].split()
        assert row[:4] == ["fraud-inputs", "fraud", "1", "True"]  # name, deployment, share, drifted
        history = s3.client().list_objects_v2(
            Bucket=s3.bucket, Prefix=f"{namespace}/drift-history/fraud-inputs/"
        )
        assert [o["Key"].endswith(".json") for o in history["Contents"]] == [True]
        _assert_alerted(receiver, alertmanager, status, "firing")
        quality = status["lastQuality"]  # the first 300 predictions were labelled, ±0.05
        assert (quality["labelledRows"], quality["degraded"]) == (300, False)
        assert [(m["metric"], m["passed"]) for m in quality["metrics"]] == [("mae", True)]
        within = condition(get_json(kubectl, "dm", "fraud-inputs", "-n", namespace),
                           "QualityDegraded")  # fmt: skip
        assert (within["status"], within["reason"]) == ("False", "WithinThresholds")

        # Calm traffic an hour earlier, evaluated on its own: drift ended, so one resolve.
        calm_hour = hour - timedelta(hours=1)
        calm = feature_table(
            {"feature.amount": rng.normal(0, 1, 600)}, start=calm_hour, seconds=1800
        )
        calm_key = (
            f"{version_prefix(namespace, 'fraud', 'fraud-1')}{hour_partition(calm_hour)}/p.parquet"
        )
        put_parquet(s3, calm_key, calm)
        code, err = run_job([*args, *_half_hour(calm_hour)])
        assert code == 0, err
        status = get_json(kubectl, "dm", "fraud-inputs", "-n", namespace)["status"]
        assert status["recentEvaluations"][0]["drifted"] is False
        _assert_alerted(receiver, alertmanager, status, "resolved")
        wait_for(
            lambda: (
                condition(
                    get_json(kubectl, "dm", "fraud-inputs", "-n", namespace), "DriftDetected"
                )["status"]
                == "False"
            ),
            what="drift ended",
        )

    quality_hour = calm_hour - timedelta(hours=2)
    _assert_quality_alerted(kubectl, s3, namespace, rng, quality_hour, args, alertmanager)
    _assert_quality_webhooks(receiver, namespace)
    # The operator is stopped: it would end a rollout that the deployment's spec does not name.
    _assert_candidate_evaluated(kubectl, s3, namespace, rng, calm_hour - timedelta(hours=1), args)

    s3.client().delete_object(Bucket=s3.bucket, Key=f"{namespace}/reference.parquet")
    s3.client().delete_objects(
        Bucket=s3.bucket,
        Delete={"Objects": [{"Key": o["Key"]} for o in _profiles(s3, namespace)]},
    )
    code, err = run_job(args)
    assert code == 2, err
    failed = get_json(kubectl, "dm", "fraud-inputs", "-n", namespace)["status"]
    assert failed["lastFailure"]["reason"] == "EvaluationFailed"
    assert "reference" in failed["lastFailure"]["message"]
    assert failed["lastEvaluation"]["samples"] == 600  # the last results stay


def _own_credentials(kubectl: Kubectl, namespace: str, container: dict[str, Any]) -> dict[str, str]:
    """The AWS_* variables the kubelet would set from the monitor's own Secret (the container's
    env names it), checked to be temporary credentials and not the platform's."""
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"] if "valueFrom" in e}
    names = {ref["name"] for ref in refs.values()}
    assert names == {"drift-fraud-inputs-s3"}
    assert set(refs) == {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"}
    secret = get_json(kubectl, "secret", "drift-fraud-inputs-s3", "-n", namespace)
    assert secret["metadata"]["ownerReferences"][0]["name"] == "fraud-inputs"
    values = {
        name: base64.b64decode(secret["data"][ref["key"]]).decode() for name, ref in refs.items()
    }
    assert values["AWS_SESSION_TOKEN"]
    return values


def _assert_candidate_evaluated(
    kubectl: Kubectl,
    s3: Any,
    namespace: str,
    rng: np.random.Generator,
    hour: datetime,
    args: list[str],
) -> None:
    """Stable fraud-1 calm and candidate fraud-2 shifted in one window: the status reports the
    stable without drift (what conditions follow) and the candidate drifted; labelled feedback
    shows the candidate's quality dropped beside the stable's; without a candidate the field
    goes."""
    for version, loc in (("fraud-1", 0.0), ("fraud-2", 2.0)):
        columns = {
            "feature.amount": rng.normal(loc, 1, 600),
            "output.score.0": rng.normal(0, 1, 600),
        }
        logs = feature_table(columns, start=hour, seconds=1800)
        ids = pa.array([f"{version}-{i}" for i in range(logs.num_rows)], pa.string())
        logs = logs.set_column(logs.schema.get_field_index("request_id"), "request_id", ids)
        put_parquet(
            s3,
            f"{version_prefix(namespace, 'fraud', version)}{hour_partition(hour)}/p.parquet",
            logs,
        )
        # fraud-2 predicts 0.5 too high: its mae (~0.5) breaks the monitor's max of 0.2.
        _put_feedback(s3, namespace, logs.slice(0, 200), rng, bias=loc / 4, name=version)
    rollout = {"status": {"stableVersion": "fraud-1", "candidateVersion": "fraud-2"}}
    _patch_status(kubectl, namespace, rollout)
    window = _half_hour(hour)
    code, err = run_job([*args, *window])
    assert code == 0, err
    status = get_json(kubectl, "dm", "fraud-inputs", "-n", namespace)["status"]
    assert (status["evaluatedVersion"], status["lastEvaluation"]["samples"]) == ("fraud-1", 600)
    assert status["lastEvaluation"]["dataset"]["drifted"] is False
    candidate = status["candidateEvaluation"]
    assert candidate["modelVersion"] == "fraud-2"
    assert (candidate["evaluation"]["samples"], candidate["evaluation"]["dataset"]["drifted"]) == (
        600,
        True,
    )
    lines = [(r["role"], r["modelVersion"], r["drifted"]) for r in status["recentEvaluations"][:2]]
    assert lines == [("stable", "fraud-1", False), ("candidate", "fraud-2", True)]
    scored = [status["lastQuality"], candidate["quality"]]
    assert [(q["modelVersion"], q["labelledRows"], q["degraded"]) for q in scored] == [
        ("fraud-1", 200, False),
        ("fraud-2", 200, True),
    ]
    (mae,) = candidate["quality"]["metrics"]
    assert (mae["metric"], mae["passed"], round(mae["value"], 1)) == ("mae", False, 0.5)

    _patch_status(kubectl, namespace, {"status": {"candidateVersion": None}})  # promoted/aborted
    code, err = run_job([*args, *window])
    assert code == 0, err
    status = get_json(kubectl, "dm", "fraud-inputs", "-n", namespace)["status"]
    assert "candidateEvaluation" not in status


def _assert_quality_alerted(
    kubectl: Kubectl,
    s3: Any,
    namespace: str,
    rng: np.random.Generator,
    hour: datetime,
    args: list[str],
    alertmanager: Alertmanager,
) -> None:
    """The stable fraud-1 scored in two half-hour windows: the first's labels say it predicts
    0.5 too high (degraded: the quality alert fires), the second's are right (it resolves)."""
    for half, bias in ((0, 0.5), (1, 0.0)):
        start = hour + timedelta(minutes=30 * half)
        columns = {"feature.amount": rng.normal(0, 1, 300), "output.score.0": rng.normal(0, 1, 300)}
        logs = feature_table(columns, start=start, seconds=1800)
        ids = pa.array([f"q{half}-{i}" for i in range(logs.num_rows)], pa.string())
        logs = logs.set_column(logs.schema.get_field_index("request_id"), "request_id", ids)
        prefix = version_prefix(namespace, "fraud", "fraud-1")
        put_parquet(s3, f"{prefix}{hour_partition(start)}/q{half}.parquet", logs)
        _put_feedback(s3, namespace, logs.slice(0, 200), rng, bias=bias, name=f"q{half}")
        code, err = run_job([*args, *_half_hour(start)])
        assert code == 0, err
        status = get_json(kubectl, "dm", "fraud-inputs", "-n", namespace)["status"]
        assert status["lastQuality"]["degraded"] is (bias > 0)
        quality = [
            (a["sink"], a["state"], a["outcome"])
            for a in status["alerts"]
            if a["alert"] == "quality"
        ]
        state = "firing" if bias > 0 else "resolved"
        assert quality == [(0, state, "Delivered"), (1, state, "Delivered")]
        assert {a["alert"] for a in status["alerts"]} == {"drift", "quality"}  # drift's kept
        if bias > 0:
            shown = wait_for(
                lambda: _quality_alerts(alertmanager) or None,
                what="Alertmanager shows the quality alert",
            )
            (alert,) = shown
            assert alert["labels"]["model_version"] == "fraud-1"
            assert alert["annotations"]["failing_metrics"].startswith("mae 0.")
            assert alert["annotations"]["labelled_rows"] == "200"
        else:
            wait_for(lambda: not _quality_alerts(alertmanager), what="the quality alert resolved")


def _quality_alerts(alertmanager: Alertmanager) -> list[dict[str, Any]]:
    return [
        a
        for a in alertmanager.active_alerts()
        if a["labels"]["alertname"] == "ModelplaneQualityDegraded"
    ]


def _assert_quality_webhooks(receiver: Receiver, namespace: str) -> None:
    """The webhook got quality.firing then quality.resolved, keyed per scored window and signed
    like drift's, the firing naming the metric and its threshold."""
    quality = [
        r for r in receiver.requests if r.headers["X-Modelplane-Event"].startswith("quality")
    ]
    assert [r.headers["X-Modelplane-Event"] for r in quality] == [
        "quality.firing",
        "quality.resolved",
    ]
    for sent in quality:
        stamp = sent.headers["X-Modelplane-Timestamp"]
        signature = sent.headers["X-Modelplane-Signature"]
        assert verify_signature(b"k" * 40, stamp, sent.body, signature, time.time())
        assert json.loads(sent.body)["id"] == sent.headers["Idempotency-Key"]
    fired, ended = (json.loads(r.body) for r in quality)
    assert fired["id"].startswith("quality:")
    assert fired["id"] != ended["id"]
    assert fired["summary"].startswith(f"Quality degraded in {namespace}/fraud (fraud-1): mae 0.")
    assert fired["summary"].endswith(" > max 0.2 (200 labelled)")
    assert (fired["labelledRows"], fired["degraded"], ended["degraded"]) == (200, True, False)


def _patch_status(kubectl: Kubectl, namespace: str, patch: dict[str, Any]) -> None:
    kubectl(
        "patch",
        "mdep",
        "fraud",
        "-n",
        namespace,
        "--subresource=status",
        "--type=merge",
        "-p",
        json.dumps(patch),
    )


def _put_feedback(
    s3: Any,
    namespace: str,
    logged: pa.Table,
    rng: np.random.Generator,
    bias: float = 0.0,
    name: str = "f",
) -> None:
    """Ground truth for `logged` as the facade's feedback endpoint writes it: each prediction's
    true value within ±0.05 of the prediction less `bias`, observed a minute after it was
    made."""
    observed = [t + timedelta(minutes=1) for t in logged.column("ts").to_pylist()]
    noise = rng.uniform(-0.05, 0.05, len(observed))
    truth = np.asarray(logged.column("output.score.0")) - bias + noise
    rows = [
        {"request_id": r, "observed_at": t, "label": None, "value": float(v), "received_at": t}
        for r, t, v in zip(logged.column("request_id").to_pylist(), observed, truth, strict=True)
    ]
    for partition in sorted({hour_partition(t) for t in observed}):
        part = [row for row in rows if hour_partition(row["observed_at"]) == partition]
        key = f"{deployment_prefix(namespace, 'fraud')}{FEEDBACK_DIR}/{partition}/{name}.parquet"
        put_parquet(s3, key, pa.Table.from_pylist(part, schema=FEEDBACK_SCHEMA))


def _assert_alerted(
    receiver: Receiver, alertmanager: Alertmanager, status: dict[str, Any], state: str
) -> None:
    """The last webhook is this state's, signed and keyed; Alertmanager agrees; the status
    says both sinks accepted it."""
    sent = receiver.requests[-1]
    headers = {k.lower(): v for k, v in sent.headers.items()}
    assert headers["x-modelplane-event"] == f"drift.{state}"
    assert verify_signature(
        b"k" * 40,
        headers["x-modelplane-timestamp"],
        sent.body,
        headers["x-modelplane-signature"],
        time.time(),
    )
    assert json.loads(sent.body)["id"] == headers["idempotency-key"]
    assert [(a["sink"], a["state"], a["outcome"]) for a in status["alerts"]] == [
        (0, state, "Delivered"),
        (1, state, "Delivered"),
    ]
    active = wait_for(
        lambda: (
            (alertmanager.active_alerts() or None)
            if state == "firing"
            else not alertmanager.active_alerts()
        ),
        what=f"Alertmanager shows the alert {state}",
    )
    if state == "firing":
        (alert,) = active
        assert alert["labels"]["monitor"] == "fraud-inputs"
        assert alert["labels"]["severity"] == "critical"


def _half_hour(start: datetime) -> list[str]:
    """The job's arguments for the window of half an hour from `start`."""
    return ["--start", start.isoformat(), "--end", (start + timedelta(minutes=30)).isoformat()]


def _profiles(s3: Any, namespace: str) -> list[dict[str, Any]]:
    listed = s3.client().list_objects_v2(Bucket=s3.bucket, Prefix=f"{namespace}/drift-profiles/")
    return list(listed.get("Contents", []))


def _can(
    kubectl: Kubectl,
    user: str,
    verb: str,
    resource: str,
    namespace: str,
    subresource: str | None = None,
) -> bool:
    extra = [f"--subresource={subresource}"] if subresource else []
    result = kubectl(
        "auth", "can-i", verb, resource, "-n", namespace, f"--as={user}", *extra, check=False
    )
    return result.stdout.strip() == "yes"
