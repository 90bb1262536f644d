"""Status conditions and the helpers that keep them to the Flux / kstatus contract.

Every Modelplane kind reports through `status.conditions`, a list keyed by `type` with the same
validation as apimachinery's `metav1.Condition`. The contract (see STYLE.md, "Conditions"):

- `Ready` is always present and has positive polarity;
- `Reconciling` and `Stalled` are present only while true;
- every write stamps `observedGeneration`, and `lastTransitionTime` changes only when the
  condition's status changes.

The helpers are pure: they take the current list, the object's `generation` and `now`, and
return a new list, so reconcile functions and tests stay deterministic. The operator writes the
result; the dashboard and the facade derive a phase from it with `derive_phase`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Literal

from pydantic import Field

from modelplane_crds.base import K8sModel

ConditionStatus = Literal["True", "False", "Unknown"]
Phase = Literal["Pending", "Progressing", "Ready", "Failed", "Stalled"]

CONDITION_TYPE_PATTERN = (
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$"
)
REASON_PATTERN = r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"

READY = "Ready"
RECONCILING = "Reconciling"
STALLED = "Stalled"

# Reasons every kind may use; kind-specific reasons live next to each kind's model.
SUCCEEDED = "Succeeded"
PROGRESSING = "Progressing"
PROGRESSING_WITH_RETRY = "ProgressingWithRetry"
INVALID_SPEC = "InvalidSpec"


class Condition(K8sModel):
    """One aspect of the object's current state, as `metav1.Condition` defines it."""

    type: str = Field(max_length=316, pattern=CONDITION_TYPE_PATTERN)
    """Type of condition in CamelCase, for example Ready, Reconciling, Stalled."""

    status: ConditionStatus
    """Status of the condition: True, False or Unknown."""

    observed_generation: int | None = Field(default=None, ge=0)
    """The `.metadata.generation` the condition was set for. When it is lower than the object's
    current generation, the condition is out of date."""

    last_transition_time: datetime
    """When the condition last changed from one status to another."""

    reason: str = Field(min_length=1, max_length=1024, pattern=REASON_PATTERN)
    """A programmatic identifier, in CamelCase, for the condition's last transition. Reasons are
    part of the API: tools may match on them."""

    message: str = Field(default="", max_length=32768)
    """A human-readable message with details about the transition; may be empty."""


def _second(now: datetime) -> datetime:
    """Kubernetes times have a resolution of one second and are always in UTC."""
    if now.tzinfo is None:
        raise ValueError("condition times must be timezone-aware")
    return now.astimezone(UTC).replace(microsecond=0)


def get_condition(conditions: Sequence[Condition], type_: str) -> Condition | None:
    """The condition of the given type, or None."""
    return next((c for c in conditions if c.type == type_), None)


def is_true(conditions: Sequence[Condition], type_: str) -> bool:
    """Whether the condition of the given type is present with status True."""
    found = get_condition(conditions, type_)
    return found is not None and found.status == "True"


def set_condition(
    conditions: Sequence[Condition],
    type_: str,
    status: ConditionStatus,
    reason: str,
    message: str,
    generation: int,
    now: datetime,
) -> list[Condition]:
    """Return the list with the condition set; lastTransitionTime moves only on a status change."""
    previous = get_condition(conditions, type_)
    transition = (
        previous.last_transition_time
        if previous is not None and previous.status == status
        else _second(now)
    )
    updated = Condition(
        type=type_,
        status=status,
        observed_generation=generation,
        last_transition_time=transition,
        reason=reason,
        message=message,
    )
    if previous is None:
        return [*conditions, updated]
    return [updated if c.type == type_ else c for c in conditions]


def remove_condition(conditions: Sequence[Condition], type_: str) -> list[Condition]:
    """Return the list without the condition of the given type."""
    return [c for c in conditions if c.type != type_]


def mark_ready(
    conditions: Sequence[Condition], reason: str, message: str, generation: int, now: datetime
) -> list[Condition]:
    """Ready=True; Reconciling and Stalled removed (they are present only while true)."""
    result = set_condition(conditions, READY, "True", reason, message, generation, now)
    return remove_condition(remove_condition(result, RECONCILING), STALLED)


def mark_reconciling(
    conditions: Sequence[Condition], reason: str, message: str, generation: int, now: datetime
) -> list[Condition]:
    """Reconciling=True and Ready=Unknown with the same reason; Stalled removed."""
    result = set_condition(conditions, RECONCILING, "True", reason, message, generation, now)
    result = set_condition(result, READY, "Unknown", reason, message, generation, now)
    return remove_condition(result, STALLED)


def mark_retrying(
    conditions: Sequence[Condition], reason: str, message: str, generation: int, now: datetime
) -> list[Condition]:
    """A failure that will be retried: Ready=False with the reason, Reconciling=True
    (ProgressingWithRetry); Stalled removed."""
    result = set_condition(conditions, READY, "False", reason, message, generation, now)
    result = set_condition(
        result, RECONCILING, "True", PROGRESSING_WITH_RETRY, message, generation, now
    )
    return remove_condition(result, STALLED)


def mark_stalled(
    conditions: Sequence[Condition], reason: str, message: str, generation: int, now: datetime
) -> list[Condition]:
    """A failure that needs a change to the spec: Stalled=True and Ready=False with the reason;
    Reconciling removed."""
    result = set_condition(conditions, STALLED, "True", reason, message, generation, now)
    result = set_condition(result, READY, "False", reason, message, generation, now)
    return remove_condition(result, RECONCILING)


def derive_phase(conditions: Sequence[Condition], generation: int) -> Phase:
    """The one-word phase the dashboard shows, computed from the conditions alone."""
    if is_true(conditions, STALLED):
        return "Stalled"
    if is_true(conditions, RECONCILING):
        return "Progressing"
    ready = get_condition(conditions, READY)
    if ready is None:
        return "Pending"
    if (ready.observed_generation or 0) < generation or ready.status == "Unknown":
        return "Progressing"
    return "Ready" if ready.status == "True" else "Failed"


class ObjectStatus(K8sModel):
    """What every Modelplane status carries: the generation last acted on, and conditions."""

    observed_generation: int | None = Field(default=None, ge=0)
    """The `.metadata.generation` the operator last finished acting on. When it equals the
    object's generation, the conditions describe the current spec."""

    conditions: list[Condition] = Field(
        default_factory=list,
        max_length=32,
        json_schema_extra={
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["type"],
        },
    )
    """The latest observations of the object's state. `Ready` is always present;
    `Reconciling` and `Stalled` appear only while true. Wait for readiness with
    `kubectl wait --for=condition=Ready`."""
