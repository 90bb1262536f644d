"""Ten evaluations of one DriftMonitor, each with the operator SIGKILLed at a random moment while
the drift job evaluates, writes its status and alerts, and restarted: no evaluation is lost (each
one's result reaches the conditions and the history; the history holds all ten) and no alert is
sent twice (one webhook per evaluation that had one to send, each with its own key, and a job
retried for a window it already finished sends nothing again).

The job runs in this process with exactly the identity and arguments its CronJob gives it (the
CronJob's pods would need the real node and an API server reachable from pods, see tests/node);
what is killed is the operator, as a child process, which turns each written result into
conditions. Windows alternate shifted and calm traffic, so the alerts alternate firing and
resolved.
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from modelplane_crds.payload_logs import hour_partition, version_prefix
from tests.operator.conftest import Receiver
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
    OperatorProcess,
    condition,
    get_json,
    install_crds,
    operator_env,
    service_account_kubeconfig,
    wait_for,
)

pytestmark = [pytest.mark.usefixtures("aws_env"), pytest.mark.slow]

EVALUATIONS = 10
WINDOW = timedelta(minutes=30)


def _windows() -> list[tuple[datetime, bool]]:
    """Ten consecutive 30-minute windows ending an hour ago; the even ones shifted."""
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    first = end - EVALUATIONS * WINDOW
    return [(first + i * WINDOW, i % 2 == 0) for i in range(EVALUATIONS)]


def _put_logs(s3: Any, namespace: str, rng: np.random.Generator) -> None:
    """Each window's payload logs of fraud-1, 300 rows, in the runtime's layout."""
    for i, (start, shifted) in enumerate(_windows()):
        amounts = rng.normal(2.0 if shifted else 0.0, 1.0, 300)
        logs = feature_table({"feature.amount": amounts}, start=start, seconds=1700)
        prefix = version_prefix(namespace, "fraud", "fraud-1")
        put_parquet(s3, f"{prefix}{hour_partition(start)}/w{i}.parquet", logs)


def _job_in_background(args: list[str]) -> tuple[threading.Thread, list[tuple[int, str]]]:
    outcome: list[tuple[int, str]] = []
    thread = threading.Thread(target=lambda: outcome.append(run_job(args)), daemon=True)
    thread.start()
    return thread, outcome


def _reflects(kubectl: Kubectl, namespace: str, start: datetime, shifted: bool) -> bool:
    """The monitor's conditions show this window's evaluation (written before the kill or
    after it, the restarted operator reads the same status)."""
    monitor = get_json(kubectl, "dm", "fraud-inputs", "-n", namespace)
    evaluated = (monitor["status"].get("lastEvaluation") or {}).get("windowEnd")
    drift = condition(monitor, "DriftDetected") or {}
    end = (start + WINDOW).strftime("%Y-%m-%dT%H:%M:%SZ")
    return evaluated == end and drift.get("status") == ("True" if shifted else "False")


def test_operator_kills_during_evaluations_lose_none_and_duplicate_no_alert(
    kubectl: Kubectl, kubeconfig: Path, s3: Any, namespace: str, tmp_path: Path, receiver: Receiver
) -> None:
    install_crds(kubectl)
    kubectl(
        "apply", "-f", str(OPERATOR_DIR / "namespace.yaml"), "-f", str(OPERATOR_DIR / "rbac.yaml")
    )
    rng = np.random.default_rng(11)
    reference = put_parquet(
        s3, f"{namespace}/reference.parquet", pa.table({"amount": rng.normal(0, 1, 2000)})
    )
    version, deployment, monitor = monitor_resources(
        namespace, s3, hashlib.sha256(reference).hexdigest(), alerts=[WEBHOOK_SINK]
    )
    secrets = hook_secret(kubectl, namespace, receiver.url, tmp_path / "mounted")
    _put_logs(s3, namespace, rng)
    operator_config = service_account_kubeconfig(kubeconfig, tmp_path / "op.kubeconfig")
    env = operator_env(operator_config, s3, monitor_interval_s=2, payload_bucket=s3.bucket)
    operator = OperatorProcess(env, tmp_path / "operator.log")
    operator.start()
    try:
        for body in (version, deployment, monitor):
            kubectl("apply", "-f", "-", input=json.dumps(body))
        kubectl(
            "wait", "--for=condition=Ready", "dm/fraud-inputs", "-n", namespace, "--timeout=90s"
        )
        cron = get_json(kubectl, "cronjob", "drift-fraud-inputs", "-n", namespace)
        (container,) = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
        job_config = service_account_kubeconfig(  # the CronJob's identity
            kubeconfig, tmp_path / "job.kubeconfig", "drift-fraud-inputs", namespace
        )
        base = [*container["args"], "--kubeconfig", str(job_config), "--alert-secrets", secrets]
        moments = random.Random(3)
        for start, shifted in _windows():
            args = [*base, "--start", start.isoformat(), "--end", (start + WINDOW).isoformat()]
            job, outcome = _job_in_background(args)
            time.sleep(moments.uniform(0.0, 2.0))  # somewhere in the job's run, or just after
            operator.kill()
            operator.start()
            job.join(timeout=120)
            assert [code for code, _ in outcome] == [0], outcome
            wait_for(
                lambda s=start, d=shifted: _reflects(kubectl, namespace, s, d),  # type: ignore[misc]
                timeout=90,
                what=f"the evaluation of the window at {start:%H:%M} in the conditions",
            )
        # A Job retried for a window it already finished (its pod lost after writing): no resend.
        sent = len(receiver.requests)
        code, err = run_job(args)
        assert code == 0, err
        assert len(receiver.requests) == sent
    finally:
        operator.kill()

    status = get_json(kubectl, "dm", "fraud-inputs", "-n", namespace)["status"]
    history = [(line["windowEnd"], line["drifted"]) for line in status["recentEvaluations"]]
    expected = [
        ((start + WINDOW).strftime("%Y-%m-%dT%H:%M:%SZ"), shifted)
        for start, shifted in reversed(_windows())
    ]
    assert history == expected  # all ten, newest first: none lost
    events = [
        (headers["x-modelplane-event"], headers["idempotency-key"])
        for headers in ({k.lower(): v for k, v in r.headers.items()} for r in receiver.requests)
    ]
    # Shifted, calm, shifted, …: each evaluation fires or resolves exactly once.
    assert [event for event, _ in events] == ["drift.firing", "drift.resolved"] * 5
    assert len({key for _, key in events}) == EVALUATIONS
