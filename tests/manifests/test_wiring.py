"""The rendered workloads agree with the code they run: probes and scrape annotations point at
endpoints the components really serve, the environment is valid settings of each component, and
Services and NetworkPolicies name ports the pods declare."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import yaml
from starlette.routing import Route

from modelplane_api.health.router import router as health_router
from modelplane_api.security import generate_jwt_key
from modelplane_api.settings import Settings as ApiSettings
from modelplane_operator.settings import Settings as OperatorSettings
from tests.manifests.support import (
    BUILDS,
    MANIFESTS,
    PLATFORM_NAMESPACE,
    Manifest,
    env_of,
    find,
    ident,
    pod_templates,
    render,
    render_path,
)

FACADE_PATHS = {r.path for r in health_router.routes if isinstance(r, Route)}


@pytest.fixture(params=sorted(BUILDS))
def build(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


def _container(objects: list[Manifest], deployment: str) -> tuple[Manifest, Manifest]:
    template = find(objects, "Deployment", deployment)["spec"]["template"]
    return template, template["spec"]["containers"][0]


def _ports(container: Manifest) -> dict[str, int]:
    return {p["name"]: p["containerPort"] for p in container.get("ports", [])}


def _port(container: Manifest, port: int | str) -> int:
    return _ports(container)[port] if isinstance(port, str) else port


def _literal_env(container: Manifest, prefix: str) -> dict[str, str]:
    return {
        name: entry["value"]
        for name, entry in env_of(container).items()
        if name.startswith(prefix) and "value" in entry
    }


def test_facade_probes_and_metrics_are_routes_the_facade_serves(build: str) -> None:
    template, api = _container(render(build), "modelplane-api")
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert api[probe]["httpGet"]["path"] in FACADE_PATHS, probe
    assert api["readinessProbe"]["httpGet"]["path"] == "/ready"  # checks PostgreSQL and Redis
    annotations = template["metadata"]["annotations"]
    assert annotations["prometheus.io/path"] in FACADE_PATHS
    assert int(annotations["prometheus.io/port"]) == _ports(api)["http"]
    serve = api["command"]
    assert serve[serve.index("--port") + 1] == str(_ports(api)["http"])
    assert serve[serve.index("--host") + 1] == "0.0.0.0"


def test_operator_probes_and_metrics_are_what_its_settings_serve(
    build: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    template, operator = _container(render(build), "modelplane-operator")
    for name, value in _literal_env(operator, "MODELPLANE_OPERATOR_").items():
        monkeypatch.setenv(name, value)
    settings = OperatorSettings()  # the manifest's values are valid settings
    assert settings.liveness_endpoint is not None
    liveness = urlsplit(settings.liveness_endpoint)
    probe = operator["livenessProbe"]["httpGet"]
    assert (probe["path"], _port(operator, probe["port"])) == (liveness.path, liveness.port)
    assert liveness.hostname == "0.0.0.0"
    assert settings.metrics_host == "0.0.0.0"
    annotations = template["metadata"]["annotations"]
    assert int(annotations["prometheus.io/port"]) == settings.metrics_port
    assert _ports(operator)["metrics"] == settings.metrics_port
    assert _ports(operator)["webhook"] == settings.webhook_port
    assert settings.platform_namespace == PLATFORM_NAMESPACE


def test_facade_environment_is_valid_settings(build: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _, api = _container(render(build), "modelplane-api")
    for name, value in _literal_env(api, "MODELPLANE_API_").items():
        monkeypatch.setenv(name, value)
    # What the Secret holds in a real installation; shape only.
    monkeypatch.setenv("MODELPLANE_API_DATABASE_URL", "postgresql+psycopg://u:p@db/modelplane")
    monkeypatch.setenv("MODELPLANE_API_REDIS_URL", "redis://redis/0")
    monkeypatch.setenv("MODELPLANE_API_JWT_KEYS", f"[{generate_jwt_key('k1')}]")
    ApiSettings()
    secret_keys = {
        entry["valueFrom"]["secretKeyRef"]["name"]
        for entry in env_of(api).values()
        if "secretKeyRef" in entry.get("valueFrom", {})
    }
    assert secret_keys == {"modelplane-api"}
    for required in ("DATABASE_URL", "REDIS_URL", "JWT_KEYS"):
        assert "secretKeyRef" in env_of(api)[f"MODELPLANE_API_{required}"]["valueFrom"]


def test_services_target_ports_their_pods_declare(build: str) -> None:
    objects = render(build)
    workloads = list(pod_templates(objects))
    for service in (o for o in objects if o["kind"] == "Service" and o["spec"].get("selector")):
        selector = service["spec"]["selector"]
        pods = [
            t for _, t in workloads
            if selector.items() <= t["metadata"].get("labels", {}).items()
        ]  # fmt: skip
        assert pods, f"{ident(service)} selects no pod"
        declared = {
            key
            for t in pods
            for c in t["spec"]["containers"]
            for p in c.get("ports", [])
            for key in (p["name"], p["containerPort"])
        }
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in declared, f"{ident(service)} {port}"


def test_network_policies_admit_only_declared_ports_of_the_pods_they_select(build: str) -> None:
    objects = render(build)
    workloads = [
        t for w, t in pod_templates(objects) if w["metadata"]["namespace"] == PLATFORM_NAMESPACE
    ]
    for policy in (o for o in objects if o["kind"] == "NetworkPolicy"):
        selector = policy["spec"]["podSelector"]
        labels = selector.get("matchLabels", {})
        allowed = {
            value for expr in selector.get("matchExpressions", []) for value in expr["values"]
        }
        selected = [
            t for t in workloads
            if labels.items() <= t["metadata"]["labels"].items()
            and (not allowed or t["metadata"]["labels"].get("app.kubernetes.io/name") in allowed)
        ]  # fmt: skip
        declared = {
            p["containerPort"]
            for t in selected
            for c in t["spec"]["containers"]
            for p in c.get("ports", [])
        }
        for rule in policy["spec"].get("ingress", []):
            for port in rule.get("ports", []):
                assert port["port"] in declared, f"{ident(policy)} opens {port['port']}"


def test_metrics_are_admitted_from_monitoring_namespaces_only(build: str) -> None:
    policy = find(render(build), "NetworkPolicy", "modelplane-metrics")
    (rule,) = policy["spec"]["ingress"]
    namespaces = [p["namespaceSelector"] for p in rule["from"] if "namespaceSelector" in p]
    assert namespaces == [{"matchLabels": {"modelplane.io/monitoring": "true"}}]


def test_the_base_build_includes_every_part() -> None:
    base = MANIFESTS / "base"
    parts = {p.parent.name for p in base.glob("*/kustomization.yaml")}
    listed = set(yaml.safe_load((base / "kustomization.yaml").read_text())["resources"])
    assert parts == listed
    rendered = {ident(o) for o in render("base")}
    for part in parts:
        assert {ident(o) for o in render_path(base / part)} <= rendered, part


def test_org_network_policies_admit_the_platform_pods_the_build_runs(build: str) -> None:
    from modelplane_operator.builders.organization import MONITORING_LABEL, PLATFORM_PEERS

    objects = render(build)
    names = {
        t["metadata"]["labels"].get("app.kubernetes.io/name")
        for w, t in pod_templates(objects)
        if w["metadata"]["namespace"] == PLATFORM_NAMESPACE
    }
    assert set(PLATFORM_PEERS) <= names  # the facade's proxy and the operator, as labelled here
    platform_metrics = find(objects, "NetworkPolicy", "modelplane-metrics")["spec"]["ingress"][0]
    assert {"namespaceSelector": {"matchLabels": {MONITORING_LABEL: "true"}}} in (
        platform_metrics["from"]
    )  # one label lets a monitoring namespace scrape platform and org pods alike
