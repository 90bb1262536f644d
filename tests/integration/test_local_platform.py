"""The local platform is real: each service does its actual job for a client."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis

from modelplane_cli.local.platform import S3Endpoint
from modelplane_cli.local.services import MLflow
from tests.conftest import Kubectl
from tests.operator.support import wait_established

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: %(ns)s}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      # On kwok's simulated nodes (tainted while the real node is up): the image does not exist.
      nodeSelector: {type: kwok}
      tolerations: [{key: modelplane.io/simulated, operator: Equal, value: "true",
                     effect: NoSchedule}]
      containers:
      - name: web
        image: registry.invalid/web:1
        readinessProbe: {httpGet: {path: /ready, port: 8080}}
"""

CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.modelplane.io}
spec:
  group: example.modelplane.io
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer, minimum: 1}
"""


def test_deployment_pods_become_running_and_ready_on_kwok_nodes(kubectl: Kubectl) -> None:
    ns = f"deploy-{uuid.uuid4().hex[:6]}"
    kubectl("create", "namespace", ns)
    kubectl("apply", "-f", "-", input=DEPLOYMENT % {"ns": ns})
    kubectl("rollout", "status", "deployment/web", "-n", ns, "--timeout=90s")
    pods = json.loads(kubectl("get", "pods", "-n", ns, "-o", "json").stdout)["items"]
    assert len(pods) == 3
    for pod in pods:
        assert pod["status"]["phase"] == "Running"
        assert pod["spec"]["nodeName"].startswith("kwok-node-")
        ready = {c["type"]: c["status"] for c in pod["status"]["conditions"]}
        assert ready["Ready"] == "True"


def test_custom_resource_definition_installs_and_validates_objects(kubectl: Kubectl) -> None:
    kubectl("apply", "-f", "-", input=CRD)
    wait_established(kubectl, "widgets.example.modelplane.io")
    widget = (
        "apiVersion: example.modelplane.io/v1\nkind: Widget\n"
        "metadata: {name: w1, namespace: default}\nspec: {size: %d}\n"
    )
    kubectl("apply", "-f", "-", input=widget % 3)
    got = json.loads(kubectl("get", "widget", "w1", "-n", "default", "-o", "json").stdout)
    assert got["spec"] == {"size": 3}
    rejected = kubectl("apply", "-f", "-", input=widget % 0, check=False)
    assert rejected.returncode != 0
    assert "spec.size" in rejected.stderr


def test_postgres_stores_and_returns_a_row(database_url: str) -> None:
    conninfo = database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS notes (id serial PRIMARY KEY, body text)")
        conn.execute("INSERT INTO notes (body) VALUES (%s)", ("hello",))
        row = conn.execute("SELECT body FROM notes ORDER BY id DESC LIMIT 1").fetchone()
    assert row == ("hello",)


def test_redis_sets_and_gets_a_key(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    client.set("modelplane:test", "value", ex=60)
    assert client.get("modelplane:test") == b"value"


def test_s3_puts_and_gets_an_object(s3: S3Endpoint, s3_client: Any) -> None:
    body = uuid.uuid4().bytes * 1000
    s3_client.put_object(Bucket=s3.bucket, Key="dir/object.bin", Body=body)
    got = s3_client.get_object(Bucket=s3.bucket, Key="dir/object.bin")["Body"].read()
    assert got == body
    listed = s3_client.list_objects_v2(Bucket=s3.bucket, Prefix="dir/")
    assert [o["Key"] for o in listed["Contents"]] == ["dir/object.bin"]


def test_mlflow_records_an_experiment_and_a_metric(
    mlflow_server: MLflow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", mlflow_server.token)
    client = MlflowClient(tracking_uri=mlflow_server.url)
    experiment_id = client.create_experiment(f"exp-{uuid.uuid4().hex[:8]}")
    run = client.create_run(experiment_id)
    client.log_metric(run.info.run_id, "accuracy", 0.93, step=1, timestamp=int(time.time() * 1000))
    (tmp_path / "notes.txt").write_text("artifact through the tracking server")
    client.log_artifact(run.info.run_id, str(tmp_path / "notes.txt"))
    client.set_terminated(run.info.run_id)
    fetched = client.get_run(run.info.run_id)
    assert fetched.data.metrics["accuracy"] == 0.93
    assert [a.path for a in client.list_artifacts(run.info.run_id)] == ["notes.txt"]
