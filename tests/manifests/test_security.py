"""Security invariants of everything the builds render: every container non-root, read-only root
filesystem, no privilege escalation, all capabilities dropped, seccomp RuntimeDefault, requests
and limits set; no literal secret anywhere; the platform namespace denies ingress by default."""

from __future__ import annotations

import re

import pytest

from tests.manifests.support import (
    BUILDS,
    PLATFORM_NAMESPACE,
    SECRET_NAME,
    Manifest,
    containers,
    env_of,
    ident,
    pod_templates,
    render,
    render_text,
)

URL_WITH_PASSWORD = re.compile(r"[a-z0-9+.-]+://[^/\s:@]+:[^/\s@]+@")


@pytest.fixture(params=sorted(BUILDS))
def build(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


def _seccomp(pod: Manifest, container: Manifest) -> str | None:
    for context in (container.get("securityContext", {}), pod.get("securityContext", {})):
        if "seccompProfile" in context:
            profile: str = context["seccompProfile"]["type"]
            return profile
    return None


def test_every_build_runs_pods(build: str) -> None:
    assert list(pod_templates(render(build))), f"{build} renders no workload"


def _container_problems(pod: Manifest, c: Manifest) -> list[str]:
    pod_context = pod.get("securityContext", {})
    context = c.get("securityContext", {})
    capabilities = context.get("capabilities", {})
    checks = {
        "runAsNonRoot is not true": context.get("runAsNonRoot", pod_context.get("runAsNonRoot")),
        "no non-zero runAsUser (the image's user is unknown)": context.get(
            "runAsUser", pod_context.get("runAsUser", 0)
        ),
        "allowPrivilegeEscalation is not false": context.get("allowPrivilegeEscalation") is False,
        "privileged": not context.get("privileged"),
        "root filesystem is writable": context.get("readOnlyRootFilesystem") is True,
        "capabilities not all dropped": "ALL" in capabilities.get("drop", []),
        "adds capabilities": not capabilities.get("add"),
        "seccomp profile is not RuntimeDefault": _seccomp(pod, c) == "RuntimeDefault",
    }
    resources = c.get("resources", {})
    for bound in ("requests", "limits"):
        for resource in ("cpu", "memory"):
            checks[f"no {resource} {bound}"] = resource in resources.get(bound, {})
    return [problem for problem, ok in checks.items() if not ok]


def test_an_unhardened_container_is_reported() -> None:
    context = {"privileged": True, "capabilities": {"add": ["NET_ADMIN"]}}
    problems = _container_problems({}, {"name": "c", "securityContext": context})
    assert len(problems) == 12  # every check of _container_problems


def test_every_container_is_locked_down(build: str) -> None:
    problems = []
    for workload, template in pod_templates(render(build)):
        pod = template["spec"]
        for c in containers(pod):
            found = _container_problems(pod, c)
            problems += [f"{ident(workload)} container {c['name']}: {p}" for p in found]
        problems += [
            f"{ident(workload)}: {h}" for h in ("hostNetwork", "hostPID", "hostIPC") if pod.get(h)
        ]
    assert problems == []


def test_every_long_running_container_has_liveness_and_readiness_probes(build: str) -> None:
    missing = [
        f"{ident(workload)} {c['name']} {probe}"
        for workload, template in pod_templates(render(build))
        if workload["kind"] in {"Deployment", "StatefulSet", "DaemonSet"}
        for c in template["spec"]["containers"]
        for probe in ("livenessProbe", "readinessProbe")
        if probe not in c
    ]
    assert missing == []


def test_credentials_come_only_from_secret_references(build: str) -> None:
    literal = [
        f"{ident(workload)} {c['name']} {name}"
        for workload, template in pod_templates(render(build))
        for c in containers(template["spec"])
        for name, entry in env_of(c).items()
        if SECRET_NAME.search(name) and "secretKeyRef" not in entry.get("valueFrom", {})
    ]
    assert literal == []


def test_no_secret_values_are_shipped(build: str) -> None:
    objects = render(build)
    shipped = [
        ident(o)
        for o in objects
        if o["kind"] == "Secret" and (o.get("data") or o.get("stringData"))
    ]
    assert shipped == []
    assert URL_WITH_PASSWORD.findall(render_text(build)) == []
    configured = [
        f"{ident(o)} {key}"
        for o in objects
        if o["kind"] == "ConfigMap"
        for key in o.get("data", {})
        if SECRET_NAME.search(key)
    ]
    assert configured == []


def test_platform_namespace_denies_ingress_by_default(build: str) -> None:
    policies = [o for o in render(build) if o["kind"] == "NetworkPolicy"]
    deny = [
        p for p in policies
        if p["metadata"]["namespace"] == PLATFORM_NAMESPACE
        and p["spec"]["podSelector"] == {}
        and "Ingress" in p["spec"]["policyTypes"]
        and not p["spec"].get("ingress")
    ]  # fmt: skip
    assert len(deny) == 1


def test_platform_namespace_enforces_the_restricted_pod_security_standard(build: str) -> None:
    namespace = next(
        o for o in render(build)
        if o["kind"] == "Namespace" and o["metadata"]["name"] == PLATFORM_NAMESPACE
    )  # fmt: skip
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
