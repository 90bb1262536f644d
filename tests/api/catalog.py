"""The organization-scoped routes of the facade and how to call each one in a test.

`org_routes()` reads the routes and their required permission from a real app, so the matrices
in test_rbac.py and test_tenancy.py are generated from the code: a new route without a recipe
here makes `test_every_org_route_has_a_recipe` fail.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from fastapi.routing import APIRoute, iter_route_contexts

from modelplane_api.deps import RequirePermission, inference_access
from modelplane_api.main import create_app
from modelplane_api.permissions import Permission
from tests.api.fakes import RecordingClusterGateway
from tests.mlflow_registry import log_model_run, tracked_runs

from .conftest import SERVED_MODEL, Api, make_settings, small_model, version_form


@dataclass(frozen=True)
class OrgRoute:
    method: str
    path: str
    permission: Permission
    success_status: int

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


def _permission_of(route: APIRoute) -> Permission | None:
    pending = list(route.dependant.dependencies)
    while pending:
        dependant = pending.pop()
        if isinstance(dependant.call, RequirePermission):
            return dependant.call.permission
        if dependant.call is inference_access:
            return Permission.DEPLOYMENT_INFER
        pending.extend(dependant.dependencies)
    return None


def org_routes() -> list[OrgRoute]:
    """Every route guarded by a permission of the table, read from a freshly built app."""
    app = create_app(make_settings())
    found = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and (permission := _permission_of(route)) is not None:
            for method in sorted(route.methods or ()):
                found.append(
                    OrgRoute(method, str(context.path), permission, route.status_code or 200)
                )
    return found


@dataclass
class World:
    """One organization with a resource of every kind, plus a registered outsider."""

    org_id: str
    admin: dict[str, Any]
    member: dict[str, Any]
    project_id: str
    key_id: str
    model_id: str
    version_id: str
    run_id: str
    monitor: str
    deployment: str
    outsider: dict[str, Any]
    version2_id: str
    """A second Ready version of the model, to roll out."""
    rolling: str
    """A deployment with a rollout (to version 2) in progress."""
    experiment_id: str
    """An MLflow experiment of the organization with two tracked runs."""
    tracked_run_ids: list[str]


def add_deployment_object(
    gateway: RecordingClusterGateway, namespace: str, name: str = "serving"
) -> str:
    """A ModelDeployment in a recording gateway, as if a platform engineer had applied it."""
    gateway.objects[("modeldeployments", namespace, name)] = {
        "apiVersion": "modelplane.io/v1alpha1",
        "kind": "ModelDeployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"stable": {"modelVersionRef": {"name": "m-v1"}}},
    }
    return name


READY = {
    "conditions": [
        {
            "type": "Ready",
            "status": "True",
            "reason": "Verified",
            "message": "digest and signature verified",
            "lastTransitionTime": "2026-12-01T10:00:00Z",
        }
    ]
}
"""The status the operator gives a verified ModelVersion."""


def mark_ready(gateway: RecordingClusterGateway, namespace: str, resource_name: str) -> None:
    """Set a ModelVersion's status Ready, as the operator would after verifying it."""
    gateway.objects[("modelversions", namespace, resource_name)]["status"] = dict(READY)


@dataclass
class Served:
    """An organization whose deployment `fraud-staging` of model `served` is Ready."""

    api: Api
    admin: dict[str, Any]
    org: dict[str, Any]
    version: dict[str, Any]
    """The deployed version (its `resource_name` is the ModelVersion's)."""
    url: str
    """`/api/v1/organizations/<org>/deployments/fraud-staging`"""


async def serve(api: Api, runtime_url: str | None = None) -> Served:
    """A new organization with deployment `fraud-staging` of a fresh version of model `served`,
    its Service answered by the serving runtime at `runtime_url` (when given)."""
    admin = await api.register("ds")
    org = await api.create_org(admin)
    model = await api.create_model(admin, org["id"], SERVED_MODEL)
    version = (await api.upload_version(admin, org["id"], model["id"])).json()["data"]
    namespace = f"mp-{org['slug']}"
    mark_ready(api.gateway, namespace, version["resource_name"])
    base = f"/api/v1/organizations/{org['id']}/deployments"
    created = await api.client.post(
        base, headers=admin["headers"], json={"version_id": version["id"], "name": "fraud-staging"}
    )
    assert created.status_code == 201, created.text
    if runtime_url is not None:
        api.gateway.services[(namespace, "fraud-staging")] = runtime_url
    return Served(api, admin, org, version, f"{base}/fraud-staging")


def add_deployment(api: Api, namespace: str, name: str = "serving") -> str:
    """A ModelDeployment in the app's recording gateway."""
    return add_deployment_object(api.gateway, namespace, name)


async def deployed(api: Api, **body: Any) -> tuple[dict[str, Any], dict[str, Any], str]:
    """An admin, their organization and its deployment `fraud-staging` of a Ready version of
    model `fraud` (`body` adds to the create call); the deployment's API path."""
    admin = await api.register("ds")
    org = await api.create_org(admin)
    model = await api.create_model(admin, org["id"], "fraud")
    version = (await api.upload_version(admin, org["id"], model["id"])).json()["data"]
    mark_ready(api.gateway, f"mp-{org['slug']}", version["resource_name"])
    base = f"/api/v1/organizations/{org['id']}/deployments"
    created = await api.client.post(
        base, headers=admin["headers"], json={"version_id": version["id"], **body}
    )
    assert created.status_code == 201, created.text
    return admin, org, f"{base}/fraud-staging"


async def build_world(api: Api, serving: str | None = None) -> World:
    """Create an organization populated with one of everything; with `serving` (a runtime's
    URL, serving `SERVED_MODEL`), its deployments answer inference calls."""
    admin = await api.register("admin")
    org = await api.create_org(admin)
    member = await api.register("member")
    await api.add_member(admin, org["id"], member, "viewer")
    project = await api.create_project(admin, org["id"])
    key = await api.create_api_key(admin, org["id"], "viewer")
    model = await api.create_model(admin, org["id"], SERVED_MODEL)
    version = await api.upload_version(admin, org["id"], model["id"])
    assert version.status_code == 201, version.text
    run_id = log_model_run(api.mlflow, f"mp-{org['slug']}", small_model())
    namespace = f"mp-{org['slug']}"
    deployment = add_deployment(api, namespace)
    mark_ready(api.gateway, namespace, version.json()["data"]["resource_name"])
    served = await api.client.post(
        f"/api/v1/organizations/{org['id']}/deployments",
        headers=admin["headers"],
        json={"version_id": version.json()["data"]["id"], "name": f"d-{uuid.uuid4().hex[:8]}"},
    )
    assert served.status_code == 201, served.text
    second = await api.upload_version(admin, org["id"], model["id"])
    assert second.status_code == 201, second.text
    mark_ready(api.gateway, namespace, second.json()["data"]["resource_name"])
    deployments = f"/api/v1/organizations/{org['id']}/deployments"
    rolling = await api.client.post(
        deployments,
        headers=admin["headers"],
        json={"version_id": version.json()["data"]["id"], "name": f"r-{uuid.uuid4().hex[:8]}"},
    )
    assert rolling.status_code == 201, rolling.text
    started = await api.client.post(
        f"{deployments}/{rolling.json()['data']['name']}/rollouts",
        headers=admin["headers"],
        json={"version_id": second.json()["data"]["id"], "preset": "all-at-once"},
    )
    assert started.status_code == 201, started.text
    if serving is not None:
        for name in (served.json()["data"]["name"], rolling.json()["data"]["name"]):
            api.gateway.services[(namespace, name)] = serving
    monitor = await api.client.post(
        f"/api/v1/organizations/{org['id']}/monitors",
        headers=admin["headers"],
        json={
            "name": f"drift-{uuid.uuid4().hex[:6]}",
            "spec": {"deploymentRef": {"name": deployment}},
        },
    )
    assert monitor.status_code == 201, monitor.text
    outsider = await api.register("outsider")
    experiment_id, tracked = tracked_runs(api.mlflow, namespace)
    return World(
        org["id"],
        admin,
        member,
        project["id"],
        key["id"],
        model["id"],
        version.json()["data"]["id"],
        run_id,
        monitor.json()["data"]["name"],
        served.json()["data"]["name"],
        outsider,
        second.json()["data"]["id"],
        rolling.json()["data"]["name"],
        experiment_id,
        tracked,
    )


ROLLOUT_ACTIONS = ("/promote", "/pause", "/resume", "/rollback")
INFER_BODY = {
    "inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [0.1, 0.2, 0.3, 0.4]}]
}
"""An inference request `SERVED_MODEL` answers."""


def _name_for(route: OrgRoute, world: World) -> str:
    """The deployment or monitor a route names: a rollout action acts on the rolling one."""
    if "/deployments/" not in route.path:
        return world.monitor
    return world.rolling if route.path.endswith(ROLLOUT_ACTIONS) else world.deployment


def request_for(
    route: OrgRoute, world: World, *, ids_from: World | None = None
) -> tuple[str, dict[str, Any] | None, dict[str, Any]]:
    """(url, json body, query) to call `route` on `world`; resource ids from `ids_from`."""
    source = ids_from or world
    url = route.path.format(
        org_id=world.org_id,
        project_id=source.project_id,
        key_id=source.key_id,
        user_id=source.member["id"],
        model_id=source.model_id,
        version_id=source.version_id,
        name=_name_for(route, source),
        model=SERVED_MODEL,
        probe="ready",
        experiment_id=source.experiment_id,
        run_id=source.tracked_run_ids[0],
    )
    query: dict[str, Any] = {}
    bodies: dict[str, dict[str, Any] | None] = {
        "PATCH /api/v1/organizations/{org_id}": {"description": "changed"},
        "POST /api/v1/organizations/{org_id}/members": {
            "email": world.outsider["email"],
            "role": "viewer",
        },
        "PATCH /api/v1/organizations/{org_id}/members/{user_id}": {"role": "developer"},
        "POST /api/v1/organizations/{org_id}/projects": {"name": f"p-{uuid.uuid4().hex[:8]}"},
        "PATCH /api/v1/organizations/{org_id}/projects/{project_id}": {"description": "new"},
        "POST /api/v1/organizations/{org_id}/api-keys": {"name": "k", "role": "viewer"},
        "POST /api/v1/organizations/{org_id}/models": {"name": f"m-{uuid.uuid4().hex[:8]}"},
        "PATCH /api/v1/organizations/{org_id}/models/{model_id}": {"description": "new"},
        "POST /api/v1/organizations/{org_id}/models/{model_id}/versions/from-run": {
            "run_id": source.run_id
        },
        "POST /api/v1/organizations/{org_id}/deployments": {"version_id": source.version_id},
        "PATCH /api/v1/organizations/{org_id}/deployments/{name}": {"scaling": {"replicas": 2}},
        "POST /api/v1/organizations/{org_id}/deployments/{name}/rollouts": {
            "version_id": source.version2_id
        },
        "POST /api/v1/organizations/{org_id}/deployments/{name}/infer": INFER_BODY,
        "POST /api/v1/organizations/{org_id}/deployments/{name}/feedback": {
            "rows": [{"request_id": "r-1", "label": "1", "observed_at": "2026-12-07T05:00:00Z"}]
        },
        "POST /api/v1/organizations/{org_id}/deployments/{name}/v2/models/{model}/infer": (
            INFER_BODY
        ),
        "POST /api/v1/organizations/{org_id}/experiments": {"name": f"e-{uuid.uuid4().hex[:8]}"},
        "PATCH /api/v1/organizations/{org_id}/experiments/{experiment_id}": {
            "name": f"renamed-{uuid.uuid4().hex[:8]}"
        },
        "POST /api/v1/organizations/{org_id}/monitors": {
            "name": f"m-{uuid.uuid4().hex[:8]}",
            "spec": {"deploymentRef": {"name": "serving"}},
        },
        "PUT /api/v1/organizations/{org_id}/monitors/{name}": {
            "spec": {"deploymentRef": {"name": "serving"}, "schedule": "*/30 * * * *"}
        },
    }
    if route.path == "/api/v1/audit-events":
        query["organization_id"] = world.org_id
    if route.key == "GET /api/v1/organizations/{org_id}/deployments/{name}/feedback":
        query["request_id"] = "r-1"
    if route.key == "GET /api/v1/organizations/{org_id}/runs/metrics":
        query.update(run_id=source.tracked_run_ids, key="loss")
    if route.key == "GET /api/v1/organizations/{org_id}/runs/compare":
        query["run_id"] = source.tracked_run_ids
    return url, bodies.get(route.key), query


UPLOAD_ROUTES = {"POST /api/v1/organizations/{org_id}/models/{model_id}/versions"}


def files_for(route: OrgRoute) -> dict[str, Any] | None:
    """The multipart form of an upload route, None for JSON routes."""
    return version_form() if route.key in UPLOAD_ROUTES else None


KNOWN_ROUTES = {
    "GET /api/v1/organizations/{org_id}",
    "PATCH /api/v1/organizations/{org_id}",
    "GET /api/v1/organizations/{org_id}/members",
    "POST /api/v1/organizations/{org_id}/members",
    "PATCH /api/v1/organizations/{org_id}/members/{user_id}",
    "DELETE /api/v1/organizations/{org_id}/members/{user_id}",
    "GET /api/v1/organizations/{org_id}/projects",
    "POST /api/v1/organizations/{org_id}/projects",
    "GET /api/v1/organizations/{org_id}/projects/{project_id}",
    "PATCH /api/v1/organizations/{org_id}/projects/{project_id}",
    "DELETE /api/v1/organizations/{org_id}/projects/{project_id}",
    "GET /api/v1/organizations/{org_id}/api-keys",
    "POST /api/v1/organizations/{org_id}/api-keys",
    "DELETE /api/v1/organizations/{org_id}/api-keys/{key_id}",
    "GET /api/v1/audit-events",
    "GET /api/v1/organizations/{org_id}/models",
    "POST /api/v1/organizations/{org_id}/models",
    "GET /api/v1/organizations/{org_id}/models/{model_id}",
    "PATCH /api/v1/organizations/{org_id}/models/{model_id}",
    "DELETE /api/v1/organizations/{org_id}/models/{model_id}",
    "GET /api/v1/organizations/{org_id}/models/{model_id}/versions",
    "POST /api/v1/organizations/{org_id}/models/{model_id}/versions",
    "POST /api/v1/organizations/{org_id}/models/{model_id}/versions/from-run",
    "GET /api/v1/organizations/{org_id}/models/{model_id}/versions/{version_id}",
    "GET /api/v1/organizations/{org_id}/monitors",
    "POST /api/v1/organizations/{org_id}/monitors",
    "GET /api/v1/organizations/{org_id}/monitors/{name}",
    "PUT /api/v1/organizations/{org_id}/monitors/{name}",
    "DELETE /api/v1/organizations/{org_id}/monitors/{name}",
    "GET /api/v1/organizations/{org_id}/deployments",
    "POST /api/v1/organizations/{org_id}/deployments",
    "GET /api/v1/organizations/{org_id}/deployments/{name}",
    "PATCH /api/v1/organizations/{org_id}/deployments/{name}",
    "DELETE /api/v1/organizations/{org_id}/deployments/{name}",
    "GET /api/v1/organizations/{org_id}/deployments/{name}/events",
    "GET /api/v1/organizations/{org_id}/deployments/{name}/metrics",
    "GET /api/v1/organizations/{org_id}/usage",
    "POST /api/v1/organizations/{org_id}/deployments/{name}/rollouts",
    "GET /api/v1/organizations/{org_id}/deployments/{name}/rollouts",
    "POST /api/v1/organizations/{org_id}/deployments/{name}/promote",
    "POST /api/v1/organizations/{org_id}/deployments/{name}/pause",
    "POST /api/v1/organizations/{org_id}/deployments/{name}/resume",
    "POST /api/v1/organizations/{org_id}/deployments/{name}/rollback",
    "POST /api/v1/organizations/{org_id}/deployments/{name}/promote-to-production",
    "POST /api/v1/organizations/{org_id}/deployments/{name}/infer",
    "POST /api/v1/organizations/{org_id}/deployments/{name}/feedback",
    "GET /api/v1/organizations/{org_id}/deployments/{name}/feedback",
    "GET /api/v1/organizations/{org_id}/deployments/{name}/payload-logs",
    "GET /api/v1/organizations/{org_id}/deployments/{name}/payload-logs/sample",
    "POST /api/v1/organizations/{org_id}/deployments/{name}/v2/models/{model}/infer",
    "GET /api/v1/organizations/{org_id}/deployments/{name}/v2/models/{model}",
    "GET /api/v1/organizations/{org_id}/deployments/{name}/v2/models/{model}/ready",
    "GET /api/v1/organizations/{org_id}/deployments/{name}/v2/health/{probe}",
    "GET /api/v1/organizations/{org_id}/deployments/{name}/v2",
    "GET /api/v1/organizations/{org_id}/experiments",
    "POST /api/v1/organizations/{org_id}/experiments",
    "GET /api/v1/organizations/{org_id}/experiments/{experiment_id}",
    "PATCH /api/v1/organizations/{org_id}/experiments/{experiment_id}",
    "DELETE /api/v1/organizations/{org_id}/experiments/{experiment_id}",
    "GET /api/v1/organizations/{org_id}/runs",
    "GET /api/v1/organizations/{org_id}/runs/metrics",
    "GET /api/v1/organizations/{org_id}/runs/compare",
    "GET /api/v1/organizations/{org_id}/runs/{run_id}",
}
