"""The transport-free data plane: what every OIP endpoint answers, and the inference path.

`rest.py` parses HTTP and calls one method here; this module checks the model name and
version, validates inputs against the signature (via `codecs`), runs the batcher, selects and
encodes outputs, counts schema violations and hands sampled requests to the payload logger.
"""

from __future__ import annotations

import uuid
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import numpy as np

from modelplane_runtime.batching import AdaptiveBatcher
from modelplane_runtime.codecs import decode_input
from modelplane_runtime.errors import InvalidRequest, ModelNotFound
from modelplane_runtime.metrics import RuntimeMetrics
from modelplane_runtime.model import OnnxModel
from modelplane_runtime.payload_log import PayloadLogger
from modelplane_runtime.protocol import InferenceRequest, encode_output
from modelplane_runtime.settings import RuntimeSettings

try:
    SERVER_VERSION = version("modelplane-runtime")
except PackageNotFoundError:  # running from a source tree
    SERVER_VERSION = "0.0.0"

SERVER_NAME = "modelplane-runtime"


class DataPlane:
    """Answers the OIP endpoints for the one model this process serves."""

    def __init__(
        self,
        settings: RuntimeSettings,
        model: OnnxModel,
        batcher: AdaptiveBatcher,
        metrics: RuntimeMetrics,
        payload_log: PayloadLogger,
    ) -> None:
        self.settings = settings
        self.model = model
        self.batcher = batcher
        self.metrics = metrics
        self.payload_log = payload_log
        self.name = settings.model_name
        self.version = settings.model_version
        self.ready = True
        self._metadata = {
            "name": self.name,
            "versions": [self.version],
            "platform": "onnxruntime_onnx",
            "inputs": [s.model_dump() for s in settings.signature.inputs],
            "outputs": [s.model_dump() for s in settings.signature.outputs],
        }

    def server_metadata(self) -> dict[str, Any]:
        """`GET /v2`."""
        return {
            "name": SERVER_NAME,
            "version": SERVER_VERSION,
            "extensions": ["binary_tensor_data"],
        }

    def check_model(self, name: str, model_version: str | None) -> None:
        """Raise `ModelNotFound` unless this is the served model (and version)."""
        if name != self.name:
            raise ModelNotFound(
                f"model '{name}' is not served here (this server serves '{self.name}')"
            )
        if model_version is not None and model_version != self.version:
            raise ModelNotFound(
                f"model '{name}' has no version '{model_version}' here (this "
                f"server serves version '{self.version}')"
            )

    def model_metadata(self, name: str, model_version: str | None) -> dict[str, Any]:
        """`GET /v2/models/{name}[/versions/{v}]`."""
        self.check_model(name, model_version)
        return self._metadata

    def model_ready(self, name: str, model_version: str | None) -> bool:
        """`GET /v2/models/{name}[/versions/{v}]/ready`."""
        self.check_model(name, model_version)
        return self.ready

    def _decode(self, request: InferenceRequest) -> tuple[dict[str, np.ndarray], int]:
        specs = self.model.input_specs
        settings = self.settings
        inputs: dict[str, np.ndarray] = {}
        for tensor in request.inputs:
            spec = specs.get(tensor.name)
            if spec is None:
                raise InvalidRequest(
                    f"unknown input '{tensor.name}'; the model's inputs are {sorted(specs)}",
                    violation="unknown_input",
                )
            if tensor.name in inputs:
                raise InvalidRequest(
                    f"input '{tensor.name}' is given twice", violation="duplicate_input"
                )
            inputs[tensor.name] = decode_input(
                tensor,
                spec,
                max_batch_size=settings.max_batch_size,
                allow_non_finite=settings.allow_non_finite,
            )
        if len(inputs) != len(specs):
            missing = sorted(specs.keys() - inputs.keys())
            raise InvalidRequest(f"missing input(s) {missing}", violation="missing_input")
        rows = 1
        if self.model.batchable:
            sizes = {a.shape[0] for a in inputs.values()}
            if len(sizes) != 1:
                raise InvalidRequest(
                    f"inputs disagree on the batch size: {sorted(sizes)}", violation="shape"
                )
            rows = sizes.pop()
        return inputs, rows

    async def infer(
        self,
        name: str,
        model_version: str | None,
        request: InferenceRequest,
        request_id: str | None = None,
    ) -> tuple[dict[str, Any], list[bytes]]:
        """Run one inference request; returns the response document and binary blobs.

        `request_id` (e.g. from an `x-request-id` header) names the request in payload logs
        when the body has no `id`."""
        self.check_model(name, model_version)
        try:
            inputs, rows = self._decode(request)
            wanted = self._wanted_outputs(request)
        except InvalidRequest as exc:
            self.metrics.count_violation(exc.violation)
            raise
        try:
            outputs = await self.batcher.predict(inputs, rows)
        except InvalidRequest as exc:  # onnxruntime refused inputs the signature allowed
            self.metrics.count_violation(exc.violation)
            raise
        if rows and self.payload_log.enabled and self.payload_log.sampled():
            self.payload_log.record(
                request.id or request_id or uuid.uuid4().hex, inputs, outputs, rows
            )
        specs = self.model.output_specs
        encoded, blobs = [], []
        for output_name, binary in wanted:
            entry, blob = encode_output(
                output_name, specs[output_name].datatype, outputs[output_name], binary
            )
            encoded.append(entry)
            if blob is not None:
                blobs.append(blob)
        response: dict[str, Any] = {
            "model_name": self.name,
            "model_version": self.version,
            "outputs": encoded,
        }
        if request.id is not None:
            response["id"] = request.id
        return response, blobs

    def _wanted_outputs(self, request: InferenceRequest) -> list[tuple[str, bool]]:
        if request.outputs is None:
            return [(n, request.binary_output) for n in self.model.output_names]
        wanted = []
        for output in request.outputs:
            if output.name not in self.model.output_specs:
                raise InvalidRequest(
                    f"unknown output '{output.name}'; the model's outputs are "
                    f"{self.model.output_names}",
                    violation="unknown_output",
                )
            wanted.append((output.name, output.binary))
        return wanted
