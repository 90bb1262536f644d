"""Routes of `/api/v1/organizations/{org_id}/deployments/{name}/…` that speak the Open
Inference Protocol v2: the deployment's own paths under the deployment's URL, so a standard
client pointed at `…/deployments/{name}` works (tritonclient: `url="host:port/api/v1/…/
deployments/{name}"`), plus `POST …/infer`, which needs no model name.

Answers are the deployment's own, unchanged (no envelope); the facade's own refusals (401,
403, 404, 413, 429, 503) keep the API's error envelope. No audit event: inference changes
nothing (requests are counted in the runtime's metrics and sampled in its payload log).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from modelplane_api.audit.recorder import unaudited
from modelplane_api.deployments.schemas import DeploymentName
from modelplane_api.deps import Ctx, InferenceAccess, InferenceCaller
from modelplane_api.envelope import ERROR_RESPONSES, request_id_var
from modelplane_api.inference.proxy import ServingProxy
from modelplane_api.registry.resources import namespace_of

OIP_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}},
    "description": "The deployment's own error answer (OIP v2).",
}
EITHER_ERROR = {
    "application/json": {
        "schema": {"anyOf": [{"$ref": "#/components/schemas/ErrorEnvelope"}, OIP_ERROR]}
    }
}
RESPONSES: dict[int | str, dict[str, Any]] = {
    **{code: ERROR_RESPONSES[code] for code in (401, 403, 429, 503)},
    **{
        code: {"description": text, "content": EITHER_ERROR}
        for code, text in {
            400: "Bad request: the facade's, or the deployment's (shape, datatype, JSON)",
            404: "Not found: the deployment (facade) or the model (deployment)",
            413: "Body too large for the facade or the deployment",
            422: "The deployment refused the inputs",
        }.items()
    },
}
"""The facade's refusals carry the envelope; the deployment's come back as OIP errors."""

router = APIRouter(
    prefix="/organizations/{org_id}/deployments/{name}", tags=["inference"], responses=RESPONSES
)
ModelName = Annotated[str, Path(min_length=1, max_length=253, pattern=r"^[A-Za-z0-9._-]+$")]
OIP_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "An Open Inference Protocol v2 inference request (JSON, or JSON followed "
        "by binary tensor data with `Inference-Header-Content-Length`).",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["inputs"],
                    "properties": {"inputs": {"type": "array", "items": {"type": "object"}}},
                }
            },
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    },
    "responses": {"200": {"description": "The deployment's OIP v2 answer, unchanged."}},
    **unaudited("an inference call changes nothing; the runtime counts and samples it"),
}


@dataclass(frozen=True)
class OipCall:
    """What is forwarded of the caller's request: body, headers and request id."""

    body: bytes
    headers: dict[str, str]
    request_id: str


async def _oip_call(request: Request) -> OipCall:
    body = await request.body() if request.method == "POST" else b""
    headers = {k.lower(): v for k, v in request.headers.items()}
    return OipCall(body, headers, request_id_var.get())


Call = Annotated[OipCall, Depends(_oip_call)]


async def _forward(ctx: Ctx, caller: InferenceCaller, call: OipCall, name: str, method: str,
                   path: str) -> Response:  # fmt: skip
    proxy: ServingProxy = ctx.serving
    namespace = namespace_of(caller.slug)
    forwarded = await proxy.forward(
        namespace, name, method, path, call.body, call.headers, call.request_id
    )
    return Response(
        content=forwarded.body, status_code=forwarded.status_code, headers=forwarded.headers
    )


@router.post("/infer", operation_id="infer", response_class=Response, openapi_extra=OIP_BODY)
async def infer(name: DeploymentName, ctx: Ctx, caller: InferenceAccess, call: Call) -> Response:
    """Predict with the deployment (its model's `/v2/models/<model>/infer`): the traffic split
    of a canary applies."""
    endpoint = await ctx.serving.endpoint(namespace_of(caller.slug), name)
    return await _forward(ctx, caller, call, name, "POST", f"/v2/models/{endpoint.model}/infer")


@router.post(
    "/v2/models/{model}/infer",
    operation_id="infer_model",
    response_class=Response,
    openapi_extra=OIP_BODY,
)
async def infer_model(
    name: DeploymentName, model: ModelName, ctx: Ctx, caller: InferenceAccess, call: Call
) -> Response:
    """OIP v2 `POST /v2/models/{model}/infer` of the deployment."""
    return await _forward(ctx, caller, call, name, "POST", f"/v2/models/{model}/infer")


@router.get("/v2/models/{model}", operation_id="model_metadata", response_class=Response)
async def model_metadata(
    name: DeploymentName, model: ModelName, ctx: Ctx, caller: InferenceAccess, call: Call
) -> Response:
    """OIP v2 model metadata: inputs and outputs with their datatypes and shapes."""
    return await _forward(ctx, caller, call, name, "GET", f"/v2/models/{model}")


@router.get("/v2/models/{model}/ready", operation_id="model_ready", response_class=Response)
async def model_ready(
    name: DeploymentName, model: ModelName, ctx: Ctx, caller: InferenceAccess, call: Call
) -> Response:
    """OIP v2 model readiness."""
    return await _forward(ctx, caller, call, name, "GET", f"/v2/models/{model}/ready")


@router.get("/v2/health/{probe}", operation_id="deployment_health", response_class=Response)
async def deployment_health(
    name: DeploymentName,
    probe: Annotated[str, Path(pattern="^(live|ready)$")],
    ctx: Ctx,
    caller: InferenceAccess,
    call: Call,
) -> Response:
    """OIP v2 server liveness (`live`) and readiness (`ready`) of the deployment."""
    return await _forward(ctx, caller, call, name, "GET", f"/v2/health/{probe}")


@router.get("/v2", operation_id="deployment_server_metadata", response_class=Response)
async def deployment_server_metadata(
    name: DeploymentName, ctx: Ctx, caller: InferenceAccess, call: Call
) -> Response:
    """OIP v2 server metadata (name, version, extensions) of the deployment."""
    return await _forward(ctx, caller, call, name, "GET", "/v2")
