"""Assembly: settings → verified artifact → model → batcher, payload logger, data plane → app.

`load_model` does everything that can refuse a start (fetch, digest, safety, signature) so that
`main()` can turn its `ArtifactError` into a non-zero exit. `create_app` wires the parts and the
shutdown order: stop taking work, finish queued inference, flush payload logs, unload.
"""

from __future__ import annotations

import hashlib

from modelplane_runtime.artifact import fetch_artifact, s3_client
from modelplane_runtime.batching import AdaptiveBatcher
from modelplane_runtime.dataplane import DataPlane
from modelplane_runtime.errors import ConfigurationError
from modelplane_runtime.metrics import RuntimeMetrics
from modelplane_runtime.model import OnnxModel
from modelplane_runtime.payload_log import PayloadLogger, Upload, s3_upload
from modelplane_runtime.predictions import PredictionMetrics
from modelplane_runtime.rest import RestApp
from modelplane_runtime.settings import RuntimeSettings
from modelplane_runtime.shadow import ShadowMirror


def load_model(settings: RuntimeSettings, data: bytes | None = None) -> OnnxModel:
    """Fetch (unless `data` is given), verify and open the model; raises `ArtifactError`."""
    if data is None:
        data = fetch_artifact(settings)
    elif hashlib.sha256(data).hexdigest() != settings.model_sha256:
        from modelplane_runtime.errors import DigestMismatch

        raise DigestMismatch("the given model bytes do not have the declared sha256")
    return OnnxModel.load(
        data,
        settings.signature,
        allowed_domains=settings.allowed_domains,
        max_nodes=settings.max_nodes,
        providers=settings.providers,
        intra_op_threads=settings.intra_op_threads,
    )


def _check_features(settings: RuntimeSettings) -> None:
    inputs = {s.name: s for s in settings.signature.inputs}
    for feature in settings.feature_schema or ():
        if feature.input not in inputs:
            raise ConfigurationError(
                f"feature '{feature.name}' names input '{feature.input}', "
                f"which the signature does not declare"
            )


def default_upload(settings: RuntimeSettings) -> Upload | None:
    """The S3 uploader for payload logs, or None when payload logging is off."""
    if settings.payload_sample_rate <= 0:
        return None
    if not settings.payload_bucket:
        raise ConfigurationError(
            "MODELPLANE_RUNTIME_PAYLOAD_SAMPLE_RATE > 0 needs MODELPLANE_RUNTIME_PAYLOAD_BUCKET"
        )
    return s3_upload(s3_client(settings), settings.payload_bucket)


def create_app(
    settings: RuntimeSettings, model: OnnxModel, upload: Upload | None = None
) -> RestApp:
    """The ASGI app serving `model`; payload logs go to `upload` when sampling is on."""
    _check_features(settings)
    predictions = None
    if settings.prediction_metrics:
        predictions = PredictionMetrics(
            settings.signature.outputs,
            buckets=settings.prediction_buckets,
            max_classes=settings.prediction_max_classes,
        )
    metrics = RuntimeMetrics(
        settings.model_name, settings.model_version, settings.model_sha256, predictions
    )
    batcher = AdaptiveBatcher(
        model,
        metrics,
        max_batch_size=settings.max_batch_size,
        max_latency_s=settings.max_latency_ms / 1000,
        inline_threshold_s=settings.inline_threshold_ms / 1000,
    )
    payload_log = PayloadLogger(settings, metrics, upload)
    dataplane = DataPlane(settings, model, batcher, metrics, payload_log)
    mirror = None
    if settings.shadow_url and settings.shadow_percent > 0:
        mirror = ShadowMirror(
            settings.shadow_url,
            settings.shadow_percent,
            settings.shadow_tolerance,
            settings.model_version,
            metrics,
        )

    async def startup() -> None:
        payload_log.start()

    async def shutdown() -> None:
        dataplane.ready = False
        await batcher.close()
        await payload_log.close()
        if mirror is not None:
            await mirror.close()
        model.unload()

    return RestApp(dataplane, on_startup=startup, on_shutdown=shutdown, mirror=mirror)
