"""What each overlay promises: dev matches the local platform's code (images, placement, buckets,
scrape interval, in-cluster names of its servers, managed admission); prod runs two spread
replicas under PodDisruptionBudgets with cert-manager's certificate, configured by reference."""

from __future__ import annotations

import json
import re

import pytest

from modelplane_api.security import generate_jwt_key
from modelplane_api.settings import Settings as ApiSettings
from modelplane_cli.local.images import REGISTRY
from modelplane_cli.local.monitoring import SCRAPE_INTERVAL_S
from modelplane_cli.local.node import REAL_NODE_LABEL
from modelplane_cli.local.services import ARTIFACT_BUCKET, PAYLOAD_BUCKET, PLATFORM_NAMESPACE
from modelplane_operator.settings import Settings as OperatorSettings
from modelplane_webhooks.validation import image_allowed
from tests.manifests.support import (
    REPO_ROOT,
    Manifest,
    containers,
    env_of,
    find,
    ident,
    pod_templates,
    render,
)

DEPLOYMENTS = ("modelplane-operator", "modelplane-api")
IN_CLUSTER_URL = re.compile(r"^https?://([a-z0-9-]+)\.([a-z0-9-]+)\.svc:(\d+)")


def _env(objects: list[Manifest], deployment: str) -> dict[str, str]:
    container = find(objects, "Deployment", deployment)["spec"]["template"]["spec"]["containers"][0]
    return {name: e["value"] for name, e in env_of(container).items() if "value" in e}


# dev -------------------------------------------------------------------------------------------


def test_dev_runs_one_replica_of_each_from_images_built_on_this_machine() -> None:
    for workload, template in pod_templates(render("dev")):
        assert workload["spec"]["replicas"] == 1, ident(workload)
        assert template["spec"]["nodeSelector"] == {REAL_NODE_LABEL: "real"}, ident(workload)
        for c in containers(template["spec"]):
            assert c["image"].startswith(f"{REGISTRY}/"), c["image"]
            assert c["imagePullPolicy"] == "Never", c["name"]


def test_dev_serving_pods_and_drift_jobs_run_where_the_platform_puts_them() -> None:
    env = _env(render("dev"), "modelplane-operator")
    assert json.loads(env["MODELPLANE_OPERATOR_SERVING_NODE_SELECTOR"]) == {REAL_NODE_LABEL: "real"}
    allowlist = json.loads(env["MODELPLANE_OPERATOR_IMAGE_ALLOWLIST"])
    for image in ("DEFAULT_RUNTIME_IMAGE", "MONITOR_IMAGE"):
        ref = env[f"MODELPLANE_OPERATOR_{image}"]
        assert ref.startswith(f"{REGISTRY}/"), ref
        assert image_allowed(ref, allowlist), ref


def test_dev_uses_the_local_platforms_buckets_and_scrape_interval() -> None:
    objects = render("dev")
    api, operator = _env(objects, "modelplane-api"), _env(objects, "modelplane-operator")
    assert api["MODELPLANE_API_ARTIFACT_BUCKET"] == ARTIFACT_BUCKET
    assert api["MODELPLANE_API_PAYLOAD_BUCKET"] == PAYLOAD_BUCKET
    assert operator["MODELPLANE_OPERATOR_PAYLOAD_BUCKET"] == PAYLOAD_BUCKET
    interval = float(api["MODELPLANE_API_PROMETHEUS_SCRAPE_INTERVAL_SECONDS"])
    assert interval == SCRAPE_INTERVAL_S


def test_dev_addresses_are_selectorless_services_of_the_platform_namespace() -> None:
    objects = render("dev")
    urls = [
        value
        for name in DEPLOYMENTS
        for variable, value in _env(objects, name).items()
        if variable.endswith(("_URL", "_URI"))  # where it connects to, not where it listens
    ]
    assert urls
    for url in urls:
        match = IN_CLUSTER_URL.match(url)
        assert match, url
        service, namespace, port = match.groups()
        assert namespace == PLATFORM_NAMESPACE
        found = find(objects, "Service", service)
        assert "selector" not in found["spec"], f"{service} must be bound by EndpointSlice"
        assert int(port) in {p["port"] for p in found["spec"]["ports"]}, url


def test_dev_operator_manages_its_own_webhook_configurations() -> None:
    objects = render("dev")
    assert not [o for o in objects if o["kind"].endswith("WebhookConfiguration")]
    env = _env(objects, "modelplane-operator")
    assert env["MODELPLANE_OPERATOR_WEBHOOK_MODE"] == "managed"
    name = OperatorSettings(webhook_mode="managed").webhook_configuration_name
    role = find(objects, "ClusterRole", "modelplane-operator-managed-webhooks")
    named = {n for rule in role["rules"] for n in rule.get("resourceNames", [])}
    assert named == {name}
    verbs = {v for rule in role["rules"] for v in rule["verbs"]}
    assert {"create", "patch", "get"} <= verbs
    binding = find(objects, "ClusterRoleBinding", "modelplane-operator-managed-webhooks")
    assert binding["subjects"][0]["name"] == OperatorSettings().service_account
    deployment = find(objects, "Deployment", "modelplane-operator")
    mounts = deployment["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
    assert next(m for m in mounts if m["name"] == "tls").get("readOnly") is False


# prod ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", DEPLOYMENTS)
def test_prod_runs_two_spread_replicas_under_a_disruption_budget(name: str) -> None:
    objects = render("prod")
    deployment = find(objects, "Deployment", name)
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["replicas"] == 2
    budget = find(objects, "PodDisruptionBudget", name)
    assert budget["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert 0 < budget["spec"]["minAvailable"] < deployment["spec"]["replicas"]
    spread = deployment["spec"]["template"]["spec"]["topologySpreadConstraints"]
    keys = {c["topologyKey"] for c in spread}
    assert keys == {"kubernetes.io/hostname", "topology.kubernetes.io/zone"}
    for constraint in spread:
        assert constraint["labelSelector"]["matchLabels"].items() <= labels.items()


def test_prod_webhook_certificate_comes_from_cert_manager_and_is_injected() -> None:
    objects = render("prod")
    operator = find(objects, "Deployment", "modelplane-operator")["spec"]["template"]["spec"]
    tls = next(v for v in operator["volumes"] if v["name"] == "tls")["secret"]["secretName"]
    service = find(objects, "Service", "modelplane-webhook")["metadata"]
    for kind in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
        configuration = find(objects, kind, "modelplane.io")
        namespace, _, name = configuration["metadata"]["annotations"][
            "cert-manager.io/inject-ca-from"
        ].partition("/")
        certificate = find(objects, "Certificate", name)
        assert certificate["metadata"]["namespace"] == namespace
        assert certificate["spec"]["secretName"] == tls
        dns = f"{service['name']}.{service['namespace']}.svc"
        assert dns in certificate["spec"]["dnsNames"]
        for hook in configuration["webhooks"]:
            ref = hook["clientConfig"]["service"]
            assert (ref["name"], ref["namespace"]) == (service["name"], service["namespace"])
            assert "caBundle" not in hook["clientConfig"]
        issuer = find(objects, "Issuer", certificate["spec"]["issuerRef"]["name"])
        assert "ca" in issuer["spec"]  # signed by our CA, not self-signed itself


def _config_map_env(objects: list[Manifest], deployment: str) -> dict[str, str]:
    spec = find(objects, "Deployment", deployment)["spec"]["template"]["spec"]
    envs = spec["containers"][0]["envFrom"]
    (name,) = [e["configMapRef"]["name"] for e in envs if "configMapRef" in e]
    data: dict[str, str] = find(objects, "ConfigMap", name)["data"]
    return data


def test_prod_configuration_is_valid_settings_of_each_component(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    objects = render("prod")
    operator = _config_map_env(objects, "modelplane-operator")
    api = _config_map_env(objects, "modelplane-api")
    assert all(key.startswith("MODELPLANE_OPERATOR_") for key in operator)
    assert all(key.startswith("MODELPLANE_API_") for key in api)
    for key, value in {**operator, **api}.items():
        monkeypatch.setenv(key, value)
    assert OperatorSettings().payload_bucket == operator["MODELPLANE_OPERATOR_PAYLOAD_BUCKET"]
    # What the Secret modelplane-api holds in a real installation; shape only.
    monkeypatch.setenv("MODELPLANE_API_DATABASE_URL", "postgresql+psycopg://u:p@db/modelplane")
    monkeypatch.setenv("MODELPLANE_API_REDIS_URL", "redis://redis/0")
    monkeypatch.setenv("MODELPLANE_API_JWT_KEYS", f"[{generate_jwt_key('k1')}]")
    assert ApiSettings().payload_bucket == operator["MODELPLANE_OPERATOR_PAYLOAD_BUCKET"]


def test_prod_references_only_the_documented_secrets() -> None:
    referenced = set()
    for _, template in pod_templates(render("prod")):
        spec = template["spec"]
        for c in containers(spec):
            for entry in c.get("env", []):
                ref = entry.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    referenced.add(ref["name"])
            referenced |= {e["secretRef"]["name"] for e in c.get("envFrom", []) if "secretRef" in e}
        referenced |= {v["secret"]["secretName"] for v in spec.get("volumes", []) if "secret" in v}
    assert referenced == {
        "modelplane-api",
        "modelplane-operator-s3",
        "modelplane-operator-mlflow",
        "modelplane-webhook-tls",
    }


def test_operations_guide_documents_every_secret_key_prod_needs() -> None:
    guide = (REPO_ROOT / "docs" / "operations.md").read_text()
    section = guide[guide.index("## Install with kubectl") :]
    for _, template in pod_templates(render("prod")):
        for c in containers(template["spec"]):
            for entry in c.get("env", []):
                ref = entry.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    assert f"`{ref['name']}`" in section
                    assert f"`{ref['key']}`" in section
            for source in c.get("envFrom", []):
                if "secretRef" in source:
                    assert f"`{source['secretRef']['name']}`" in section
