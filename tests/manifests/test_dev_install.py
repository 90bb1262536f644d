"""What `modelplane dev install` adds to the dev overlay fits it: every image it names is one the
platform builds, each selector-less Service gets an EndpointSlice on its own port name, and the
Secrets hold every key the Deployments read. Offline: the overlay is rendered, nothing applied."""

from __future__ import annotations

import pytest
import yaml

from modelplane_cli.local.images import REGISTRY
from modelplane_cli.local.install import (
    SERVICES,
    api_secret,
    endpoint_slice,
    operator_mlflow_secret,
    operator_secret,
    rendered_with_images,
    run_ports,
)
from modelplane_cli.local.processes import PlatformError
from modelplane_cli.local.services import PLATFORM_NAMESPACE
from tests.manifests.support import Manifest, env_of, find, render_text

REFS = {
    "operator": f"{REGISTRY}/operator:0123456789ab",
    "api": f"{REGISTRY}/api:ba9876543210",
    "serving-runtime": f"{REGISTRY}/serving-runtime:aaaaaaaaaaaa",
}
ENDPOINTS = {
    "postgres": "postgresql+psycopg://modelplane@127.0.0.1:40001/postgres",
    "redis": "redis://127.0.0.1:40002/0",
    "s3": "http://127.0.0.1:40003",
    "mlflow": "http://127.0.0.1:40004",
    "prometheus": "http://127.0.0.1:40005",
    "s3-access-key": "access",
    "s3-secret-key": "secret",
    "mlflow-token": "service-token",
    "mlflow-reader-token": "reader-token",
}


def _objects() -> list[Manifest]:
    return [d for d in yaml.safe_load_all(rendered_with_images(render_text("dev"), REFS)) if d]


def test_every_dev_image_reference_becomes_the_content_tag_built_here() -> None:
    text = rendered_with_images(render_text("dev"), REFS)
    assert ":dev" not in text
    operator = find(_objects(), "Deployment", "modelplane-operator")
    container = operator["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == REFS["operator"]
    env = {k: e.get("value") for k, e in env_of(container).items()}
    assert env["MODELPLANE_OPERATOR_DEFAULT_RUNTIME_IMAGE"] == REFS["serving-runtime"]
    assert env["MODELPLANE_OPERATOR_MONITOR_IMAGE"] == REFS["operator"]
    facade = find(_objects(), "Deployment", "modelplane-api")
    assert facade["spec"]["template"]["spec"]["containers"][0]["image"] == REFS["api"]


def test_an_image_the_platform_does_not_build_is_refused() -> None:
    with pytest.raises(PlatformError, match="not built here"):
        rendered_with_images(f"image: {REGISTRY}/grafana:dev\n", REFS)


def test_each_selector_less_service_gets_a_slice_on_its_port_name_and_the_runs_port() -> None:
    ports = run_ports(ENDPOINTS)
    services = {
        o["metadata"]["name"]: o
        for o in _objects()
        if o["kind"] == "Service" and "selector" not in o["spec"]
    }
    assert set(services) == set(SERVICES)
    for name, service in services.items():
        port_name = SERVICES[name][1]
        assert [p["name"] for p in service["spec"]["ports"]] == [port_name]
        slice_ = endpoint_slice(name, port_name, ports[name], "10.245.0.1")
        assert slice_["metadata"]["labels"]["kubernetes.io/service-name"] == name
        assert slice_["metadata"]["namespace"] == PLATFORM_NAMESPACE
        assert slice_["ports"] == [{"name": port_name, "port": ports[name], "protocol": "TCP"}]
    assert ports == {"postgres": 40001, "redis": 40002, "s3": 40003, "mlflow": 40004,
                     "prometheus": 40005}  # fmt: skip


def test_a_run_without_an_endpoint_is_refused() -> None:
    with pytest.raises(PlatformError, match="no mlflow endpoint"):
        run_ports({k: v for k, v in ENDPOINTS.items() if k != "mlflow"})


def test_the_secrets_hold_every_key_the_deployments_read() -> None:
    objects = _objects()
    made = (api_secret(ENDPOINTS, "[]"), operator_secret(ENDPOINTS))
    secrets = {s["metadata"]["name"]: s for s in (*made, operator_mlflow_secret(ENDPOINTS)) if s}
    facade = find(objects, "Deployment", "modelplane-api")["spec"]["template"]["spec"]
    for entry in facade["containers"][0]["env"]:
        ref = entry.get("valueFrom", {}).get("secretKeyRef")
        if ref is not None:
            assert ref["key"] in secrets[ref["name"]]["stringData"], ref
    operator = find(objects, "Deployment", "modelplane-operator")["spec"]["template"]["spec"]
    for source in operator["containers"][0]["envFrom"]:
        assert source["secretRef"]["name"] in secrets
    data = secrets["modelplane-api"]["stringData"]
    assert data["database-url"] == (
        f"postgresql+psycopg://modelplane@postgres.{PLATFORM_NAMESPACE}.svc:5432/modelplane"
    )
    assert data["redis-url"] == f"redis://redis.{PLATFORM_NAMESPACE}.svc:6379/0"
