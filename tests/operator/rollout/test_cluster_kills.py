"""A rollout survives 10 SIGKILLs of the operator at random moments.

The operator runs as a child process (`python -m kopf run` of the rollout entry file) and is
killed with SIGKILL — no clean-up at all — ten times during a canary of several steps, then
started again each time. All rollout state is in status, so the run must end exactly as an
uninterrupted one: the candidate promoted, the old stable retired, and no orphaned or
duplicated child.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.operator.rollout.cluster_support import (
    RolloutOperatorProcess,
    children,
    model_deployment,
    model_version,
    ready,
    rollout_env,
    status_of,
    wait_versions_ready,
)
from tests.operator.support import Kubectl, install_crds, wait_for

NAMESPACE = "mp-rollout-kills"
KILLS = 10


@pytest.fixture
def process(
    kubectl: Kubectl, kubeconfig: Path, s3: Any, tmp_path: Path
) -> Iterator[RolloutOperatorProcess]:
    install_crds(kubectl)
    kubectl("create", "namespace", NAMESPACE, check=False)
    for seed, name in enumerate(("fraud-1", "fraud-2")):
        kubectl("apply", "-f", "-", input=model_version(name, NAMESPACE, s3, seed))
    operator = RolloutOperatorProcess(rollout_env(kubeconfig, s3), NAMESPACE, tmp_path / "op.log")
    operator.start()
    try:
        wait_versions_ready(kubectl, NAMESPACE, ("fraud-1", "fraud-2"))
        yield operator
    finally:
        if operator.proc is None or operator.proc.poll() is not None:
            operator.start()
        kubectl(
            "delete", "modeldeployments", "--all", "-n", NAMESPACE, "--timeout=60s", check=False
        )
        operator.stop()


def test_ten_operator_kills_during_a_rollout_end_promoted_with_no_orphan(
    kubectl: Kubectl, process: RolloutOperatorProcess
) -> None:
    stable = {"stable": {"modelVersionRef": {"name": "fraud-1"}}, "scaling": {"replicas": 2}}
    kubectl("apply", "-f", "-", input=model_deployment("killed", NAMESPACE, stable))
    wait_for(
        lambda: ready(status_of(kubectl, "killed", NAMESPACE)), timeout=120, what="stable Ready"
    )
    steps: list[dict[str, Any]] = []
    for weight in (25, 50, 75):
        steps += [{"setWeight": weight}, {"pause": {"duration": "2s"}}]
    spec = {
        **stable,
        "candidate": {"modelVersionRef": {"name": "fraud-2"}},
        "strategy": {"canary": {"steps": [*steps, {"setWeight": 100}]}},
    }
    kubectl("apply", "-f", "-", input=model_deployment("killed", NAMESPACE, spec))
    rng = random.Random(8)
    seen: list[tuple[Any, Any]] = []
    for _ in range(KILLS):
        time.sleep(rng.uniform(0.5, 3.0))
        process.kill()
        status = status_of(kubectl, "killed", NAMESPACE)
        seen.append((status.get("currentStep"), status.get("stableVersion")))
        process.start()
    final = wait_for(
        lambda: (
            (s := status_of(kubectl, "killed", NAMESPACE)).get("stableVersion") == "fraud-2"
            and ready(s)
            and s
        ),
        timeout=240,
        what="fraud-2 promoted after the kills",
    )
    assert final.get("candidateVersion") is None
    assert final["traffic"]["stable"] == 100
    assert any(step is not None for step, _ in seen), f"no kill landed mid-rollout: {seen}"

    def no_orphan() -> list[str] | None:
        names = children(kubectl, "killed", NAMESPACE)
        owned = [n for n in names if not n.startswith(("pod/", "replicaset.apps/"))]
        expected = [
            "deployment.apps/killed-fraud-2",
            "poddisruptionbudget.policy/killed",
            "service/killed",
            "service/killed-fraud-2",
        ]
        return owned if owned == expected else None

    wait_for(no_orphan, timeout=120, what="exactly the promoted children")
    pods = [n for n in children(kubectl, "killed", NAMESPACE) if n.startswith("pod/")]
    wait_for(
        lambda: (
            len([n for n in children(kubectl, "killed", NAMESPACE) if n.startswith("pod/")]) == 2
        ),
        timeout=120,
        what=f"two serving pods (had {pods})",
    )
    log = process.log.read_text(errors="replace")
    assert "Traceback" not in log, log[-3000:]
