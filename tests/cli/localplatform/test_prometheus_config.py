"""The scrape configuration shipped in manifests/base/prometheus and the local platform's
variant of it, checked by the `promtool` of the platform's Prometheus build (Kubernetes
discovery included) and for the labels the facade's metrics queries rely on."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from modelplane_cli.local.binaries import PROMETHEUS, ensure_built
from modelplane_cli.local.monitoring import (
    PLATFORM_JOB,
    SCRAPE_CONFIG,
    PrometheusServer,
    scrape_configuration,
)


def _check(config: Path) -> None:
    ensure_built((PROMETHEUS,))
    result = subprocess.run(
        [str(PROMETHEUS.path("promtool")), "check", "config", "--syntax-only", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_shipped_configuration_is_valid_and_sets_the_queried_labels() -> None:
    _check(SCRAPE_CONFIG)
    config = yaml.safe_load(SCRAPE_CONFIG.read_text())
    (serving,) = config["scrape_configs"]
    set_labels = {rule.get("target_label") for rule in serving["relabel_configs"]}
    assert {"namespace", "deployment", "model_version", "pod"} <= set_labels


def test_the_local_variant_reads_the_cluster_as_its_service_account(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
    config = scrape_configuration(kubeconfig, tmp_path / "targets")
    assert config["global"]["scrape_interval"] == "5s"
    serving = next(job for job in config["scrape_configs"] if job.get("kubernetes_sd_configs"))
    assert all(d["kubeconfig_file"] == str(kubeconfig) for d in serving["kubernetes_sd_configs"])
    platform = next(job for job in config["scrape_configs"] if job["job_name"] == PLATFORM_JOB)
    assert platform["file_sd_configs"][0]["files"] == [str(tmp_path / "targets" / "*.json")]
    written = tmp_path / "prometheus.yml"
    written.write_text(yaml.safe_dump(config))
    _check(written)


def test_platform_processes_are_added_as_file_targets(tmp_path: Path) -> None:
    server = PrometheusServer("http://127.0.0.1:9", tmp_path, 5)
    server.scrape("operator", "http://127.0.0.1:8123/metrics")
    written = yaml.safe_load((tmp_path / "operator.json").read_text())
    assert written == [
        {
            "targets": ["127.0.0.1:8123"],
            "labels": {"component": "operator", "__metrics_path__": "/metrics"},
        }
    ]
    assert server.api_env()["MODELPLANE_API_PROMETHEUS_URL"] == "http://127.0.0.1:9"
