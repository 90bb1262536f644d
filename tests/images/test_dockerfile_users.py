"""Each image's user is the uid its pods are given: the Dockerfiles' `USER` and `useradd --uid`
against the constants the operator builds pods from (pure: the Dockerfiles are read as text)."""

from __future__ import annotations

import re

import pytest

from modelplane_cli.local.images import REPO_ROOT
from modelplane_crds.serving import RUNTIME_UID
from modelplane_operator.builders import drift_monitor


def _users(dockerfile: str) -> tuple[set[int], set[int]]:
    """The final stage's `USER` values and the uids its `useradd` lines create."""
    text = (REPO_ROOT / dockerfile).read_text()
    final = text.split("\nFROM ")[-1]
    users = {int(u) for u in re.findall(r"^USER (\d+)", final, flags=re.MULTILINE)}
    created = {int(u) for u in re.findall(r"useradd [^\n]*--uid (\d+)", final)}
    return users, created


@pytest.mark.parametrize(
    ("dockerfile", "uid"),
    [
        ("serving-runtime/Dockerfile", RUNTIME_UID),
        ("serving-runtime/Dockerfile.gpu", RUNTIME_UID),
        ("operator/Dockerfile", drift_monitor.RUN_AS_USER),
        ("api/Dockerfile", RUNTIME_UID),  # one non-root uid for every image of the platform
    ],
)
def test_the_image_runs_as_the_uid_its_pods_are_given(dockerfile: str, uid: int) -> None:
    assert _users(dockerfile) == ({uid}, {uid})
