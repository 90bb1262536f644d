"""Admission validation that CEL cannot express: rules about other objects and the cluster.

The CRDs' own schemas and CEL rules check each object alone. What is left needs context the API
server does not give CEL: the namespace's labels (is it an organization's namespace?), the
ModelVersions a deployment refers to (do they exist, are they usable?), the platform's image
allow-list, and who is asking (production changes need the org's admin role). The operator's
admission binding (`modelplane_operator.handlers.admission`) gathers that context and calls these
functions; they do no I/O, so they are tested as plain functions and the facade can reuse them.

Every function returns the list of violations (empty means admitted).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from modelplane_crds import labels
from modelplane_crds.conditions import STALLED, Condition, get_condition
from modelplane_crds.drift_monitor import DriftMonitorSpec
from modelplane_crds.model_deployment import ModelDeploymentSpec
from modelplane_crds.model_version import ModelVersionSpec
from modelplane_webhooks.errors import Violation

PRIVILEGED_GROUPS = frozenset({"system:masters"})
"""Groups that may change production deployments without being an org admin (cluster admins)."""


def organization_of(namespace_labels: Mapping[str, str] | None) -> str | None:
    """The organization that owns a namespace, from the label the operator puts on it."""
    if not namespace_labels:
        return None
    return namespace_labels.get(labels.ORGANIZATION) or None


def check_org_namespace(
    kind: str, namespace: str, namespace_labels: Mapping[str, str] | None
) -> list[Violation]:
    """Modelplane resources live only in namespaces the operator made for an organization."""
    if organization_of(namespace_labels) is not None:
        return []
    return [
        Violation(
            "metadata.namespace",
            f"{kind} objects must be created in an organization namespace; {namespace!r} does not"
            f" belong to any organization (it has no {labels.ORGANIZATION} label). Create an"
            " Organization and use its namespace mp-<slug>",
        )
    ]


def check_local_reference(
    field: str, ref: Mapping[str, Any] | None, namespace: str
) -> list[Violation]:
    """A reference names an object in the same namespace: no `namespace`, no `ns/name`."""
    if not ref:
        return []
    name = str(ref.get("name", ""))
    other = ref.get("namespace")
    if (other is not None and other != namespace) or "/" in name:
        target = f"{other}/{name}" if other is not None else name
        return [
            Violation(
                field,
                f"references never cross namespaces: {target!r} is outside {namespace!r}; refer"
                " to an object in the same organization namespace by its name alone",
            )
        ]
    return []


def image_allowed(image: str, allowlist: Collection[str]) -> bool:
    """Whether an image is on the allow-list.

    An entry ending in `/` allows every repository below it (`ghcr.io/modelplane/`); an entry
    with a tag or digest allows exactly that image; any other entry allows that repository with
    any tag or digest. Prefixes match only at `/` boundaries, so `ghcr.io/modelplane/` does not
    allow `ghcr.io/modelplane-evil/x`.
    """
    repository = _repository(image)
    for entry in allowlist:
        if entry.endswith("/"):
            if repository.startswith(entry):
                return True
        elif "@" in entry or ":" in entry.rsplit("/", 1)[-1]:
            if image == entry:
                return True
        elif repository == entry:
            return True
    return False


def _repository(image: str) -> str:
    without_digest = image.split("@", 1)[0]
    head, _, last = without_digest.rpartition("/")
    name = last.split(":", 1)[0]
    return f"{head}/{name}" if head else name


def _parse(model: type[Any], spec: Mapping[str, Any] | None) -> tuple[Any, list[Violation]]:
    try:
        return model.model_validate(spec or {}), []
    except ValidationError as exc:
        found = [
            Violation("spec." + ".".join(str(p) for p in err["loc"]), err["msg"])
            for err in exc.errors()
        ]
        return None, found


def validate_model_version(
    body: Mapping[str, Any], namespace: str, namespace_labels: Mapping[str, str] | None
) -> list[Violation]:
    """A ModelVersion lives in an org namespace and has a well-formed spec."""
    violations = check_org_namespace("ModelVersion", namespace, namespace_labels)
    _, problems = _parse(ModelVersionSpec, body.get("spec"))
    return violations + problems


def _stalled_reason(version: Mapping[str, Any]) -> str | None:
    raw = (version.get("status") or {}).get("conditions") or []
    try:
        conditions = [Condition.model_validate(c) for c in raw]
    except ValidationError:
        return None
    stalled = get_condition(conditions, STALLED)
    if stalled is None or stalled.status != "True":
        return None
    return f"{stalled.reason}: {stalled.message}" if stalled.message else stalled.reason


def _refs(spec: ModelDeploymentSpec | None) -> dict[str, str]:
    if spec is None:
        return {}
    found = {"spec.stable.modelVersionRef": spec.stable.model_version_ref.name}
    if spec.candidate is not None:
        found["spec.candidate.modelVersionRef"] = spec.candidate.model_version_ref.name
    return found


def validate_model_deployment(
    body: Mapping[str, Any],
    namespace: str,
    namespace_labels: Mapping[str, str] | None,
    *,
    versions: Mapping[str, Mapping[str, Any] | None],
    image_allowlist: Collection[str],
    old: Mapping[str, Any] | None = None,
    user_groups: Sequence[str] = (),
    admin_groups: Collection[str] = (),
    privileged: bool = False,
) -> list[Violation]:
    """A ModelDeployment refers only to existing, usable ModelVersions of its own namespace,
    runs an allowed image, and changes to production come from the org's admins.

    `versions` maps every referenced name to the ModelVersion found in the namespace (or None);
    `old` is the stored object on update: references it already had are not re-checked, so a
    version that failed later does not freeze unrelated edits.
    """
    violations = check_org_namespace("ModelDeployment", namespace, namespace_labels)
    raw_spec = body.get("spec") or {}
    for field in ("stable", "candidate"):
        target = raw_spec.get(field) or {}
        violations += check_local_reference(
            f"spec.{field}.modelVersionRef", target.get("modelVersionRef"), namespace
        )
    if violations:
        return violations
    spec, problems = _parse(ModelDeploymentSpec, raw_spec)
    if spec is None:
        return problems
    old_spec, _ = _parse(ModelDeploymentSpec, (old or {}).get("spec")) if old else (None, [])
    already = set(_refs(old_spec).values())
    for field, name in _refs(spec).items():
        if name in already:
            continue
        version = versions.get(name)
        if version is None:
            violations.append(
                Violation(
                    field,
                    f"ModelVersion {name!r} not found in namespace {namespace!r}; references are"
                    " resolved only inside the deployment's own organization",
                )
            )
        elif (reason := _stalled_reason(version)) is not None:
            violations.append(
                Violation(field, f"ModelVersion {name!r} is Stalled and cannot serve ({reason})")
            )
    image = spec.runtime.image if spec.runtime is not None else None
    if image is not None and not image_allowed(image, image_allowlist):
        allowed = ", ".join(sorted(image_allowlist)) or "(none)"
        violations.append(
            Violation(
                "spec.runtime.image",
                f"image {image!r} is not on the platform's image allow-list ({allowed})",
            )
        )
    production = spec.environment == "production" or (
        old_spec is not None and old_spec.environment == "production"
    )
    changed = old_spec is None or old_spec != spec
    is_admin = privileged or bool(set(user_groups) & (set(admin_groups) | PRIVILEGED_GROUPS))
    if production and changed and not is_admin:
        violations.append(
            Violation(
                "spec.environment",
                "changing a production deployment needs the organization's admin role",
            )
        )
    return violations


def validate_drift_monitor(
    body: Mapping[str, Any], namespace: str, namespace_labels: Mapping[str, str] | None
) -> list[Violation]:
    """A DriftMonitor lives in an org namespace and watches a deployment of that namespace."""
    violations = check_org_namespace("DriftMonitor", namespace, namespace_labels)
    raw_spec = body.get("spec") or {}
    violations += check_local_reference(
        "spec.deploymentRef", raw_spec.get("deploymentRef"), namespace
    )
    if violations:
        return violations
    _, problems = _parse(DriftMonitorSpec, raw_spec)
    return problems
