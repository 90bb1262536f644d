"""The pure builders of a ModelDeployment's children."""

from __future__ import annotations

import json
from typing import Any

import pytest

from modelplane_crds.serving import ServingLimits
from modelplane_operator.builders.model_deployment import (
    RUNTIME_GRACEFUL_TIMEOUT_S,
    RuntimeConfig,
    Variant,
    base_labels,
    build_deployment,
    build_hpa,
    build_http_route,
    build_pdb,
    build_shadow_service,
    build_umbrella_service,
    build_variant_service,
    endpoint_url,
    pod_labels,
    ratio_weight,
    replica_split,
    replicas_for_share,
    short_name,
    variant_name,
)
from modelplane_runtime.settings import RuntimeSettings
from tests.operator.factories import OWNER, make_spec, make_version

CONFIG = RuntimeConfig(image="ghcr.io/modelplane/serving-runtime:0.1.0", payload_bucket="logs")


def _variant(version: str = "v1", replicas: int | None = 2, **kw: Any) -> Variant:
    return Variant(version, make_version(version.removeprefix("v")), "stable", replicas, **kw)


def _env(deployment: dict[str, Any]) -> dict[str, str]:
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e["value"] for e in container["env"]}


def test_deployment_env_is_accepted_by_the_runtime_settings_as_the_pod_would_read_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spec = make_spec(
        runtime={"intraOpThreads": 3, "batching": {"maxBatchSize": 16, "maxLatencyMs": 2}},
        payloadLogging={"sampleRate": 0.25},
    )
    env = _env(build_deployment(OWNER, _variant(), spec, CONFIG))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = RuntimeSettings()
    assert settings.model_uri == "s3://models/fraud/1.onnx"
    assert settings.model_sha256 == "a" * 64
    assert [t.name for t in settings.signature.inputs] == ["x"]
    assert settings.feature_schema is not None
    assert [f.name for f in settings.feature_schema] == ["amount", "country"]
    assert settings.intra_op_threads == 3
    assert settings.max_batch_size == 16
    assert settings.payload_sample_rate == 0.25
    assert settings.payload_bucket == "logs"
    assert settings.payload_variant == "v1"
    assert settings.port == 8080


def test_threads_default_to_the_cpu_limit_in_whole_cores() -> None:
    spec = make_spec(resources={"limits": {"cpu": "2500m"}})
    assert (
        _env(build_deployment(OWNER, _variant(), spec, CONFIG))[
            "MODELPLANE_RUNTIME_INTRA_OP_THREADS"
        ]
        == "2"
    )


def test_deployment_is_hardened_probed_spread_and_owned() -> None:
    spec = make_spec(resources={"requests": {"cpu": "500m", "memory": "512Mi"}})
    body = build_deployment(OWNER, _variant(), spec, CONFIG)
    pod = body["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert "/var/cache/modelplane" in mounts
    assert _env(body)["MODELPLANE_RUNTIME_CACHE_DIR"] == "/var/cache/modelplane"
    assert {v["name"] for v in pod["volumes"]} == {"model-cache", "tmp"}
    assert pod["terminationGracePeriodSeconds"] > RUNTIME_GRACEFUL_TIMEOUT_S
    assert {c["topologyKey"] for c in pod["topologySpreadConstraints"]} == {
        "topology.kubernetes.io/zone",
        "kubernetes.io/hostname",
    }
    assert container["resources"] == {"requests": {"cpu": "500m", "memory": "512Mi"}}
    owner = body["metadata"]["ownerReferences"][0]
    assert owner["uid"] == "uid-1"
    assert owner["controller"] is True
    assert owner["blockOwnerDeletion"] is True
    assert "generateName" not in body["metadata"]
    assert body["spec"]["replicas"] == 2


def test_pod_template_does_not_depend_on_the_role_so_promotion_restarts_nothing() -> None:
    spec = make_spec()
    stable = build_deployment(OWNER, _variant(), spec, CONFIG)
    candidate = build_deployment(
        OWNER, Variant("v1", make_version("1"), "candidate", 2), spec, CONFIG
    )
    assert stable["spec"]["template"] == candidate["spec"]["template"]
    assert stable["metadata"]["labels"]["modelplane.io/variant"] == "stable"
    assert candidate["metadata"]["labels"]["modelplane.io/variant"] == "candidate"
    labels = stable["spec"]["template"]["metadata"]["labels"]
    assert labels["modelplane.io/deployment"] == "fraud"
    assert labels["modelplane.io/model-version"] == "v1"
    assert stable["spec"]["selector"]["matchLabels"] == labels


def test_deployment_leaves_replicas_to_the_hpa_when_autoscaled() -> None:
    spec = make_spec(scaling={"minReplicas": 2, "maxReplicas": 6})
    variant = _variant(replicas=None, hpa_min=2, hpa_max=6)
    assert "replicas" not in build_deployment(OWNER, variant, spec, CONFIG)["spec"]
    hpa = build_hpa(OWNER, variant, spec)
    assert hpa is not None
    assert hpa["spec"]["scaleTargetRef"]["name"] == "fraud-v1"
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 6)
    assert hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 70
    assert build_hpa(OWNER, _variant(), make_spec()) is None


def test_runtime_image_from_the_spec_overrides_the_default() -> None:
    spec = make_spec(runtime={"image": "ghcr.io/modelplane/serving-runtime:custom"})
    body = build_deployment(OWNER, _variant(), spec, CONFIG)
    assert body["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":custom")


def test_long_names_are_shortened_deterministically_to_a_dns_label() -> None:
    long_version = "fraud-detector-" + "x" * 80
    name = variant_name("fraud-detector-production", long_version)
    assert len(name) <= 63
    assert name == variant_name("fraud-detector-production", long_version)
    assert name != variant_name("fraud-detector-production", long_version + "y")
    assert short_name("a", "b") == "a-b"


def test_variant_service_selects_only_its_version_and_umbrella_follows_the_mode() -> None:
    service = build_variant_service(OWNER, _variant("v2"))
    assert service["metadata"]["name"] == "fraud-v2"
    assert service["spec"]["selector"]["modelplane.io/model-version"] == "v2"
    ratio = build_umbrella_service(OWNER, "ReplicaRatio", "v1")
    assert "modelplane.io/model-version" not in ratio["spec"]["selector"]
    assert ratio["spec"]["selector"]["modelplane.io/deployment"] == "fraud"
    routed = build_umbrella_service(OWNER, "HTTPRoute", "v1")
    assert routed["spec"]["selector"]["modelplane.io/model-version"] == "v1"
    assert routed["metadata"]["labels"]["modelplane.io/traffic-mode"] == "HTTPRoute"
    assert endpoint_url("fraud", "mp-acme") == "http://fraud.mp-acme.svc.cluster.local"


def test_pdb_covers_every_serving_pod_without_blocking_drains() -> None:
    pdb = build_pdb(OWNER)
    assert pdb["spec"]["maxUnavailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"]["modelplane.io/deployment"] == "fraud"
    assert "minAvailable" not in pdb["spec"]


def test_http_route_carries_the_weights_and_attaches_to_the_gateway_or_the_service() -> None:
    route = build_http_route(OWNER, [("v1", 90), ("v2", 10)], CONFIG)
    refs = route["spec"]["rules"][0]["backendRefs"]
    assert [(r["name"], r["weight"]) for r in refs] == [("fraud-v1", 90), ("fraud-v2", 10)]
    assert route["spec"]["parentRefs"] == [
        {"group": "", "kind": "Service", "name": "fraud", "port": 80}
    ]
    gateway = RuntimeConfig(image="i", gateway_name="public", gateway_namespace="infra")
    parent = build_http_route(OWNER, [("v1", 100)], gateway)["spec"]["parentRefs"][0]
    assert parent == {
        "group": "gateway.networking.k8s.io",
        "kind": "Gateway",
        "name": "public",
        "namespace": "infra",
    }


@pytest.mark.parametrize(
    ("total", "weight", "expected"),
    [
        (10, 10, (9, 1)),
        (10, 25, (8, 2)),  # 2/10 and 3/10 are equally close: the stable side wins the tie
        (10, 50, (5, 5)),
        (4, 10, (3, 1)),  # never 0 for a variant with weight > 0
        (1, 10, (1, 1)),  # too few pods: the total grows to 2
        (3, 0, (3, 0)),
        (3, 100, (0, 3)),
        (5, 99, (1, 4)),
    ],
)
def test_replica_split_is_the_closest_ratio_without_starving_a_variant(
    total: int, weight: int, expected: tuple[int, int]
) -> None:
    assert replica_split(total, weight) == expected


def test_replica_split_never_starves_a_weighted_variant_and_is_the_closest_ratio() -> None:
    for total in range(1, 30):
        for weight in range(0, 101):
            stable, candidate = replica_split(total, weight)
            pods = stable + candidate
            assert candidate >= 1 if weight > 0 else candidate == 0
            assert stable >= 1 if weight < 100 else stable == 0
            assert pods == max(total, 2) or weight in (0, 100)
            error = abs(candidate / pods - weight / 100)
            lowest = 1 if weight > 0 else 0
            highest = pods - 1 if weight < 100 else pods
            for other in range(lowest, highest + 1):
                assert error <= abs(other / pods - weight / 100) + 1e-12


def test_replica_split_of_zero_pods_stays_zero() -> None:
    assert replica_split(0, 30) == (0, 0)


def test_replica_split_rejects_weights_outside_0_to_100() -> None:
    with pytest.raises(ValueError, match="weight"):
        replica_split(3, 101)


def test_ratio_and_share_helpers() -> None:
    assert ratio_weight(3, 1) == 25
    assert ratio_weight(0, 0) == 0
    assert replicas_for_share(4, 10) == 1
    assert replicas_for_share(4, 60) == 3
    assert replicas_for_share(4, 0) == 0


def test_signature_env_is_compact_json_of_the_declared_tensors() -> None:
    env = _env(build_deployment(OWNER, _variant(), make_spec(), CONFIG))
    signature = json.loads(env["MODELPLANE_RUNTIME_SIGNATURE"])
    assert signature["outputs"] == [{"name": "y", "datatype": "FP32", "shape": [-1, 1]}]


def test_shadow_settings_reach_every_variant_and_the_shadow_service_selects_the_candidate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spec = make_spec(strategy={"shadow": {"percent": 30, "tolerance": 0.001}})
    env = _env(build_deployment(OWNER, _variant(), spec, CONFIG))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = RuntimeSettings()
    assert (
        settings.shadow_url
        == f"http://fraud-shadow.{OWNER['metadata']['namespace']}.svc.cluster.local"
    )
    assert (settings.shadow_percent, settings.shadow_tolerance) == (30, 0.001)
    assert "MODELPLANE_RUNTIME_SHADOW_URL" not in _env(
        build_deployment(OWNER, _variant(), make_spec(), CONFIG)
    )
    service = build_shadow_service(OWNER, "v2")
    assert service["metadata"]["name"] == "fraud-shadow"
    assert service["spec"]["selector"] == pod_labels("fraud", "v2")
    assert "filters" not in build_http_route(OWNER, [("v1", 100)], CONFIG)["spec"]["rules"][0]


def test_the_endpoint_leaves_out_a_candidate_that_only_answers_shadow_copies() -> None:
    both = build_umbrella_service(OWNER, "ReplicaRatio", "v1")
    stable = build_umbrella_service(OWNER, "ReplicaRatio", "v1", stable_only=True)
    assert both["spec"]["selector"] == base_labels("fraud")
    assert stable["spec"]["selector"] == pod_labels("fraud", "v1")


def test_the_operators_onnx_limits_and_mlflow_server_reach_the_pods_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = RuntimeConfig(
        image=CONFIG.image,
        mlflow_tracking_uri="http://10.245.0.1:5000",
        limits=ServingLimits(max_nodes=1234, allowed_domains=("", "ai.onnx")),
    )
    version = make_version("1", artifact={"uri": "models:/fraud/1", "sha256": "b" * 64})
    variant = Variant("v1", version, "stable", 1)
    env = _env(build_deployment(OWNER, variant, make_spec(), config))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = RuntimeSettings()
    assert settings.max_nodes == 1234
    assert settings.allowed_domains == ("", "ai.onnx")
    assert settings.mlflow_tracking_uri == "http://10.245.0.1:5000"
    # An S3 artifact needs no MLflow server.
    s3_env = _env(build_deployment(OWNER, _variant(), make_spec(), config))
    assert "MODELPLANE_RUNTIME_MLFLOW_TRACKING_URI" not in s3_env


def test_only_pods_of_models_uri_versions_read_the_mlflow_token_secret() -> None:
    version = make_version("1", artifact={"uri": "models:/fraud/1", "sha256": "b" * 64})
    mlflow = build_deployment(OWNER, Variant("v1", version, "stable", 1), make_spec(), CONFIG)
    s3 = build_deployment(OWNER, _variant(), make_spec(), CONFIG)

    def secrets(body: dict[str, Any]) -> list[str]:
        container = body["spec"]["template"]["spec"]["containers"][0]
        assert all(ref["secretRef"]["optional"] for ref in container["envFrom"])
        return [ref["secretRef"]["name"] for ref in container["envFrom"]]

    assert secrets(mlflow) == ["modelplane-s3", "modelplane-mlflow"]
    assert secrets(s3) == ["modelplane-s3"]


def test_placement_settings_reach_the_pod_and_default_to_none() -> None:
    kwok = RuntimeConfig(
        image=CONFIG.image,
        node_selector={"type": "kwok"},
        tolerations=({"key": "modelplane.io/simulated", "operator": "Exists"},),
    )
    pod = build_deployment(OWNER, _variant(), make_spec(), kwok)["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"type": "kwok"}
    assert pod["tolerations"] == [{"key": "modelplane.io/simulated", "operator": "Exists"}]
    plain = build_deployment(OWNER, _variant(), make_spec(), CONFIG)["spec"]["template"]["spec"]
    assert "nodeSelector" not in plain
    assert "tolerations" not in plain


def test_pods_leave_the_services_before_the_runtime_is_told_to_drain() -> None:
    pod = build_deployment(OWNER, _variant(), make_spec(), CONFIG)["spec"]["template"]["spec"]
    pre_stop = pod["containers"][0]["lifecycle"]["preStop"]
    assert pre_stop["sleep"]["seconds"] > 0
    # The grace period covers the pause and the runtime's whole drain.
    assert pod["terminationGracePeriodSeconds"] > pre_stop["sleep"]["seconds"] + (
        RUNTIME_GRACEFUL_TIMEOUT_S
    )


def test_the_serving_port_is_the_one_org_network_policies_open() -> None:
    from modelplane_operator.builders.organization import SERVING_PORT

    pod = build_deployment(OWNER, _variant(), make_spec(), CONFIG)["spec"]["template"]["spec"]
    assert SERVING_PORT in {port["name"] for port in pod["containers"][0]["ports"]}
