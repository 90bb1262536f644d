"""Routes of `/api/v1/organizations/{org_id}/models` and their versions.

`upload_router` holds the one route that takes files; the request middleware gives its path the
upload body limit (`max_upload_bytes` + 1 MiB of form overhead), every other route keeps the
small one (`max_body_bytes`).
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Response, UploadFile, status
from pydantic import ValidationError

from modelplane_api.audit.recorder import audited
from modelplane_api.deps import Audit, Commit, Ctx, OrgAccess, SessionDep, known_filters, require
from modelplane_api.envelope import ERROR_RESPONSES, Envelope, PageEnvelope, ok, page
from modelplane_api.errors import BadRequest
from modelplane_api.pagination import Paging
from modelplane_api.permissions import Permission
from modelplane_api.registry import from_run, service, versions
from modelplane_api.registry.schemas import (
    ModelCreate,
    ModelPublic,
    ModelUpdate,
    VersionDetail,
    VersionFromRun,
    VersionOptions,
    VersionPublic,
)
from modelplane_api.registry.service import ModelSort
from modelplane_api.registry.uploads import Upload
from modelplane_api.registry.versions import VersionSort

PREFIX = "/organizations/{org_id}/models"
router = APIRouter(prefix=PREFIX, tags=["models"], responses=ERROR_RESPONSES)
upload_router = APIRouter(prefix=PREFIX, tags=["models"], responses=ERROR_RESPONSES)
SHA256 = r"^[A-Fa-f0-9]{64}$"


@router.get("", operation_id="list_models")
async def list_models(
    session: SessionDep,
    paging: Paging,
    access: Annotated[OrgAccess, require(Permission.MODEL_READ)],
    _: Annotated[None, known_filters("name", "project_id")],
    sort: ModelSort = "-created_at",
    filter_name: Annotated[str | None, Query(alias="filter[name]", max_length=50)] = None,
    filter_project_id: Annotated[uuid.UUID | None, Query(alias="filter[project_id]")] = None,
) -> PageEnvelope[ModelPublic]:
    """Models of an organization, newest first."""
    items, total = await service.list_models(
        session,
        access.organization_id,
        paging,
        sort,
        name=filter_name,
        project_id=filter_project_id,
    )
    return page(items, page=paging.page, limit=paging.limit, total=total)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    operation_id="create_model",
    openapi_extra=audited("model.create", "model"),
)
async def create_model(
    body: ModelCreate,
    session: SessionDep,
    ctx: Ctx,
    audit: Audit,
    access: Annotated[OrgAccess, require(Permission.MODEL_CREATE)],
) -> Envelope[ModelPublic]:
    """Register a model (mirrored as a registered model in the org's MLflow workspace)."""
    return ok(
        await service.create_model(
            session, ctx, access.organization_id, access.principal.user_id, body, audit
        )
    )


@router.get("/{model_id}", operation_id="get_model")
async def get_model(
    model_id: uuid.UUID,
    session: SessionDep,
    access: Annotated[OrgAccess, require(Permission.MODEL_READ)],
) -> Envelope[ModelPublic]:
    """One model."""
    return ok(await service.get_model(session, access.organization_id, model_id))


@router.patch(
    "/{model_id}", operation_id="update_model", openapi_extra=audited("model.update", "model")
)
async def update_model(
    model_id: uuid.UUID,
    body: ModelUpdate,
    session: SessionDep,
    ctx: Ctx,
    audit: Audit,
    access: Annotated[OrgAccess, require(Permission.MODEL_UPDATE)],
) -> Envelope[ModelPublic]:
    """Change a model's description, project, task type or tags."""
    return ok(
        await service.update_model(
            session, access.cluster(ctx), access.organization_id, model_id, body, audit
        )
    )


@router.delete(
    "/{model_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="delete_model",
    openapi_extra=audited("model.delete", "model"),
)
async def delete_model(
    model_id: uuid.UUID,
    session: SessionDep,
    ctx: Ctx,
    audit: Audit,
    access: Annotated[OrgAccess, require(Permission.MODEL_DELETE)],
) -> None:
    """Delete a model and its ModelVersions (409 while a deployment serves one)."""
    await service.delete_model(
        session, access.cluster(ctx), access.organization_id, model_id, ctx.clock(), audit
    )


def _options(metadata: str | None) -> VersionOptions:
    """The `metadata` part: any text to the OpenAPI schema, so JSON it does not hold is a 400
    naming the fields, like every rule beyond the schema."""
    if not metadata:
        return VersionOptions()
    try:
        return VersionOptions.model_validate_json(metadata)
    except ValidationError as exc:
        raise BadRequest(
            "metadata is not valid: " + exc.errors()[0]["msg"],
            [
                {"loc": ["body", "metadata", *e["loc"]], "message": e["msg"], "type": e["type"]}
                for e in exc.errors()
            ],
        ) from exc


@upload_router.post(
    "/{model_id}/versions",
    status_code=status.HTTP_201_CREATED,
    operation_id="create_model_version",
    openapi_extra=audited("model_version.create", "model_version"),
    responses={202: {"description": "Stored; the ModelVersion waits for the cluster (pending)"}},
)
async def create_version(
    model_id: uuid.UUID,
    file: Annotated[UploadFile, File(description="The ONNX model file")],
    session: SessionDep,
    ctx: Ctx,
    audit: Audit,
    commit: Commit,
    response: Response,
    access: Annotated[OrgAccess, require(Permission.MODEL_VERSION_CREATE)],
    # Optional parts are typed without `| None`: a nullable multipart part has no meaning (a
    # part is there or not), and OpenAPI clients would send the text "null" for it.
    metadata: Annotated[
        str,
        Form(
            max_length=1_000_000,
            description="JSON: `description`, `signature` (default: read from the graph), "
            "`features` (the schema drift monitoring uses)",
        ),
    ] = "",
    reference: Annotated[
        UploadFile, File(description="Optional Parquet reference dataset for drift")
    ] = None,  # type: ignore[assignment]
    reference_sha256: Annotated[
        str,  # noqa: RUF013 - see above
        Form(pattern=SHA256, description="Expected sha256 of the reference dataset"),
    ] = None,  # type: ignore[assignment]
) -> Envelope[VersionPublic]:
    """Upload an ONNX file as the model's next version (201), or 202 when the cluster is
    unreachable: the version is stored and its ModelVersion applied when the cluster is back."""
    options = _options(metadata)
    created, pending = await versions.create_version(
        session,
        ctx,
        access.organization_id,
        model_id,
        access.principal.user_id,
        _upload(file),
        options,
        _upload(reference) if reference is not None else None,
        reference_sha256,
        audit,
        commit,
        caller=access.caller,
    )
    return _answer(created, pending, response)


@router.post(
    "/{model_id}/versions/from-run",
    status_code=status.HTTP_201_CREATED,
    operation_id="create_model_version_from_run",
    openapi_extra=audited("model_version.create_from_run", "model_version"),
    responses={202: {"description": "Stored; the ModelVersion waits for the cluster (pending)"}},
)
async def create_version_from_run(
    model_id: uuid.UUID,
    body: VersionFromRun,
    session: SessionDep,
    ctx: Ctx,
    audit: Audit,
    commit: Commit,
    response: Response,
    access: Annotated[OrgAccess, require(Permission.MODEL_VERSION_CREATE)],
) -> Envelope[VersionPublic]:
    """Register the ONNX model an MLflow run of this organization logged (201, or 202 pending);
    other flavours are refused with how to convert them."""
    created, pending = await from_run.create_version_from_run(
        session, ctx, access.organization_id, model_id, access.principal.user_id, body, audit,
        commit, caller=access.caller,
    )  # fmt: skip
    return _answer(created, pending, response)


def _answer(created: VersionPublic, pending: bool, response: Response) -> Envelope[VersionPublic]:
    """201, or 202 (the service audited it as such) when the cluster did not answer."""
    if pending:
        response.status_code = status.HTTP_202_ACCEPTED
    return ok(created)


def _upload(part: UploadFile) -> Upload:
    return Upload(part.file, part.size or 0, part.filename or "")


@router.get("/{model_id}/versions", operation_id="list_model_versions")
async def list_versions(
    model_id: uuid.UUID,
    session: SessionDep,
    ctx: Ctx,
    paging: Paging,
    access: Annotated[OrgAccess, require(Permission.MODEL_READ)],
    sort: VersionSort = "-version",
) -> PageEnvelope[VersionPublic]:
    """A model's versions with their state in the cluster."""
    items, total = await versions.list_versions(
        session, access.cluster(ctx), access.organization_id, model_id, paging, sort
    )
    return page(items, page=paging.page, limit=paging.limit, total=total)


@router.get("/{model_id}/versions/{version_id}", operation_id="get_model_version")
async def get_version(
    model_id: uuid.UUID,
    version_id: uuid.UUID,
    session: SessionDep,
    ctx: Ctx,
    access: Annotated[OrgAccess, require(Permission.MODEL_READ)],
) -> Envelope[VersionDetail]:
    """One version: its state, conditions and Kubernetes Events, read from the cluster."""
    return ok(
        await versions.get_version(
            session, access.cluster(ctx), access.organization_id, model_id, version_id
        )
    )
