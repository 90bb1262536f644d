"""Wiring: register every handler on a kopf registry and configure kopf at start-up.

`register(registry, config)` is the only place handlers meet kopf. It is called by `__main__`
and by the `kopf run` entry file (`kopf_entry.py`, used by `kopf.testing.KopfRunner`), always on
a registry the caller owns, so no handler is registered twice.

The start-up handler turns our `Settings` into kopf settings: progress and diff-base in
annotations under `modelplane.io` (status stays ours, and the diff-base ignores status), a
`modelplane.io/finalizer`, a bounded worker pool, standalone peering (one active replica is
guaranteed by the Lease in `leader.py`, see docs/operator.md), and the admission server. It also
builds the typed memo (`OperatorContext`).
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any, Literal

import kopf

from modelplane_crds.kinds import DRIFT_MONITOR, MODEL_DEPLOYMENT, MODEL_VERSION, ORGANIZATION, Kind
from modelplane_operator.artifacts import ArtifactFetcher, S3Config
from modelplane_operator.builders.drift_monitor import JobConfig
from modelplane_operator.builders.model_deployment import RuntimeConfig
from modelplane_operator.certs import self_signed
from modelplane_operator.cluster import KubeGateway, load_connection
from modelplane_operator.context import OperatorContext
from modelplane_operator.handlers import (
    admission,
    drift_monitor,
    model_deployment,
    model_version,
    organization,
)
from modelplane_operator.metrics import Metrics
from modelplane_operator.rollout.reconcile import RolloutContext
from modelplane_operator.settings import Settings
from modelplane_operator.sts import StsConfig, StsMinter

PREFIX = "modelplane.io"
FINALIZER = "modelplane.io/finalizer"
SAME_NAMED_RUNTIME_FIELDS = {
    "payload_bucket",
    "gateway_name",
    "gateway_namespace",
}


def resource(kind: Kind) -> tuple[str, str, str]:
    """kopf's (group, version, plural) of one of our kinds."""
    return (kind.group, kind.version, kind.plural)


def login(config: Settings) -> kopf.ConnectionInfo:
    """kopf connects as the same identity as our gateway (kubeconfig or in-cluster)."""
    conn = load_connection(config.kubeconfig)
    token = conn.bearer()
    return kopf.ConnectionInfo(
        server=conn.server,
        ca_path=conn.ca_path,
        insecure=conn.insecure,
        certificate_path=conn.cert_path,
        private_key_path=conn.key_path,
        scheme="Bearer" if token else None,
        token=token,
        default_namespace=None,
    )


def build_context(memo: Any, config: Settings) -> None:
    """Fill kopf's memo with the handlers' dependencies (see `OperatorContext`)."""
    memo.settings = config
    memo.cluster = KubeGateway(load_connection(config.kubeconfig))
    memo.fetcher = ArtifactFetcher(
        S3Config(
            endpoint_url=config.s3_endpoint_url,
            access_key=config.s3_access_key.get_secret_value() if config.s3_access_key else None,
            secret_key=config.s3_secret_key.get_secret_value() if config.s3_secret_key else None,
            region=config.s3_region,
        ),
        file_root=config.file_artifact_root,
        mlflow_uri=config.mlflow_tracking_uri,
        mlflow_token=config.mlflow_token.get_secret_value() if config.mlflow_token else None,
        timeout_s=config.download_timeout_s,
    )
    memo.limits = config.limits()
    memo.metrics = Metrics()
    memo.deployment_refs = {}
    memo.used_by_syncs = {}
    memo.rollout = RolloutContext(
        settings=config, runtime=runtime_config(config), metrics=memo.metrics.rollout
    )
    memo.drift_job = drift_job_config(config)
    memo.drift_credentials = drift_credentials_minter(config)


def runtime_config(config: Settings) -> RuntimeConfig:
    """What serving pods are told, from the operator's settings (fields of the same name are
    copied as they are; the limits are the ones the operator verifies under)."""
    same = config.model_dump(include=SAME_NAMED_RUNTIME_FIELDS)
    return RuntimeConfig(
        image=config.default_runtime_image,
        s3_endpoint_url=config.runtime_s3_endpoint_url,
        mlflow_tracking_uri=config.runtime_mlflow_tracking_uri,
        limits=config.limits(),
        node_selector=dict(config.serving_node_selector),
        tolerations=tuple(config.serving_tolerations),
        **same,
    )


def drift_job_config(config: Settings) -> JobConfig:
    """What the drift job's pods are told: the image, and the S3 endpoint and bucket the serving
    pods log to (so the job reads where they write)."""
    return JobConfig(
        image=config.monitor_image,
        payload_bucket=config.payload_bucket,
        s3_endpoint_url=config.runtime_s3_endpoint_url,
        s3_region=config.s3_region,
        node_selector=dict(config.serving_node_selector),
        tolerations=tuple(config.serving_tolerations),
        scoped_credentials=config.scoped_monitor_credentials,
    )


def drift_credentials_minter(config: Settings) -> StsMinter | None:
    """Who mints each drift job's own S3 credentials; None leaves jobs on the org's Secret."""
    if not config.scoped_monitor_credentials:
        return None
    key, secret = config.monitor_sts_access_key, config.monitor_sts_secret_key
    return StsMinter(
        StsConfig(
            endpoint_url=config.monitor_sts_endpoint_url or config.s3_endpoint_url,
            access_key=key.get_secret_value() if key else None,
            secret_key=secret.get_secret_value() if secret else None,
            region=config.s3_region,
            role_arn=config.monitor_sts_role_arn,
            duration_s=config.monitor_credentials_ttl_s,
        )
    )


def configure_kopf(settings: kopf.OperatorSettings, config: Settings) -> None:
    """Our settings onto kopf's."""
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=PREFIX)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=PREFIX, key="last-handled-configuration", ignored_fields=["status"]
    )
    settings.persistence.finalizer = FINALIZER
    settings.queueing.worker_limit = config.worker_limit
    settings.queueing.idle_timeout = config.queue_idle_timeout_s
    settings.peering.standalone = True
    settings.posting.level = logging.WARNING
    settings.networking.request_timeout = 60
    settings.watching.server_timeout = 300
    if config.webhook_mode == "managed":
        directory = config.webhook_cert_dir or Path(tempfile.mkdtemp(prefix="modelplane-webhook-"))
        paths = self_signed(directory, config.webhook_host)
        settings.admission.server = kopf.WebhookServer(
            addr=config.webhook_host,
            port=config.webhook_port,
            host=config.webhook_host,
            certfile=str(paths.certfile),
            pkeyfile=str(paths.keyfile),
        )
        settings.admission.managed = config.webhook_configuration_name
    elif config.webhook_mode == "external":
        if config.webhook_cert_dir is None:
            raise kopf.PermanentError("webhook_mode=external needs webhook_cert_dir")
        settings.admission.server = kopf.WebhookServer(
            addr="0.0.0.0",  # noqa: S104 - in a pod, the Service reaches us on the pod IP
            port=config.webhook_port,
            certfile=str(config.webhook_cert_dir / "tls.crt"),
            pkeyfile=str(config.webhook_cert_dir / "tls.key"),
        )


def quiet_http_client_logs() -> None:
    """One INFO line per Kubernetes API request (httpx's default) is noise that costs CPU at
    scale; keep those lines only when debugging."""
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        for name in ("httpx", "httpcore"):
            logging.getLogger(name).setLevel(logging.WARNING)


def register(registry: kopf.OperatorRegistry, config: Settings) -> None:
    """Register every handler of the operator on `registry`."""
    _register_process(registry, config)
    _register_organization(registry, config)
    _register_model_version_and_deployment(registry, config)
    _register_drift_monitor(registry, config)
    if config.webhook_mode != "off":
        _register_admission(registry)


def _register_process(registry: kopf.OperatorRegistry, config: Settings) -> None:
    """Log-in, start-up (kopf settings, the typed memo, the metrics endpoint) and clean-up."""

    @kopf.on.login(registry=registry)
    def login_handler(**_: Any) -> kopf.ConnectionInfo:
        return login(config)

    @kopf.on.startup(registry=registry)
    def start(
        settings: kopf.OperatorSettings, memo: OperatorContext, logger: Any, **_: Any
    ) -> None:
        try:
            configure_kopf(settings, config)
            quiet_http_client_logs()
            build_context(memo, config)
            if config.metrics_port:
                port = memo.metrics.serve(config.metrics_host, config.metrics_port)
                logger.info("metrics on http://%s:%d/metrics", config.metrics_host, port)
        except (OSError, ValueError) as exc:
            raise kopf.PermanentError(f"cannot start: {exc}") from exc

    @kopf.on.cleanup(registry=registry)
    def stop(memo: OperatorContext, **_: Any) -> None:
        if "metrics" in memo:
            memo.metrics.stop()
        if "cluster" in memo:
            memo.cluster.close()  # type: ignore[attr-defined]  # the real gateway has close()


def _register_organization(registry: kopf.OperatorRegistry, config: Settings) -> None:
    """Converge on every change and on a timer (drift repair); the finalizer on delete."""
    org = resource(ORGANIZATION)
    _converge_level_based(
        registry, org, organization.reconcile_organization, config.reconcile_interval_s, 60.0
    )
    kopf.on.delete(*org, registry=registry)(organization.delete_organization)


def _converge_level_based(
    registry: kopf.OperatorRegistry,
    kind: tuple[str, str, str],
    handler: Any,
    interval: float,
    longest_idle: float,
) -> None:
    """One reconcile on resume, create, update and a timer (the timer repairs what kopf cannot
    see change: children, referenced objects)."""
    for on in (kopf.on.resume, kopf.on.create, kopf.on.update):
        on(*kind, registry=registry)(handler)
    kopf.timer(
        *kind,
        interval=interval,
        initial_delay=interval,
        idle=min(longest_idle, interval),
        registry=registry,
    )(handler)


def _register_model_version_and_deployment(
    registry: kopf.OperatorRegistry, config: Settings
) -> None:
    """ModelVersions converge on every change; ModelDeployment events keep their `usedBy`
    current; one timer per ModelDeployment drives its rollout."""
    mv = resource(MODEL_VERSION)
    for on in (kopf.on.resume, kopf.on.create, kopf.on.update):
        on(*mv, registry=registry)(model_version.reconcile_model_version)
    kopf.on.delete(*mv, optional=True, registry=registry)(model_version.forget_model_version)
    mdep = resource(MODEL_DEPLOYMENT)
    kopf.on.event(*mdep, registry=registry)(model_version.track_deployment_references)
    kopf.timer(
        *mdep,
        interval=config.rollout_interval_s,
        backoff=config.rollout_interval_s,
        registry=registry,
    )(model_deployment.reconcile_model_deployment)
    kopf.on.delete(*mdep, optional=True, registry=registry)(
        model_deployment.forget_model_deployment
    )


def _register_drift_monitor(registry: kopf.OperatorRegistry, config: Settings) -> None:
    """Converge on every change and on a timer; every event mirrors the job's latest
    evaluation into conditions."""
    dm = resource(DRIFT_MONITOR)
    _converge_level_based(
        registry, dm, drift_monitor.reconcile_drift_monitor, config.monitor_interval_s, 30.0
    )
    kopf.on.event(*dm, registry=registry)(drift_monitor.observe_drift_monitor)
    kopf.on.delete(*dm, optional=True, registry=registry)(drift_monitor.forget_drift_monitor)


def _register_admission(registry: kopf.OperatorRegistry) -> None:
    """Validating and defaulting webhooks of the namespaced kinds."""
    writes: list[Literal["CREATE", "UPDATE", "DELETE", "CONNECT"]] = ["CREATE", "UPDATE"]
    for kind, validate, default in (
        (MODEL_VERSION, admission.validate_model_version, admission.default_model_version),
        (MODEL_DEPLOYMENT, admission.validate_model_deployment, admission.default_model_deployment),
        (DRIFT_MONITOR, admission.validate_drift_monitor, admission.default_drift_monitor),
    ):
        kopf.on.validate(
            *resource(kind), id=f"validate-{kind.singular}", operations=writes, registry=registry
        )(validate)
        kopf.on.mutate(
            *resource(kind), id=f"default-{kind.singular}", operations=writes, registry=registry
        )(default)
