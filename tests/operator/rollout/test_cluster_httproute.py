"""HTTPRoute traffic mode on the real control plane: with the Gateway API's own HTTPRoute CRD
installed, the operator detects it, splits the canary's traffic by HTTPRoute weights (accepted
by the real CRD schema) with stable kept at full size; after promotion the route sends
everything to the new stable.

The CRD comes from the Gateway API's Go module (`sigs.k8s.io/gateway-api`, the release pinned
below), fetched through the Go module proxy like kwok's stage files. It is installed for this
module only and removed afterwards, so that the other rollout tests still see a cluster without
the Gateway API (replica-ratio mode).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.operator.rollout.cluster_support import (
    model_deployment,
    model_version,
    ready,
    serving_operator,
    status_of,
)
from tests.operator.support import Kubectl, get_json, install_crds, wait_established, wait_for

NAMESPACE = "mp-rollout-httproute"
GATEWAY_API_VERSION = "v1.4.0"
HTTPROUTE_CRD = "httproutes.gateway.networking.k8s.io"


def gateway_api_httproute_crd(work: Path) -> Path:
    """The standard-channel HTTPRoute CRD of the pinned Gateway API release."""
    result = subprocess.run(
        ["go", "mod", "download", "-json", f"sigs.k8s.io/gateway-api@{GATEWAY_API_VERSION}"],
        capture_output=True,
        text=True,
        cwd=work,
        env={**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod"},
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    module = Path(json.loads(result.stdout)["Dir"])
    return module / "config" / "crd" / "standard" / "gateway.networking.k8s.io_httproutes.yaml"


@pytest.fixture(scope="module")
def cluster(
    kubectl: Kubectl, s3: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Kubectl]:
    install_crds(kubectl)
    crd = gateway_api_httproute_crd(tmp_path_factory.mktemp("gateway-api"))
    kubectl("apply", "--server-side", "-f", str(crd))
    wait_established(kubectl, HTTPROUTE_CRD)
    kubectl("create", "namespace", NAMESPACE, check=False)
    for seed, name in enumerate(("fraud-1", "fraud-2")):
        kubectl("apply", "-f", "-", input=model_version(name, NAMESPACE, s3, seed))
    try:
        yield kubectl
    finally:
        kubectl("delete", "crd", HTTPROUTE_CRD, "--wait=true", "--timeout=60s", check=False)


@pytest.fixture(scope="module")
def operator(cluster: Kubectl, kubeconfig: Path, s3: Any) -> Iterator[Kubectl]:
    versions = ("fraud-1", "fraud-2")
    with serving_operator(cluster, kubeconfig, s3, NAMESPACE, versions) as kubectl:
        yield kubectl


def route_weights(kubectl: Kubectl, name: str) -> dict[str, int]:
    route = get_json(kubectl, "httproute", name, "-n", NAMESPACE)
    if route is None:
        return {}
    return {b["name"]: b.get("weight", 1) for b in route["spec"]["rules"][0]["backendRefs"]}


def test_a_canary_is_split_by_httproute_weights_and_promoted(operator: Kubectl) -> None:
    spec = {
        "stable": {"modelVersionRef": {"name": "fraud-1"}},
        "candidate": {"modelVersionRef": {"name": "fraud-2"}},
        "scaling": {"replicas": 2},
        "strategy": {"canary": {"steps": [{"setWeight": 30}, {"pause": {}}]}},
    }
    operator("apply", "-f", "-", input=model_deployment("routed", NAMESPACE, spec))
    status = wait_for(
        lambda: (s := status_of(operator, "routed", NAMESPACE)).get("currentStep") == 1 and s,
        timeout=180,
        what="paused at step 1",
    )
    assert status["trafficMode"] == "HTTPRoute"
    assert status["traffic"]["candidate"] == 30
    assert route_weights(operator, "routed") == {"routed-fraud-1": 70, "routed-fraud-2": 30}
    route = get_json(operator, "httproute", "routed", "-n", NAMESPACE)
    assert route["spec"]["parentRefs"] == [
        {"group": "", "kind": "Service", "name": "routed", "port": 80}
    ]
    owner = route["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"]) == ("ModelDeployment", "routed")

    # Weights live in the route: stable keeps its full size, the candidate has the pods its
    # 30 % share needs (one of two).
    def replicas(variant: str) -> int:
        return int(get_json(operator, "deployment", variant, "-n", NAMESPACE)["spec"]["replicas"])

    assert (replicas("routed-fraud-1"), replicas("routed-fraud-2")) == (2, 1)

    operator("annotate", "mdep", "routed", "-n", NAMESPACE, "modelplane.io/promote=true")
    wait_for(
        lambda: (
            (s := status_of(operator, "routed", NAMESPACE)).get("stableVersion") == "fraud-2"
            and ready(s)
        ),
        timeout=180,
        what="fraud-2 promoted",
    )
    wait_for(
        lambda: route_weights(operator, "routed") == {"routed-fraud-2": 100},
        timeout=60,
        what="the route sends everything to the new stable",
    )
