"""The Kubernetes kinds a ModelDeployment's children use, made known to the cluster gateway.

`cluster.RESOURCES` maps (apiVersion, kind) to the REST plural; the operator core lists the kinds
its own handlers touch. This module adds the serving kinds at import, so that the ModelDeployment
handler can use the same gateway without editing the core module (move these lines into
`cluster.RESOURCES` when the two are merged).
"""

from __future__ import annotations

from modelplane_operator.cluster import RESOURCES

SERVING_KINDS: dict[tuple[str, str], tuple[str, bool]] = {
    ("apps/v1", "Deployment"): ("deployments", True),
    ("v1", "Service"): ("services", True),
    ("v1", "Pod"): ("pods", True),
    ("policy/v1", "PodDisruptionBudget"): ("poddisruptionbudgets", True),
    ("autoscaling/v2", "HorizontalPodAutoscaler"): ("horizontalpodautoscalers", True),
    ("gateway.networking.k8s.io/v1", "HTTPRoute"): ("httproutes", True),
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"): ("customresourcedefinitions", False),
}

for _key, _value in SERVING_KINDS.items():
    RESOURCES.setdefault(_key, _value)

HTTPROUTE_CRD = "httproutes.gateway.networking.k8s.io"
