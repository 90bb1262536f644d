"""manifests/mlflow-access: the NetworkPolicy that lets only Modelplane reach the installation's
MLflow. Judged against the pods Modelplane really runs: the facade and operator pod templates
the prod build renders, the serving and drift-job pods the operator's builders make, the
namespaces it labels; and against pods that only pretend to be one of them."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import pytest

from modelplane_crds.organization import OrganizationSpec
from modelplane_operator.builders.drift_monitor import job_labels
from modelplane_operator.builders.model_deployment import pod_labels
from modelplane_operator.builders.organization import build_namespace
from tests.conftest import Kubectl
from tests.manifests.support import MANIFESTS, PLATFORM_NAMESPACE, find, render, render_path

Labels = dict[str, str]
PROMETHEUS = "modelplane-prometheus"
"""The label of a Prometheus run in modelplane-system (manifests/base/network)."""


def _matches(selector: dict[str, Any], labels: Labels) -> bool:
    """A Kubernetes label selector (matchLabels, matchExpressions) against labels."""
    if not selector.get("matchLabels", {}).items() <= labels.items():
        return False
    for expr in selector.get("matchExpressions", []):
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def _admits(policy: dict[str, Any], namespace: Labels, pod: Labels, port: int) -> bool:
    """Whether the policy admits a pod of a namespace (both by labels) to `port` of the pods it
    selects (a peer with both selectors needs both to match)."""
    for rule in policy["spec"].get("ingress", []):
        if not any(p.get("port") == port for p in rule.get("ports", [])):
            continue
        for peer in rule.get("from", []):
            if "ipBlock" in peer:
                return True  # addresses, not pods: this policy must have none
            ns_ok = "namespaceSelector" not in peer or _matches(
                peer["namespaceSelector"], namespace
            )
            pod_ok = "podSelector" not in peer or _matches(peer["podSelector"], pod)
            if ns_ok and pod_ok:
                return True
    return False


def _namespace(name: str, labels: Labels | None = None) -> Labels:
    """A namespace's labels as the API server keeps them (it adds its name)."""
    return {**(labels or {}), "kubernetes.io/metadata.name": name}


@pytest.fixture(scope="module")
def policy() -> dict[str, Any]:
    return find(
        render_path(MANIFESTS / "mlflow-access"), "NetworkPolicy", "mlflow-from-modelplane-only"
    )


@pytest.fixture(scope="module")
def mlflow_address() -> tuple[str, int]:
    """(namespace, port) of the MLflow prod's facade and operator are configured to call."""
    prod = render("prod")
    urls = {
        value
        for config in ("modelplane-api-config", "modelplane-operator-config")
        for key, value in next(
            o for o in prod if o["kind"] == "ConfigMap" and o["metadata"]["name"].startswith(config)
        )["data"].items()
        if key.endswith("MLFLOW_TRACKING_URI")
    }
    (url,) = urls
    host = urlsplit(url)
    assert host.hostname is not None
    assert host.port is not None
    service, namespace, *_ = host.hostname.split(".")
    assert service == "mlflow"
    return namespace, host.port


def _platform_pod(name: str) -> tuple[Labels, Labels]:
    """(namespace labels, pod labels) of a pod of the prod build in modelplane-system."""
    prod = render("prod")
    namespace = find(prod, "Namespace", PLATFORM_NAMESPACE)["metadata"]["labels"]
    template = find(prod, "Deployment", name)["spec"]["template"]
    return _namespace(PLATFORM_NAMESPACE, namespace), template["metadata"]["labels"]


def _org_namespace(slug: str) -> Labels:
    meta = build_namespace(slug, OrganizationSpec(display_name=slug, slug=slug))["metadata"]
    return _namespace(meta["name"], meta["labels"])


def test_the_policy_guards_the_mlflow_prod_calls(
    policy: dict[str, Any], mlflow_address: tuple[str, int]
) -> None:
    namespace, port = mlflow_address
    assert policy["metadata"]["namespace"] == namespace
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    assert [p["port"] for r in policy["spec"]["ingress"] for p in r["ports"]] == [port]


@pytest.mark.parametrize("deployment", ["modelplane-api", "modelplane-operator"])
def test_the_facade_and_the_operator_reach_mlflow(
    policy: dict[str, Any], mlflow_address: tuple[str, int], deployment: str
) -> None:
    namespace, pod = _platform_pod(deployment)
    assert _admits(policy, namespace, pod, mlflow_address[1])


def test_serving_pods_the_operator_starts_reach_mlflow_for_models_uris(
    policy: dict[str, Any], mlflow_address: tuple[str, int]
) -> None:
    pod = pod_labels("fraud-detector", "fraud-detector-v1")
    assert _admits(policy, _org_namespace("acme"), pod, mlflow_address[1])


def test_nothing_else_reaches_mlflow(
    policy: dict[str, Any], mlflow_address: tuple[str, int]
) -> None:
    port = mlflow_address[1]
    platform, facade = _platform_pod("modelplane-api")
    org = _org_namespace("acme")
    serving = pod_labels("fraud-detector", "fraud-detector-v1")
    refused = {
        "Prometheus beside the facade": (platform, {"app.kubernetes.io/name": PROMETHEUS}),
        "a drift job of an organization": (org, job_labels("inputs")),
        "a pod labelled as the facade in an organization": (org, facade),
        "a pod labelled as the facade elsewhere": (_namespace("default"), facade),
        "a serving-labelled pod outside organizations": (_namespace("default"), serving),
    }
    admitted = [why for why, (ns, pod) in refused.items() if _admits(policy, ns, pod, port)]
    assert admitted == []
    assert not _admits(policy, platform, facade, port + 1)


def test_the_api_server_accepts_the_policy(policy: dict[str, Any], kubectl: Kubectl) -> None:
    namespace = policy["metadata"]["namespace"]
    kubectl("create", "namespace", namespace, check=False)  # a dry run cannot create it
    result = kubectl("apply", "--dry-run=server", "-f", "-", input=json.dumps(policy), check=False)
    assert result.returncode == 0, result.stderr
    assert "(server dry run)" in result.stdout
