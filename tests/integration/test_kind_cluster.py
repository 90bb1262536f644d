"""The same Deployment check on a kind cluster with real kubelets, where Docker is available.

pytest-kind creates the cluster in Docker containers; on machines without a Docker engine (the
project's default machines) these tests are skipped with the reason, and the kwok-based
control-plane tests cover the same API paths.
"""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = [pytest.mark.docker, pytest.mark.integration]

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: echo, namespace: default}
spec:
  replicas: 1
  selector: {matchLabels: {app: echo}}
  template:
    metadata: {labels: {app: echo}}
    spec:
      containers: [{name: echo, image: registry.k8s.io/pause:3.10}]
"""


def test_deployment_becomes_available_on_a_kind_cluster(kind_cluster: Any, tmp_path: Any) -> None:
    manifest = tmp_path / "deployment.yaml"
    manifest.write_text(DEPLOYMENT)
    kind_cluster.kubectl("apply", "-f", str(manifest))
    kind_cluster.kubectl("rollout", "status", "deployment/echo", "--timeout=180s")
    ready = kind_cluster.kubectl(
        "get", "deployment", "echo", "-o", "jsonpath={.status.readyReplicas}"
    )
    assert ready.strip() == "1"
