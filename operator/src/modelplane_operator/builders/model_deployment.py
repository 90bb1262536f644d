"""Pure builders of a ModelDeployment's children: what the cluster should hold for one plan.

One apps/v1 Deployment and one Service per variant (a variant is one ModelVersion being served),
an umbrella Service for the endpoint, one PodDisruptionBudget over all serving pods, an HPA per
variant when scaling is `minReplicas`/`maxReplicas`, and an HTTPRoute with weighted backends when
the Gateway API is installed. Without it, the umbrella Service selects the pods of every variant
and the weights are realised by the ratio of replicas (`replica_split`).

Names are deterministic (never `generateName`): a variant is named after the deployment and its
ModelVersion, so promotion changes no pod template and restarts no pod; only the `role` label on
the Deployment and Service moves. Every child carries an ownerReference to the ModelDeployment
(controller, blockOwnerDeletion) so deleting the deployment garbage-collects all of them. No I/O,
no clock: the rollout pass reads the cluster, turns its plan into a `Wanted`, builds every child
at once (`build_children`), then applies them by server-side apply and deletes the rest.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from modelplane_crds import labels
from modelplane_crds.kinds import MODEL_DEPLOYMENT
from modelplane_crds.model_deployment import ModelDeploymentSpec
from modelplane_crds.model_version import ModelVersionSpec
from modelplane_crds.payload_logs import bucket_of
from modelplane_crds.serving import RUNTIME_UID, ServingLimits, ServingSettings
from modelplane_operator.builders import OPERATOR

DEPLOYMENT_LABEL = "modelplane.io/deployment"
VARIANT_LABEL = "modelplane.io/variant"
VERSION_LABEL = "modelplane.io/model-version"
COMPONENT_LABEL = "app.kubernetes.io/component"
PORT = 8080
CACHE_DIR = "/var/cache/modelplane"
RUNTIME_GRACEFUL_TIMEOUT_S = 30
TERMINATION_GRACE_S = RUNTIME_GRACEFUL_TIMEOUT_S + 15
"""Above the runtime's graceful drain, so Kubernetes never kills a pod that is still draining."""
RUN_AS_USER = RUNTIME_UID
"""The runtime image's own user (serving-runtime/Dockerfile), so files it owns stay readable."""
DRAIN_S = 5
"""preStop pause: the endpoint leaves the Services (kube-proxy, HTTPRoute) before SIGTERM."""
DEFAULT_TARGET_CPU = 70
S3_SECRET = "modelplane-s3"  # noqa: S105 - a Secret name, not a secret
"""Optional Secret in the org namespace with `MODELPLANE_RUNTIME_S3_*` keys for the pods."""
MLFLOW_SECRET = "modelplane-mlflow"  # noqa: S105 - a Secret name, not a secret
"""Secret in the org namespace with `MODELPLANE_RUNTIME_MLFLOW_TOKEN`, the token pods of
`models:/` versions download with (written by the operator when it has
`runtime_mlflow_token`, see `builders.organization.build_mlflow_secret`)."""

Role = Literal["stable", "candidate"]
TrafficMode = Literal["HTTPRoute", "ReplicaRatio"]


@dataclass(frozen=True)
class RuntimeConfig:
    """Operator-level settings the builders need (image, S3 endpoint, Gateway parent, the
    limits the pods enforce, where pods are scheduled)."""

    image: str
    s3_endpoint_url: str | None = None
    payload_bucket: str | None = None
    gateway_name: str | None = None
    gateway_namespace: str | None = None
    mlflow_tracking_uri: str | None = None
    limits: ServingLimits = field(default_factory=ServingLimits)
    """The operator's own limits; each pod gets them capped for its version, as verified."""
    node_selector: Mapping[str, str] = field(default_factory=dict)
    tolerations: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class Variant:
    """One ModelVersion to serve: its role now, and how many pods (None when an HPA decides)."""

    version: str
    spec: ModelVersionSpec
    role: Role
    replicas: int | None
    hpa_min: int | None = None
    hpa_max: int | None = None


@dataclass(frozen=True)
class Wanted:
    """What one rollout pass decided to serve, in the builders' words (see `rollout.machine`)."""

    variants: tuple[Variant, ...]
    """The variants to run, in the plan's order."""
    unreadable: tuple[str, ...]
    """Versions in the plan whose ModelVersion cannot be read now: whatever runs is left alone."""
    stable_version: str
    mode: TrafficMode
    shadow_version: str | None
    """The candidate that takes shadow copies (its Service exists only then)."""
    stable_only: bool
    """The endpoint selects only the stable pods (a shadow candidate that takes no traffic)."""
    backends: tuple[tuple[str, int], ...]
    """Version and weight of each HTTPRoute backend."""


@dataclass(frozen=True)
class Children:
    """Every child a pass applies, in apply order, and the (kind, name) of every child to keep;
    owned children not in `keep` are deleted."""

    manifests: tuple[dict[str, Any], ...]
    keep: frozenset[tuple[str, str]]


def build_children(
    owner: Mapping[str, Any], spec: ModelDeploymentSpec, wanted: Wanted, config: RuntimeConfig
) -> Children:
    """All of a ModelDeployment's children for one plan: per variant a Deployment, a Service and
    maybe an HPA; the endpoint Service and the PodDisruptionBudget; the shadow Service and the
    HTTPRoute when they are wanted."""
    manifests: list[dict[str, Any]] = []
    for variant in wanted.variants:
        manifests.append(build_deployment(owner, variant, spec, config))
        manifests.append(build_variant_service(owner, variant))
        hpa = build_hpa(owner, variant, spec)
        if hpa is not None:
            manifests.append(hpa)
    manifests.append(
        build_umbrella_service(owner, wanted.mode, wanted.stable_version, wanted.stable_only)
    )
    manifests.append(build_pdb(owner))
    if wanted.shadow_version is not None:
        manifests.append(build_shadow_service(owner, wanted.shadow_version))
    if wanted.mode == "HTTPRoute":
        manifests.append(build_http_route(owner, list(wanted.backends), config))
    deployment = owner["metadata"]["name"]
    left_alone = {
        (kind, variant_name(deployment, version))
        for version in wanted.unreadable
        for kind in ("Deployment", "Service", "HorizontalPodAutoscaler")
    }
    applied = {(m["kind"], m["metadata"]["name"]) for m in manifests}
    return Children(tuple(manifests), frozenset(applied | left_alone))


def short_name(*parts: str, limit: int = 63) -> str:
    """`a-b` when it fits a DNS label, else a prefix plus a hash of the full name (stable)."""
    full = "-".join(parts)
    if len(full) <= limit:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:10]
    prefix = re.sub(r"-+$", "", full[: limit - len(digest) - 1])
    return f"{prefix}-{digest}"


def variant_name(deployment: str, version: str) -> str:
    """Name of a variant's Deployment, Service and HPA."""
    return short_name(deployment, version)


def umbrella_name(deployment: str) -> str:
    """Name of the endpoint Service (and of the HTTPRoute and PDB)."""
    return short_name(deployment)


def label_value(value: str) -> str:
    """A label value (63 characters at most) that still identifies `value`."""
    return short_name(value)


def shadow_name(deployment: str) -> str:
    """Name of the Service the serving pods send shadow copies to (the candidate's pods)."""
    return short_name(deployment, "shadow")


def endpoint_url(deployment: str, namespace: str) -> str:
    """The in-cluster URL clients use (Open Inference Protocol v2 under it)."""
    return f"http://{umbrella_name(deployment)}.{namespace}.svc.cluster.local"


def owner_reference(owner: Mapping[str, Any]) -> dict[str, Any]:
    """Controller reference to the ModelDeployment; children go when it goes."""
    meta = owner["metadata"]
    return {
        "apiVersion": owner.get("apiVersion", MODEL_DEPLOYMENT.api_version),
        "kind": owner.get("kind", MODEL_DEPLOYMENT.kind),
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def base_labels(deployment: str) -> dict[str, str]:
    """Labels on every child (and every serving pod) of one ModelDeployment."""
    return {
        labels.APP_MANAGED_BY: OPERATOR,
        DEPLOYMENT_LABEL: label_value(deployment),
        "app.kubernetes.io/name": "modelplane-serving",
    }


def pod_labels(deployment: str, version: str) -> dict[str, str]:
    """Labels of a variant's pods: they never change, so promotion restarts nothing."""
    return {**base_labels(deployment), VERSION_LABEL: label_value(version)}


def _meta(owner: Mapping[str, Any], name: str, extra: Mapping[str, str]) -> dict[str, Any]:
    meta = owner["metadata"]
    return {
        "name": name,
        "namespace": meta["namespace"],
        "labels": {**base_labels(meta["name"]), **extra},
        "ownerReferences": [owner_reference(owner)],
    }


def replica_split(total: int, weight: int) -> tuple[int, int]:
    """(stable, candidate) pods whose ratio is closest to `weight` percent for the candidate.

    Neither side gets 0 pods while its share is above 0: when `total` is too small for that,
    the total grows to 2. Ties go to the stable side; a total of 0 (scaled to zero) stays 0."""
    if not 0 <= weight <= 100:
        raise ValueError(f"weight must be 0..100, got {weight}")
    total = max(total, 0)
    if total == 0 or weight == 0:
        return total, 0
    if weight == 100:
        return 0, total
    total = max(total, 2)
    best = min(
        range(1, total),
        key=lambda c: (abs(c / total - weight / 100), c),
    )
    return total - best, best


def ratio_weight(stable: int, candidate: int) -> int:
    """Percent of traffic the candidate gets when both variants sit behind one Service."""
    pods = stable + candidate
    return 0 if pods == 0 else round(100 * candidate / pods)


def replicas_for_share(total: int, weight: int) -> int:
    """Candidate pods needed to carry `weight` percent when a router splits traffic."""
    return 0 if weight <= 0 else max(1, math.ceil(total * weight / 100))


def serving_settings(
    deployment: str,
    namespace: str,
    version: str,
    mv: ModelVersionSpec,
    spec: ModelDeploymentSpec,
    config: RuntimeConfig,
) -> ServingSettings:
    """What a variant's pods are told: the shared contract the runtime parses from their
    `MODELPLANE_RUNTIME_*` environment (`to_env`, see docs/serving-runtime.md)."""
    return ServingSettings(
        **_model_settings(mv),
        **_serving_settings(spec),
        **_payload_settings(deployment, namespace, version, spec, config),
        **_shadow_settings(deployment, namespace, spec),
        **_operator_settings(mv, config),
    )


def _model_settings(mv: ModelVersionSpec) -> dict[str, Any]:
    """What the pod serves: the model, its artifact and signature, where it is cached."""
    settings: dict[str, Any] = {
        "model_name": mv.model_name,
        "model_version": mv.version,
        "model_uri": mv.artifact.uri,
        "model_sha256": mv.artifact.sha256,
        "signature": mv.signature,
        "cache_dir": CACHE_DIR,
        "port": PORT,
        "graceful_timeout_s": RUNTIME_GRACEFUL_TIMEOUT_S,
    }
    if mv.features:
        settings["feature_schema"] = mv.features
    return settings


def _serving_settings(spec: ModelDeploymentSpec) -> dict[str, Any]:
    """How the pod runs the model: threads and batching."""
    threads = (spec.runtime.intra_op_threads if spec.runtime else None) or _cpu_threads(spec)
    settings: dict[str, Any] = {"intra_op_threads": threads}
    batching = spec.runtime.batching if spec.runtime else None
    if batching is not None:
        settings["max_batch_size"] = batching.max_batch_size
        settings["max_latency_ms"] = batching.max_latency_ms
    return settings


def _payload_settings(
    deployment: str,
    namespace: str,
    version: str,
    spec: ModelDeploymentSpec,
    config: RuntimeConfig,
) -> dict[str, Any]:
    """Payload logging, when sampled and a bucket is known (the spec's URI, else the operator's)."""
    logging_ = spec.payload_logging
    if logging_ is None or logging_.sample_rate <= 0:
        return {}
    bucket = config.payload_bucket
    if logging_.uri is not None:
        bucket = bucket_of(logging_.uri)
    if not bucket:
        return {}
    return {
        "payload_sample_rate": logging_.sample_rate,
        "payload_bucket": bucket,
        "payload_namespace": namespace,
        "payload_deployment": deployment,
        "payload_variant": version,
    }


def _shadow_settings(deployment: str, namespace: str, spec: ModelDeploymentSpec) -> dict[str, Any]:
    """Shadow copies, on every variant: a promotion must not restart pods."""
    shadow = spec.strategy.shadow if spec.strategy else None
    if shadow is None:
        return {}
    return {
        "shadow_url": f"http://{shadow_name(deployment)}.{namespace}.svc.cluster.local",
        "shadow_percent": shadow.percent,
        "shadow_tolerance": shadow.tolerance,
    }


def _operator_settings(mv: ModelVersionSpec, config: RuntimeConfig) -> dict[str, Any]:
    """What the operator knows: where artifacts come from, and the limits it verified this
    version under (`ServingLimits.for_artifact`, the same call the verification makes)."""
    settings: dict[str, Any] = config.limits.for_artifact(mv.artifact).model_dump()
    if config.s3_endpoint_url:
        settings["s3_endpoint_url"] = config.s3_endpoint_url
    if config.mlflow_tracking_uri and mv.artifact.uri.startswith("models:/"):
        settings["mlflow_tracking_uri"] = config.mlflow_tracking_uri
    return settings


def _cpu_threads(spec: ModelDeploymentSpec) -> int:
    """Threads = the CPU limit in whole cores (at least 1), as onnxruntime wants it."""
    limit = spec.resources.limits.cpu if spec.resources and spec.resources.limits else None
    if limit is None:
        return 1
    text = str(limit)
    cores = float(text[:-1]) / 1000 if text.endswith("m") else float(text)
    return max(1, math.floor(cores))


def _resources(spec: ModelDeploymentSpec) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if spec.resources is None:
        return out
    for key in ("requests", "limits"):
        amounts = getattr(spec.resources, key)
        if amounts is not None:
            wire = {k: str(v) for k, v in amounts.to_wire().items()}
            if wire:
                out[key] = wire
    return out


def build_deployment(
    owner: Mapping[str, Any],
    variant: Variant,
    spec: ModelDeploymentSpec,
    config: RuntimeConfig,
) -> dict[str, Any]:
    """The apps/v1 Deployment running the serving runtime for one variant."""
    meta = owner["metadata"]
    selector = pod_labels(meta["name"], variant.version)
    env = serving_settings(
        meta["name"], meta["namespace"], variant.version, variant.spec, spec, config
    ).to_env()
    container = _container(spec, config.image, env)
    if variant.spec.artifact.uri.startswith("models:/"):  # only these pods call MLflow
        container["envFrom"].append({"secretRef": {"name": MLFLOW_SECRET, "optional": True}})
    body: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(
            owner,
            variant_name(meta["name"], variant.version),
            {VERSION_LABEL: label_value(variant.version), VARIANT_LABEL: variant.role},
        ),
        "spec": {
            "selector": {"matchLabels": selector},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0},
            },
            "revisionHistoryLimit": 2,
            "template": {
                "metadata": {
                    "labels": selector,
                    "annotations": {
                        "prometheus.io/scrape": "true",
                        "prometheus.io/port": str(PORT),
                    },
                },
                "spec": _pod_spec(container, selector, variant, config),
            },
        },
    }
    if variant.replicas is not None:
        body["spec"]["replicas"] = variant.replicas
    return body


def _container(
    spec: ModelDeploymentSpec, default_image: str, env: list[dict[str, str]]
) -> dict[str, Any]:
    """The runtime container: image, environment, probes, a locked-down security context."""
    container: dict[str, Any] = {
        "name": "runtime",
        "image": (spec.runtime.image if spec.runtime else None) or default_image,
        "ports": [{"name": "http", "containerPort": PORT, "protocol": "TCP"}],
        "env": env,
        "envFrom": [{"secretRef": {"name": S3_SECRET, "optional": True}}],
        **_probes(),
        "lifecycle": {"preStop": {"sleep": {"seconds": DRAIN_S}}},
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUN_AS_USER,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [
            {"name": "model-cache", "mountPath": CACHE_DIR},
            {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108 - an emptyDir, not the host's
        ],
    }
    resources = _resources(spec)
    if resources:
        container["resources"] = resources
    return container


def _probes() -> dict[str, Any]:
    """Readiness (the model is loaded), liveness, and a startup probe that allows five minutes
    for the first download."""
    return {
        "readinessProbe": {
            "httpGet": {"path": "/v2/health/ready", "port": "http"},
            "periodSeconds": 5,
            "failureThreshold": 3,
        },
        "livenessProbe": {
            "httpGet": {"path": "/v2/health/live", "port": "http"},
            "periodSeconds": 10,
            "failureThreshold": 6,
        },
        "startupProbe": {
            "httpGet": {"path": "/v2/health/live", "port": "http"},
            "periodSeconds": 2,
            "failureThreshold": 150,
        },
    }


def _pod_spec(
    container: dict[str, Any],
    selector: Mapping[str, str],
    variant: Variant,
    config: RuntimeConfig,
) -> dict[str, Any]:
    """The pod around the container: no API token, spread over zones and nodes, a model cache
    sized for two artifacts of the largest size the pod accepts, scheduled where the operator is
    told."""
    largest = config.limits.for_artifact(variant.spec.artifact).max_artifact_bytes
    cache_limit = f"{max(1, math.ceil(largest * 2 / 1024**2))}Mi"
    pod: dict[str, Any] = {
        "containers": [container],
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "terminationGracePeriodSeconds": TERMINATION_GRACE_S,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUN_AS_USER,
            "runAsGroup": RUN_AS_USER,
            "fsGroup": RUN_AS_USER,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "topologySpreadConstraints": [
            {
                "maxSkew": 1,
                "topologyKey": key,
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": dict(selector)},
            }
            for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")
        ],
        "volumes": [
            {"name": "model-cache", "emptyDir": {"sizeLimit": cache_limit}},
            {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
        ],
    }
    if config.node_selector:
        pod["nodeSelector"] = dict(config.node_selector)
    if config.tolerations:
        pod["tolerations"] = [dict(t) for t in config.tolerations]
    return pod


def _service(
    owner: Mapping[str, Any], name: str, selector: Mapping[str, str], extra: Mapping[str, str]
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(owner, name, extra),
        "spec": {
            "type": "ClusterIP",
            "selector": dict(selector),
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def build_variant_service(owner: Mapping[str, Any], variant: Variant) -> dict[str, Any]:
    """A Service for one variant's pods (HTTPRoute backend, analysis, direct calls)."""
    deployment = owner["metadata"]["name"]
    return _service(
        owner,
        variant_name(deployment, variant.version),
        pod_labels(deployment, variant.version),
        {VERSION_LABEL: label_value(variant.version), VARIANT_LABEL: variant.role},
    )


def build_shadow_service(owner: Mapping[str, Any], candidate_version: str) -> dict[str, Any]:
    """The Service the serving pods copy shadow traffic to: the candidate's pods. It exists
    only while a candidate runs; without it the pods' copies find nothing and pause."""
    deployment = owner["metadata"]["name"]
    return _service(
        owner,
        shadow_name(deployment),
        pod_labels(deployment, candidate_version),
        {VERSION_LABEL: label_value(candidate_version), COMPONENT_LABEL: "shadow"},
    )


def build_umbrella_service(
    owner: Mapping[str, Any], mode: TrafficMode, stable_version: str, stable_only: bool = False
) -> dict[str, Any]:
    """The endpoint Service. In ReplicaRatio mode it selects every variant's pods, so the ratio
    of ready pods is the split — unless `stable_only` (a candidate that only takes shadow
    copies). With an HTTPRoute it selects the stable pods only: the route splits the traffic,
    and a client that bypasses it never reaches an unproven candidate."""
    deployment = owner["metadata"]["name"]
    selector = (
        base_labels(deployment)
        if mode == "ReplicaRatio" and not stable_only
        else pod_labels(deployment, stable_version)
    )
    extra = {COMPONENT_LABEL: "endpoint", "modelplane.io/traffic-mode": mode}
    return _service(owner, umbrella_name(deployment), selector, extra)


def build_pdb(owner: Mapping[str, Any]) -> dict[str, Any]:
    """At most one serving pod of the deployment voluntarily disrupted at a time. `maxUnavailable`
    rather than `minAvailable`, so a one-pod deployment never blocks a node drain."""
    deployment = owner["metadata"]["name"]
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": _meta(owner, umbrella_name(deployment), {COMPONENT_LABEL: "endpoint"}),
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": base_labels(deployment)}},
    }


def build_hpa(
    owner: Mapping[str, Any], variant: Variant, spec: ModelDeploymentSpec
) -> dict[str, Any] | None:
    """An autoscaling/v2 HPA for a variant, when scaling is min/max; else None."""
    if variant.hpa_max is None:
        return None
    deployment = owner["metadata"]["name"]
    name = variant_name(deployment, variant.version)
    target = (
        spec.scaling.target_cpu_utilization_percent if spec.scaling else None
    ) or DEFAULT_TARGET_CPU
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": _meta(
            owner, name, {VERSION_LABEL: label_value(variant.version), VARIANT_LABEL: variant.role}
        ),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": variant.hpa_min or 1,
            "maxReplicas": variant.hpa_max,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": target},
                    },
                }
            ],
        },
    }


def build_http_route(
    owner: Mapping[str, Any],
    backends: list[tuple[str, int]],
    config: RuntimeConfig,
) -> dict[str, Any]:
    """A gateway.networking.k8s.io/v1 HTTPRoute splitting traffic by weight between the
    variants' Services (`backends`: version and weight). Its parent is the configured Gateway,
    or else the endpoint Service itself (Gateway API for service meshes, GAMMA). Shadow traffic
    is not a RequestMirror filter here: a mirror discards the answers, and the serving pods
    send the copies themselves to compare them (`build_shadow_service`)."""
    deployment = owner["metadata"]["name"]
    namespace = owner["metadata"]["namespace"]
    spec: dict[str, Any] = {
        "rules": [
            {
                "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                "backendRefs": [
                    {
                        "group": "",
                        "kind": "Service",
                        "name": variant_name(deployment, version),
                        "port": 80,
                        "weight": weight,
                    }
                    for version, weight in backends
                ],
            }
        ]
    }
    parent: dict[str, Any]
    if config.gateway_name:
        parent = {
            "group": "gateway.networking.k8s.io",
            "kind": "Gateway",
            "name": config.gateway_name,
        }
        if config.gateway_namespace and config.gateway_namespace != namespace:
            parent["namespace"] = config.gateway_namespace
    else:
        # GAMMA (service mesh) attachment: the mesh splits calls to the endpoint Service itself.
        parent = {"group": "", "kind": "Service", "name": umbrella_name(deployment), "port": 80}
    spec["parentRefs"] = [parent]
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": _meta(owner, umbrella_name(deployment), {COMPONENT_LABEL: "endpoint"}),
        "spec": spec,
    }
