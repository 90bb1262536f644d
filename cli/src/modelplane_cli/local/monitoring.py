"""The platform's Prometheus: built from its Go module (`binaries.PROMETHEUS`; Debian's package
has no Kubernetes discovery) and run with Modelplane's scrape configuration.

The configuration is `manifests/base/prometheus/prometheus.yml`, the one clusters get, with
three local changes: Kubernetes discovery reads the control plane through a kubeconfig of the
`modelplane-prometheus` ServiceAccount (pods get/list/watch, nothing else), the interval is
`SCRAPE_INTERVAL_S`, and a file-discovery job scrapes the platform's own processes (the facade,
the operator) as they start (`PrometheusServer.scrape`). It reaches serving pods on the real
node at their pod IPs through the node's bridge; pods on kwok nodes have no address to scrape
and show as down targets. Data stays bounded: 7 days or 1 GB, whichever comes first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from modelplane_cli.local.binaries import PROMETHEUS
from modelplane_cli.local.processes import Supervisor, free_port, http_ok, wait_until
from modelplane_cli.local.services import REPO_ROOT, service_account_kubeconfig

SCRAPE_CONFIG = REPO_ROOT / "manifests" / "base" / "prometheus" / "prometheus.yml"
SCRAPE_INTERVAL_S = 5
RETENTION_TIME, RETENTION_SIZE = "7d", "1GB"
PLATFORM_JOB = "modelplane-platform"


@dataclass(frozen=True)
class PrometheusServer:
    """A running Prometheus and where it discovers the platform's processes."""

    url: str
    targets_dir: Path
    scrape_interval_s: int

    def api_env(self) -> dict[str, str]:
        """The facade's settings for reading serving metrics from this server."""
        return {
            "MODELPLANE_API_PROMETHEUS_URL": self.url,
            "MODELPLANE_API_PROMETHEUS_SCRAPE_INTERVAL_SECONDS": str(self.scrape_interval_s),
        }

    def scrape(self, component: str, metrics_url: str) -> None:
        """Scrape a platform process's metrics (`http://127.0.0.1:<port>/metrics`), labelled
        `component`; Prometheus picks the file up within seconds."""
        parts = urlsplit(metrics_url)
        group = {
            "targets": [parts.netloc],
            "labels": {"component": component, "__metrics_path__": parts.path or "/metrics"},
        }
        target = self.targets_dir / f"{component}.json"
        partial = target.with_suffix(".tmp")
        partial.write_text(json.dumps([group]))
        partial.replace(target)  # never a half-written file for Prometheus to read


def scrape_configuration(kubeconfig: Path, targets_dir: Path) -> dict[str, Any]:
    """The shipped configuration, made to run on this machine."""
    config: dict[str, Any] = yaml.safe_load(SCRAPE_CONFIG.read_text())
    interval = f"{SCRAPE_INTERVAL_S}s"
    config["global"].update(scrape_interval=interval, evaluation_interval=interval)
    for job in config["scrape_configs"]:
        for discovery in job.get("kubernetes_sd_configs", []):
            discovery["kubeconfig_file"] = str(kubeconfig)
    config["scrape_configs"].append(
        {
            "job_name": PLATFORM_JOB,
            "file_sd_configs": [{"files": [str(targets_dir / "*.json")], "refresh_interval": "5s"}],
        }
    )
    return config


def start_prometheus(sup: Supervisor, admin_kubeconfig: Path) -> PrometheusServer:
    """Run Prometheus on loopback, discovering serving pods as its own ServiceAccount."""
    home = sup.run_dir / "prometheus"
    targets = home / "targets"
    targets.mkdir(parents=True, exist_ok=True)
    kubeconfig = service_account_kubeconfig(
        admin_kubeconfig, home / "kubeconfig", "prometheus", "modelplane-prometheus"
    )
    config = home / "prometheus.yml"
    config.write_text(yaml.safe_dump(scrape_configuration(kubeconfig, targets), sort_keys=False))
    port = free_port()
    log = sup.start(
        "prometheus",
        [
            str(PROMETHEUS.path("prometheus")),
            f"--config.file={config}",
            f"--storage.tsdb.path={home / 'data'}",
            f"--storage.tsdb.retention.time={RETENTION_TIME}",
            f"--storage.tsdb.retention.size={RETENTION_SIZE}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
    )
    url = f"http://127.0.0.1:{port}"
    wait_until(
        lambda: http_ok(f"{url}/-/ready"),
        timeout=60,
        what="Prometheus",
        log=log,
        alive=lambda: sup.alive("prometheus"),
    )
    sup.set_endpoint("prometheus", url)
    return PrometheusServer(url, targets, SCRAPE_INTERVAL_S)
