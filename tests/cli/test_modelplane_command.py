"""The `modelplane` command: help that explains each verb, and the dev platform's front door."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from modelplane_cli.local import node
from modelplane_cli.local.processes import ProcessRecord, RunState, pid_alive, port_open
from modelplane_cli.main import app

runner = CliRunner()


def test_help_lists_every_verb_with_an_explanation() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for verb in ("dev", "generate", "demo", "operator", "api", "runtime", "drift"):
        assert verb in result.output
    dev = runner.invoke(app, ["dev", "--help"])
    for verb in ("build", "up", "status", "down"):
        assert verb in dev.output

    def verbs(group: Any, path: str) -> list[tuple[str, str]]:
        found = []
        for name, command in group.commands.items():
            found.append((f"{path} {name}", (command.help or "").strip()))
            if hasattr(command, "commands"):  # a group of verbs
                found += verbs(command, f"{path} {name}")
        return found

    every = verbs(typer.main.get_command(app), "modelplane")
    assert len(every) >= 11
    assert [verb for verb, text in every if len(text) < 15] == []


def test_status_without_a_running_platform_says_so_and_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELPLANE_RUN_DIR", str(tmp_path))
    result = runner.invoke(app, ["dev", "status"])
    assert result.exit_code == 1
    assert "not running" in result.output


def test_env_sh_leaves_the_mlflow_client_to_the_facade_and_names_the_server_for_tooling_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELPLANE_RUN_DIR", str(tmp_path))
    (tmp_path / "dev").mkdir()
    api, mlflow = "http://127.0.0.1:18000", "http://127.0.0.1:15000"
    me = ProcessRecord("facade", os.getpid(), sys.executable, str(tmp_path / "facade.log"))
    token = "mlflow-service-token-" + "x" * 24
    endpoints = {"api": api, "mlflow": mlflow, "mlflow-token": token}
    state = RunState(owner_pid=None, processes=[me], endpoints=endpoints)
    state.save(tmp_path / "dev" / "state.json")
    result = runner.invoke(app, ["dev", "status"])
    assert result.exit_code == 0, result.output
    assert f"{api}/api/v1/organizations/<slug>/mlflow" in result.output
    assert token not in result.output  # only in env.sh, which is the owner's only
    env_sh = tmp_path / "dev" / "env.sh"
    assert env_sh.stat().st_mode & 0o777 == 0o600
    sourced = subprocess.run(
        ["bash", "-c", f'source {env_sh}; echo "${{MLFLOW_TRACKING_URI-unset}}"; '
         'echo "$MODELPLANE_MLFLOW_DIRECT"; echo "${MLFLOW_TRACKING_TOKEN-unset}"; '
         'echo "$MODELPLANE_MLFLOW_DIRECT_TOKEN"'],
        env={"PATH": os.environ["PATH"]}, capture_output=True, text=True, check=True, timeout=30,
    )  # fmt: skip
    assert sourced.stdout.split() == ["unset", mlflow, "unset", token]
    text = env_sh.read_text()
    assert f"MLFLOW_TRACKING_URI={api}/api/v1/organizations/<slug>/mlflow" in text
    assert [line for line in text.splitlines() if mlflow in line] == [
        f"export MODELPLANE_MLFLOW_DIRECT={mlflow}"
    ]


def test_generate_check_passes_on_the_committed_files() -> None:
    result = runner.invoke(app, ["generate", "--check"])
    assert result.exit_code == 0, result.output


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.machine  # its own `dev up` claims the real node
def test_dev_up_then_demo_then_down_leaves_nothing_behind(short_tmp_path: Path) -> None:
    env = {**os.environ, "MODELPLANE_RUN_DIR": str(short_tmp_path)}
    modelplane = [sys.executable, "-m", "modelplane_cli"]
    try:
        up = subprocess.run(
            [*modelplane, "dev", "up", "--nodes", "1"],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert up.returncode == 0, up.stderr[-3000:]
        for needle in (
            "export KUBECONFIG=",
            "Kubernetes API",
            "PostgreSQL",
            "Redis",
            "S3 (MinIO)",
            "MLflow",
            "Prometheus",
            "Facade API",
            "First admin",
        ):
            assert needle in up.stdout
        status = subprocess.run(
            [*modelplane, "dev", "status"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert status.returncode == 0, status.stdout
        demo = subprocess.run(
            [*modelplane, "demo"], env=env, capture_output=True, text=True, timeout=480, check=False
        )
        assert demo.returncode == 0, demo.stdout + demo.stderr
        # Two runs logged with the mlflow client through the facade; the better one registered
        # from its run as version 1, versions 2–3 uploaded; state read back.
        assert "(seed 7): accuracy 0.583" in demo.stdout
        assert "/versions/from-run → 201: version 1 copied from run" in demo.stdout
        assert "→ 201: version 2," in demo.stdout
        assert "applied as ModelVersion fraud-detector-v1" in demo.stdout
        assert "→ state ready, reason Verified" in demo.stdout
        assert "fraud-detector-tampered: Stalled — Ready=False reason=DigestMismatch" in demo.stdout
        # Deployed, rolled out and called through the facade; its history kept there.
        assert "phase Ready, serving fraud-detector-v1" in demo.stdout
        assert "/deployments/fraud-detector/rollouts → 201" in demo.stdout
        assert "candidate fraud-detector-v2 25 %" in demo.stdout
        assert "fraud-detector-v2 promoted" in demo.stdout
        assert "/deployments/fraud-detector/infer" in demo.stdout
        assert "answered by version 1: " in demo.stdout
        assert "fraud-detector-v1 → fraud-detector-v2: promoted" in demo.stdout
        assert "fraud-detector-v2 → fraud-detector-v3: rolled_back (AnalysisFailed" in demo.stdout
        # Real pods on the real node: predictions equal onnxruntime's, and the broken third
        # version is rolled back by the operator from what it measured on the pods.
        assert "modelplane-node" in demo.stdout
        assert "equal to onnxruntime's answers" in demo.stdout
        assert "rolled back: AnalysisFailed" in demo.stdout
        assert "measured errorRate" in demo.stdout
        assert "FAILED" in demo.stdout
        # Serving metrics of the real pods, found by Prometheus's Kubernetes discovery and read
        # per version through the facade.
        metrics = demo.stdout.partition("Serving metrics per version")[2].partition("==>")[0]
        assert "/deployments/fraud-detector/metrics?range=15m →" in metrics
        assert re.search(r"fraud-detector-v2 \(stable\): [0-9.e+-]+ req/s now", metrics), metrics
        # The broken version's pods answered its share of the canary with 500s.
        broken = r"fraud-detector-v3 \((candidate|earlier)\): .*5xx [1-9][0-9.]* %"
        assert re.search(broken, metrics), metrics
        # Drift: the monitor's CronJob, run once on the real node in the operator image, read
        # the shifted traffic the serving pods logged, and the operator reported it.
        drift = demo.stdout.partition("Watch the inputs for drift")[2].partition("==>")[0]
        assert "/monitors → 201: DriftMonitor fraud-inputs" in drift, drift
        verdict = (
            r"DriftDetected=True \(DatasetDrift\): 50% of features drifted \(amount, distance_km\)"
        )
        assert re.search(verdict, drift), drift
        # Live quality: the same run scored the single-row requests against their outcomes.
        assert "/deployments/fraud-detector/feedback → 201 (300 labels)" in drift, drift
        quality = (
            r"QualityDegraded=False \(WithinThresholds\): accuracy 0\.[89]\d+ \(min 0\.8\),"
            r" auc [01]\.\d+ \(min 0\.75\) over [23]\d\d labelled predictions of"
            r" fraud-detector-v2"
        )
        assert re.search(quality, drift), drift
        assert "Demo complete." in demo.stdout
        again = subprocess.run(
            [*modelplane, "dev", "up"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert "already running" in again.stderr
    finally:
        state = RunState.load(short_tmp_path / "dev" / "state.json")
        down = subprocess.run(
            [*modelplane, "dev", "down"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert down.returncode == 0, down.stdout + down.stderr
    assert "the real node left nothing behind" in down.stdout
    assert node.host_leftovers() == []
    assert state is not None
    assert not any(pid_alive(p.pid) for p in state.processes)
    ports = [
        int(url.rsplit(":", 1)[1].split("/")[0])
        for key, url in state.endpoints.items()
        if key in {"postgres", "redis", "s3", "mlflow", "api", "kube-apiserver"}
    ]
    assert ports
    assert not any(port_open(port) for port in ports)
