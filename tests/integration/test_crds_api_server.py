"""The generated CRDs against a real kube-apiserver: install, samples, explain, get, rejections.

The CEL rules in the CRDs are only really checked by the API server (cost estimate, syntax,
field paths), so this is where they are proven. The table of invalid objects is the one the unit
tests use (tests/crds/invalid_objects.py).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

import pytest
import yaml

from modelplane_crds.kinds import KINDS, kind_for
from tests.crds.invalid_objects import CASES, InvalidCase
from tests.crds.support import CRD_DIR, SAMPLES_DIR, Manifest, sample_files
from tests.operator.support import table_cell, wait_established

Kubectl = Callable[..., CompletedProcess[str]]

SAMPLE_NAMESPACE = "mp-acme"
TEST_NAMESPACE = "mp-crd-tests"


def _namespace(kubectl: Kubectl, name: str) -> None:
    manifest = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    kubectl("apply", "-f", "-", input=json.dumps(manifest))


@pytest.fixture(scope="module")
def crds(kubectl: Kubectl) -> Kubectl:
    """The CRDs installed from manifests/base/crds and Established."""
    kubectl("apply", "-k", str(CRD_DIR))
    wait_established(kubectl, *(kind.crd_name for kind in KINDS))
    _namespace(kubectl, SAMPLE_NAMESPACE)
    _namespace(kubectl, TEST_NAMESPACE)
    return kubectl


@pytest.fixture(scope="module")
def samples(crds: Kubectl) -> Kubectl:
    """Every sample applied."""
    crds("apply", "-k", str(SAMPLES_DIR))
    return crds


def _retry(check: Callable[[], str | None], seconds: float = 60) -> None:
    """Call `check` until it returns None (success) or time runs out; fail with its last word."""
    deadline = time.monotonic() + seconds
    while (problem := check()) is not None:
        if time.monotonic() > deadline:
            pytest.fail(problem)
        time.sleep(1)


def test_all_crds_install_and_become_established(crds: Kubectl) -> None:
    for kind in KINDS:
        crd = json.loads(crds("get", "crd", kind.crd_name, "-o", "json").stdout)
        established = [c for c in crd["status"]["conditions"] if c["type"] == "Established"]
        assert established[0]["status"] == "True"
        assert crd["spec"]["names"]["categories"] == ["modelplane"]


@pytest.mark.parametrize("path", sample_files(), ids=lambda p: p.name)
def test_every_sample_applies_and_reads_back(crds: Kubectl, path: Path) -> None:
    crds("apply", "-f", str(path))
    document = yaml.safe_load(path.read_text())
    kind = kind_for(document["kind"])
    where = ["-n", SAMPLE_NAMESPACE] if kind.scope == "Namespaced" else []
    stored = json.loads(
        crds("get", kind.plural, document["metadata"]["name"], *where, "-o", "json").stdout
    )
    read_back = kind.model.model_validate(stored).to_wire()["spec"]
    assert read_back == kind.model.model_validate(document).to_wire()["spec"]


def test_kubectl_explain_prints_our_descriptions(crds: Kubectl) -> None:
    def check() -> str | None:
        result = crds("explain", "modeldeployment.spec.strategy", check=False)
        wanted = ["How a candidate is rolled out", "canary", "shadow", "weighted steps"]
        missing = [w for w in wanted if w not in result.stdout]
        return f"explain lacks {missing}:\n{result.stdout}{result.stderr}" if missing else None

    _retry(check)


def test_get_modelplane_lists_every_kind_with_printer_columns(samples: Kubectl) -> None:
    output = samples("get", "modelplane", "-n", SAMPLE_NAMESPACE).stdout
    for name in (
        "organization.modelplane.io/acme",
        "modelversion.modelplane.io/fraud-detector-v1",
        "modeldeployment.modelplane.io/fraud-detector",
        "driftmonitor.modelplane.io/fraud-detector-inputs",
    ):
        assert name in output
    headers = {
        word for line in output.splitlines() if line.startswith("NAME") for word in line.split()
    }
    assert {
        "READY",
        "STATUS",
        "AGE",
        "MODEL",
        "VERSION",
        "STABLE",
        "CANDIDATE",
        "WEIGHT",
        "DRIFT-SHARE",
        "ORG-NAMESPACE",
    } <= headers
    # Stable, candidate and weight are what serves (status, written by the operator, which
    # does not run here): written by hand, they show up in the columns.
    status = {
        "status": {
            "stableVersion": "fraud-detector-v1",
            "candidateVersion": "fraud-detector-v2",
            "traffic": {"stable": 80, "candidate": 20},
        }
    }
    samples(
        "patch", "mdep", "fraud-detector", "-n", SAMPLE_NAMESPACE,
        "--subresource=status", "--type=merge", "-p", json.dumps(status),
    )  # fmt: skip
    table = samples("get", "mdep", "fraud-detector", "-n", SAMPLE_NAMESPACE).stdout
    assert table_cell(table, "STABLE") == "fraud-detector-v1"
    assert table_cell(table, "CANDIDATE") == "fraud-detector-v2"
    assert table_cell(table, "WEIGHT") == "20"


def _names_field(path: str, stderr: str) -> bool:
    return re.search(re.escape(path) + r'(:|")', stderr) is not None


def _place(document: Manifest, name: str) -> Manifest:
    document["metadata"]["name"] = name
    if kind_for(document["kind"]).scope == "Namespaced":
        document["metadata"]["namespace"] = TEST_NAMESPACE
    return document


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_invalid_object_is_rejected_by_the_api_server_naming_the_field(
    crds: Kubectl, case: InvalidCase
) -> None:
    name = f"invalid-{case.id}"
    kind = kind_for(case.build()["kind"])
    where = ["-n", TEST_NAMESPACE] if kind.scope == "Namespaced" else []
    crds("delete", kind.plural, name, *where, "--ignore-not-found", "--wait=true")
    try:
        if case.layer in {"transition", "status"}:
            crds("apply", "-f", "-", input=json.dumps(_place(case.original(name), name)))
        if case.layer == "status":
            status = json.dumps({"status": case.build()["status"]})
            result = crds(
                "patch",
                kind.plural,
                name,
                *where,
                "--subresource=status",
                "--type=merge",
                "-p",
                status,
                check=False,
            )
        else:
            result = crds(
                "apply", "-f", "-", input=json.dumps(_place(case.build(), name)), check=False
            )
        assert result.returncode != 0, f"accepted: {result.stdout}"
        assert _names_field(case.path, result.stderr), result.stderr
        assert case.message is None or case.message in result.stderr, result.stderr
        if case.layer not in {"transition", "status"}:
            absent = crds("get", kind.plural, name, *where, check=False)
            assert "NotFound" in absent.stderr
    finally:
        crds("delete", kind.plural, name, *where, "--ignore-not-found", "--wait=false")
