"""A DriftMonitor's children and conditions (pure; see `builders`).

Each monitor gets a CronJob that runs the drift job (`python -m modelplane_operator.drift
--monitor <namespace>/<name> --write-status`) in the operator image, under a ServiceAccount of
its own whose Role may read only its monitor, the watched deployment and the namespace's
ModelVersions, and patch only its own monitor's status. The job writes the evaluation into the
status; the operator derives the conditions from it (`result_conditions`), so conditions have
one writer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from modelplane_crds import labels
from modelplane_crds.conditions import (
    Condition,
    ConditionStatus,
    remove_condition,
    set_condition,
)
from modelplane_crds.drift_monitor import (
    ALERT_SECRETS_DIR,
    BELOW_THRESHOLD,
    DATASET_DRIFT,
    DRIFT_DETECTED,
    ENOUGH_SAMPLES,
    FEATURE_DRIFT,
    INSUFFICIENT_DATA,
    NO_DRIFT,
    QUALITY_DEGRADED,
    TOO_FEW_LABELS,
    TOO_FEW_SAMPLES,
    WITHIN_THRESHOLDS,
    DriftMonitorSpec,
    alert_secret_names,
)
from modelplane_crds.drift_results import DriftEvaluation
from modelplane_crds.kinds import DRIFT_MONITOR, MODEL_DEPLOYMENT, MODEL_VERSION
from modelplane_crds.quality import QualityEvaluation
from modelplane_operator.builders import OPERATOR
from modelplane_operator.builders.model_deployment import S3_SECRET, label_value, short_name

MONITOR_LABEL = "modelplane.io/drift-monitor"
JOB_APP = "modelplane-drift-job"
RUN_AS_USER = 65532
"""The operator image's own user (operator/Dockerfile `USER`, tested equal): the drift job's."""
CRONJOB_NAME_LIMIT = 52
"""CronJob names are at most 52 characters (the controller appends an 11-character suffix)."""
STARTING_DEADLINE_S = 300
"""A run missed by more than this (operator or controller down) is skipped, not caught up."""
JOB_DEADLINE_S = 1800
"""One evaluation may run this long before Kubernetes stops it."""
HISTORY_LIMIT = 3
"""Finished Jobs kept per outcome (succeeded, failed) for `kubectl logs`."""
ACCESS_KEY, SECRET_KEY, SESSION_TOKEN = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
)
"""The keys of the monitor's credentials Secret: the standard AWS variables the job reads."""


@dataclass(frozen=True)
class JobConfig:
    """Operator-level settings the job's pods need."""

    image: str
    payload_bucket: str | None = None
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    node_selector: Mapping[str, str] = field(default_factory=dict)
    tolerations: tuple[Mapping[str, Any], ...] = ()
    scoped_credentials: bool = False
    """The job takes the monitor's own temporary credentials (`secret_name`, minted by the
    operator, see `builders.drift_credentials`) instead of the org's `modelplane-s3` Secret."""


def child_name(monitor: str) -> str:
    """Name of the monitor's CronJob, ServiceAccount, Role and RoleBinding."""
    return short_name("drift", monitor, limit=CRONJOB_NAME_LIMIT)


def secret_name(monitor: str) -> str:
    """The Secret holding the monitor's own S3 credentials (`drift-<monitor>-s3`)."""
    return f"{child_name(monitor)}-s3"


def job_labels(monitor: str) -> dict[str, str]:
    """Labels of every child and of the job's pods."""
    return {
        labels.APP_MANAGED_BY: OPERATOR,
        "app.kubernetes.io/name": JOB_APP,
        MONITOR_LABEL: label_value(monitor),
    }


def _meta(owner: Mapping[str, Any], owner_ref: Mapping[str, Any]) -> dict[str, Any]:
    name = owner["metadata"]["name"]
    return {
        "name": child_name(name),
        "namespace": owner["metadata"]["namespace"],
        "labels": job_labels(name),
        "ownerReferences": [dict(owner_ref)],
    }


def build_service_account(owner: Mapping[str, Any], owner_ref: Mapping[str, Any]) -> dict[str, Any]:
    """The job's identity (its token is mounted: the job patches its monitor's status)."""
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(owner, owner_ref)}


def build_role(
    owner: Mapping[str, Any], owner_ref: Mapping[str, Any], spec: DriftMonitorSpec
) -> dict[str, Any]:
    """Read its monitor and deployment and the ModelVersions (the stable one changes over
    time); patch only its own monitor's status."""
    name = owner["metadata"]["name"]
    group = DRIFT_MONITOR.group
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": _meta(owner, owner_ref),
        "rules": [
            _rule(group, DRIFT_MONITOR.plural, ["get"], [name]),
            _rule(group, f"{DRIFT_MONITOR.plural}/status", ["get", "patch"], [name]),
            _rule(group, MODEL_DEPLOYMENT.plural, ["get"], [spec.deployment_ref.name]),
            _rule(group, MODEL_VERSION.plural, ["get"], []),
        ],
    }


def _rule(group: str, resource: str, verbs: list[str], names: list[str]) -> dict[str, Any]:
    rule: dict[str, Any] = {"apiGroups": [group], "resources": [resource], "verbs": verbs}
    if names:
        rule["resourceNames"] = names
    return rule


def build_role_binding(owner: Mapping[str, Any], owner_ref: Mapping[str, Any]) -> dict[str, Any]:
    """The Role bound to the job's ServiceAccount."""
    meta = _meta(owner, owner_ref)
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": meta,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": meta["name"]},
        "subjects": [
            {"kind": "ServiceAccount", "name": meta["name"], "namespace": meta["namespace"]}
        ],
    }


def build_cron_job(
    owner: Mapping[str, Any],
    owner_ref: Mapping[str, Any],
    spec: DriftMonitorSpec,
    config: JobConfig,
    *,
    suspend: bool,
) -> dict[str, Any]:
    """The CronJob: the monitor's schedule in UTC, one run at a time, missed runs skipped."""
    meta = _meta(owner, owner_ref)
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": meta,
        "spec": {
            "schedule": spec.schedule,
            "timeZone": "Etc/UTC",
            "suspend": suspend,
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": STARTING_DEADLINE_S,
            "successfulJobsHistoryLimit": HISTORY_LIMIT,
            "failedJobsHistoryLimit": HISTORY_LIMIT,
            "jobTemplate": {
                "metadata": {"labels": meta["labels"]},
                "spec": {
                    "backoffLimit": 2,
                    "activeDeadlineSeconds": JOB_DEADLINE_S,
                    "template": {
                        "metadata": {"labels": meta["labels"]},
                        "spec": _pod_spec(owner, meta["name"], spec, config),
                    },
                },
            },
        },
    }


def _pod_spec(
    owner: Mapping[str, Any], account: str, spec: DriftMonitorSpec, config: JobConfig
) -> dict[str, Any]:
    """One non-root, read-only container running the job for this monitor, with the Secrets
    its alert sinks name mounted read-only (optional: a missing one is reported per sink)."""
    secrets = alert_secret_names(spec)
    container = _container(owner, config)
    container["volumeMounts"] += [
        {"name": f"alert-secret-{i}", "mountPath": f"{ALERT_SECRETS_DIR}/{name}", "readOnly": True}
        for i, name in enumerate(secrets)
    ]
    pod: dict[str, Any] = {
        "serviceAccountName": account,
        "restartPolicy": "Never",
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUN_AS_USER,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [container],
        "volumes": [
            {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}},
            *(
                {"name": f"alert-secret-{i}", "secret": {"secretName": name, "optional": True}}
                for i, name in enumerate(secrets)
            ),
        ],
    }
    if config.node_selector:
        pod["nodeSelector"] = dict(config.node_selector)
    if config.tolerations:
        pod["tolerations"] = [dict(t) for t in config.tolerations]
    return pod


def _container(owner: Mapping[str, Any], config: JobConfig) -> dict[str, Any]:
    meta = owner["metadata"]
    args = ["--monitor", f"{meta['namespace']}/{meta['name']}", "--write-status"]
    if config.payload_bucket:
        args += ["--payload-bucket", config.payload_bucket]
    return {
        "name": "drift",
        "image": config.image,
        "command": ["python", "-m", "modelplane_operator.drift"],
        "args": args,
        "env": _s3_env(config, meta["name"]),
        "resources": {
            "requests": {"cpu": "100m", "memory": "256Mi"},
            "limits": {"memory": "1Gi"},
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],  # noqa: S108 - an emptyDir
    }


def _s3_env(config: JobConfig, monitor: str) -> list[dict[str, Any]]:
    """The standard AWS variables the job reads: with scoped credentials the monitor's own
    temporary ones (its Secret, required: the operator writes it before the CronJob), else the
    credentials serving pods use (the org's optional `modelplane-s3` Secret)."""
    env: list[dict[str, Any]] = [{"name": "AWS_REGION", "value": config.s3_region}]
    if config.s3_endpoint_url:
        env.append({"name": "AWS_ENDPOINT_URL", "value": config.s3_endpoint_url})
    refs: list[tuple[str, dict[str, Any]]]
    if config.scoped_credentials:
        refs = [(key, {"name": secret_name(monitor), "key": key})
                for key in (ACCESS_KEY, SECRET_KEY, SESSION_TOKEN)]  # fmt: skip
    else:
        refs = [
            (ACCESS_KEY, {"name": S3_SECRET, "key": "MODELPLANE_RUNTIME_S3_ACCESS_KEY_ID"}),
            (SECRET_KEY, {"name": S3_SECRET, "key": "MODELPLANE_RUNTIME_S3_SECRET_ACCESS_KEY"}),
        ]
        refs = [(name, {**ref, "optional": True}) for name, ref in refs]
    env += [{"name": name, "valueFrom": {"secretKeyRef": ref}} for name, ref in refs]
    return env


def result_conditions(
    conditions: Sequence[Condition],
    evaluation: DriftEvaluation | None,
    generation: int,
    now: datetime,
) -> list[Condition]:
    """`DriftDetected` and `InsufficientData` as the last evaluation says (absent before it)."""
    if evaluation is None:
        return remove_condition(remove_condition(conditions, DRIFT_DETECTED), INSUFFICIENT_DATA)
    if evaluation.insufficient_data:
        found = set_condition(
            conditions,
            INSUFFICIENT_DATA,
            "True",
            TOO_FEW_SAMPLES,
            f"{evaluation.samples} logged rows in the last window: too few to decide",
            generation,
            now,
        )
        return remove_condition(found, DRIFT_DETECTED)
    found = set_condition(
        conditions,
        INSUFFICIENT_DATA,
        "False",
        ENOUGH_SAMPLES,
        f"{evaluation.samples} logged rows in the last window",
        generation,
        now,
    )
    status, reason, message = _drift_verdict(evaluation)
    return set_condition(found, DRIFT_DETECTED, status, reason, message, generation, now)


def _drift_verdict(evaluation: DriftEvaluation) -> tuple[ConditionStatus, str, str]:
    drifted = sorted(r.feature for r in evaluation.features if r.drifted)
    share = f"{evaluation.dataset.share:.0%}" if evaluation.dataset else "0%"
    if evaluation.dataset is not None and evaluation.dataset.drifted:
        return "True", DATASET_DRIFT, f"{share} of features drifted: {', '.join(drifted)}"
    if drifted:
        return "True", FEATURE_DRIFT, f"features drifted ({share}): {', '.join(drifted)}"
    return "False", NO_DRIFT, "no feature drifted in the last window"


def quality_conditions(
    conditions: Sequence[Condition],
    quality: QualityEvaluation | None,
    generation: int,
    now: datetime,
) -> list[Condition]:
    """`QualityDegraded` as the serving version's last scored window says (absent before one,
    or without `spec.quality`): True with the metrics outside their thresholds, Unknown while
    too few predictions had a label."""
    if quality is None:
        return remove_condition(conditions, QUALITY_DEGRADED)
    version = quality.model_version or "the serving version"
    if quality.insufficient_data:
        status: ConditionStatus = "Unknown"
        reason, message = (
            TOO_FEW_LABELS,
            (
                f"{quality.labelled_rows} labelled predictions of {version} in the last scored"
                " window: too few to decide"
            ),
        )
    elif quality.degraded:
        status, reason = "True", BELOW_THRESHOLD
        message = f"{version}: {'; '.join(quality.breaches())} ({quality.labelled_rows} labelled)"
    else:
        status, reason = "False", WITHIN_THRESHOLDS
        labelled = quality.labelled_rows
        message = f"{version}: every metric within its thresholds ({labelled} labelled)"
    return set_condition(conditions, QUALITY_DEGRADED, status, reason, message, generation, now)
