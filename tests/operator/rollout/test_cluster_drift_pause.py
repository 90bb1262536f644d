"""`actions.onDatasetDrift` / `onQualityDegraded: pauseRollouts` on the real control plane: a
canary in progress, a drifted evaluation in its DriftMonitor's status (as the drift job writes
it), and the operator (core, rollout and monitor handlers, in-process) pauses the canary with the
reason on both objects; a person's resume is not undone by the same evaluation; then the
candidate's live quality below its threshold pauses it again. The operator's /metrics page
exports the evaluation and the quality."""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from modelplane_crds.drift_results import DriftEvaluation
from tests.operator.factories import quality_evaluation
from tests.operator.rollout.cluster_support import (
    annotations_of,
    model_deployment,
    model_version,
    run_rollout_operator,
    status_of,
    wait_versions_ready,
)
from tests.operator.support import (
    Kubectl,
    condition,
    free_port,
    get_json,
    install_crds,
    operator_env,
    wait_for,
)

END = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


def _monitor(namespace: str) -> str:
    return json.dumps(
        {
            "apiVersion": "modelplane.io/v1alpha1",
            "kind": "DriftMonitor",
            "metadata": {"name": "fraud-inputs", "namespace": namespace},
            "spec": {
                "deploymentRef": {"name": "canary"},
                "schedule": "0 0 1 1 *",  # never during the test: the evaluation is written below
                "window": {"size": "1h"},
                "quality": {
                    "task": "regression",
                    "prediction": "output.score.0",
                    "metrics": [{"metric": "mae", "max": 0.2}],
                },
                "actions": {
                    "onDatasetDrift": "pauseRollouts",
                    "onQualityDegraded": "pauseRollouts",
                },
            },
        }
    )


def _drifted() -> dict[str, Any]:
    result = {"test": "wasserstein", "threshold": 0.1, "samples": 600}
    return DriftEvaluation.model_validate(
        {
            "windowStart": END - timedelta(hours=1),
            "windowEnd": END,
            "samples": 600,
            "features": [
                {**result, "feature": "amount", "statistic": 1.9, "drifted": True},
                {**result, "feature": "age", "statistic": 0.02, "drifted": False},
            ],
            "dataset": {"share": 0.5, "threshold": 0.5, "drifted": True},
        }
    ).to_wire()


def _worse_candidate() -> dict[str, Any]:
    """fraud-2's predictions scored against ground truth: mae 0.51, above the max of 0.2."""
    return {
        "modelVersion": "fraud-2",
        "quality": quality_evaluation(END, "fraud-2", 0.51).to_wire(),
    }


def _write_result_and_wait_paused(
    kubectl: Kubectl, namespace: str, result: dict[str, Any], cause: str
) -> dict[str, Any]:
    """Write a result into the monitor's status as the job would; the canary's paused status."""
    kubectl(
        "patch", "dm", "fraud-inputs", "-n", namespace, "--subresource=status",
        "--type=merge", "-p", json.dumps({"status": result}),
    )  # fmt: skip
    return wait_for(  # type: ignore[no-any-return]
        lambda: (
            (s := status_of(kubectl, "canary", namespace)).get("rolloutState") == "Paused" and s
        ),
        timeout=60,
        what=f"the canary paused for {cause}",
    )


def _events(kubectl: Kubectl, namespace: str, name: str) -> set[str]:
    found = kubectl(
        "get", "events", "-n", namespace, "--field-selector", f"involvedObject.name={name}",
        "-o", "json",
    )  # fmt: skip
    return {e["reason"] for e in json.loads(found.stdout)["items"]}


def test_a_drifted_evaluation_pauses_the_canary_until_a_person_resumes_it(
    kubectl: Kubectl, kubeconfig: Path, s3: Any, namespace: str
) -> None:
    install_crds(kubectl)
    for seed, name in enumerate(("fraud-1", "fraud-2")):
        kubectl("apply", "-f", "-", input=model_version(name, namespace, s3, seed))
    port = free_port()
    env = operator_env(
        kubeconfig, s3, rollout_interval_s=1, resync_interval_s=3, worker_limit=10,
        metrics_port=port,
    )  # fmt: skip
    with run_rollout_operator(kubectl, env, namespace) as runner:
        wait_versions_ready(kubectl, namespace, ("fraud-1", "fraud-2"))
        spec = {
            "stable": {"modelVersionRef": {"name": "fraud-1"}},
            "scaling": {"replicas": 1},
            "candidate": {"modelVersionRef": {"name": "fraud-2"}},
            # A resume also ends the pause step it holds at (as after a failed analysis).
            "strategy": {"canary": {"steps": [{"setWeight": 20}, {"pause": {}}, {"pause": {}}]}},
        }
        kubectl("apply", "-f", "-", input=model_deployment("canary", namespace, spec))
        kubectl("apply", "-f", "-", input=_monitor(namespace))
        wait_for(
            lambda: status_of(kubectl, "canary", namespace).get("currentStep") == 1,
            timeout=180,
            what="the canary in progress at its pause step",
        )
        status = _write_result_and_wait_paused(
            kubectl, namespace, {"lastEvaluation": _drifted()}, "drift"
        )
        stalled = condition({"status": status}, "Stalled")
        assert stalled["reason"] == "CanaryPaused"
        assert "DriftMonitor fraud-inputs" in stalled["message"]
        assert "0.50" in stalled["message"]
        assert status["traffic"]["candidate"] > 0  # held where it was, not rolled back
        paused = wait_for(
            lambda: condition(get_json(kubectl, "dm", "fraud-inputs", "-n", namespace),
                              "RolloutsPaused"),
            what="RolloutsPaused on the monitor",
        )  # fmt: skip
        assert (paused["status"], paused["reason"]) == ("True", "DatasetDrift")
        assert "canary" in paused["message"]
        assert "CanaryPaused" in _events(kubectl, namespace, "canary")
        assert "RolloutsPaused" in _events(kubectl, namespace, "fraud-inputs")

        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()
        labels = f'monitor="fraud-inputs",namespace="{namespace}"'
        assert f"modelplane_drift_dataset_share{{{labels}}} 0.5" in page
        assert (
            f'modelplane_drift_feature_drifted{{feature="amount",{labels},test="wasserstein"}} 1.0'
            in page
        )

        # A person resumes; the same evaluation does not pause the canary again.
        kubectl("annotate", "mdep", "canary", "-n", namespace, "modelplane.io/resume=now")

        def resumed() -> bool:
            """Progressing again, the person's signal and the monitor's request both used up."""
            left = {"modelplane.io/paused-by-drift", "modelplane.io/resume"}
            left &= set(annotations_of(kubectl, "mdep", "canary", namespace))
            state = status_of(kubectl, "canary", namespace).get("rolloutState")
            return state == "Progressing" and not left

        wait_for(resumed, timeout=60, what="resumed by a person")
        kubectl("annotate", "dm", "fraud-inputs", "-n", namespace, "touched=1")  # a new event
        time.sleep(6)  # several rollout ticks and monitor events
        assert status_of(kubectl, "canary", namespace)["rolloutState"] == "Progressing"

        # Labelled feedback shows the candidate worse than its threshold: paused again, for that.
        worse = {"candidateEvaluation": _worse_candidate()}
        status = _write_result_and_wait_paused(kubectl, namespace, worse, "its quality")
        assert "mae 0.51 > max 0.2" in condition({"status": status}, "Stalled")["message"]
        paused = wait_for(
            lambda: (
                (c := condition(get_json(kubectl, "dm", "fraud-inputs", "-n", namespace),
                                "RolloutsPaused"))["reason"] == "QualityDegraded" and c
            ),
            what="RolloutsPaused for quality on the monitor",
        )  # fmt: skip
        assert "fraud-2" in paused["message"]
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()
        assert f'modelplane_quality_degraded{{{labels},role="candidate"}} 1.0' in page
        kubectl("delete", "dm,mdep", "--all", "-n", namespace, "--wait=true", "--timeout=60s")
    assert "Traceback" not in runner.output, runner.output[-3000:]
