"""The local control plane's audit log names who changed a Modelplane resource, and as whom.

The policy is manifests/control-plane/audit-policy.yaml (Metadata level for `modelplane.io`,
nothing else); the log is `ControlPlane.audit_log`.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess
from typing import Any

import pytest

from modelplane_cli.local.platform import LocalPlatform
from modelplane_crds.kinds import kind_for
from tests.crds.support import CRD_DIR
from tests.operator.support import wait_established

Kubectl = Callable[..., CompletedProcess[str]]
ADMIN = "modelplane-admin"
"""Common name of the local platform's admin client certificate."""


@pytest.fixture(scope="module")
def audit_log(platform: LocalPlatform, kubectl: Kubectl) -> Path:
    kubectl("apply", "--server-side", "--force-conflicts", "-k", str(CRD_DIR))
    crd = kind_for("Organization").crd_name
    wait_established(kubectl, crd)
    plane = platform.control_plane
    assert plane is not None
    return plane.audit_log


def _organization(slug: str) -> str:
    return json.dumps(
        {
            "apiVersion": "modelplane.io/v1alpha1",
            "kind": "Organization",
            "metadata": {"name": slug},
            "spec": {"displayName": f"Audit {slug}", "slug": slug},
        }
    )


def _events(log: Path, name: str, seconds: float = 30) -> list[dict[str, Any]]:
    """The audit events about the Organization `name`, once there is at least one."""
    deadline = time.monotonic() + seconds
    while True:
        found = [
            event
            for line in log.read_text().splitlines()
            if (event := json.loads(line)).get("objectRef", {}).get("name") == name
        ]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


def test_a_write_shows_its_user_in_the_audit_log(audit_log: Path, kubectl: Kubectl) -> None:
    slug = f"audit-{uuid.uuid4().hex[:8]}"
    kubectl("create", "-f", "-", input=_organization(slug))

    [event] = [e for e in _events(audit_log, slug) if e["verb"] == "create"]
    assert event["level"] == "Metadata"
    assert event["stage"] == "ResponseComplete"
    assert event["user"]["username"] == ADMIN
    assert "impersonatedUser" not in event
    assert event["objectRef"]["apiGroup"] == "modelplane.io"
    assert event["objectRef"]["resource"] == "organizations"
    assert event["responseStatus"]["code"] == 201
    assert "requestObject" not in event  # Metadata level: no bodies


def test_an_impersonated_write_names_the_person_and_the_impersonator(
    audit_log: Path, kubectl: Kubectl
) -> None:
    slug = f"audit-{uuid.uuid4().hex[:8]}"
    person = f"modelplane:user:{uuid.uuid4()}"
    kubectl(
        "create",
        "-f",
        "-",
        f"--as={person}",
        "--as-group=system:masters",
        input=_organization(slug),
    )

    [event] = [e for e in _events(audit_log, slug) if e["verb"] == "create"]
    assert event["user"]["username"] == ADMIN
    assert event["impersonatedUser"]["username"] == person
    assert "system:masters" in event["impersonatedUser"]["groups"]


def test_only_modelplane_requests_are_logged(audit_log: Path, kubectl: Kubectl) -> None:
    kubectl("get", "namespaces")
    kubectl("get", "organizations")
    events = [json.loads(line) for line in audit_log.read_text().splitlines()]
    assert events
    assert {e.get("objectRef", {}).get("apiGroup") for e in events} == {"modelplane.io"}
    assert "watch" not in {e["verb"] for e in events}
