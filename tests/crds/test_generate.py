"""The generator writes deterministic files and its check mode detects drift."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from modelplane_crds.generate import API_REFERENCE, CRD_DIR, main, rendered_files
from modelplane_crds.kinds import KINDS
from modelplane_crds.schema import openapi_schema
from tests.crds.support import REPO_ROOT


def test_committed_generated_files_are_up_to_date() -> None:
    assert main(check=True, root=REPO_ROOT) == 0


def test_check_mode_writes_nothing_and_fails_on_a_missing_tree(tmp_path: Path) -> None:
    assert main(check=True, root=tmp_path) == 1
    assert list(tmp_path.iterdir()) == []


def test_check_mode_detects_an_edited_file_and_names_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(check=False, root=tmp_path) == 0
    assert main(check=True, root=tmp_path) == 0
    edited = tmp_path / CRD_DIR / "modelplane.io_modelversions.yaml"
    edited.write_text(edited.read_text().replace("maxLength: 63", "maxLength: 64", 1))
    capsys.readouterr()
    assert main(check=True, root=tmp_path) == 1
    assert "modelplane.io_modelversions.yaml" in capsys.readouterr().err
    assert "maxLength: 64" in edited.read_text()


def test_rendering_is_deterministic() -> None:
    assert rendered_files() == rendered_files()


def test_every_crd_file_has_the_do_not_edit_header_and_parses() -> None:
    files = rendered_files()
    for kind in KINDS:
        text = files[CRD_DIR / f"modelplane.io_{kind.plural}.yaml"]
        assert text.startswith("# DO NOT EDIT")
        assert yaml.safe_load(text)["metadata"]["name"] == f"{kind.plural}.modelplane.io"
    kustomization = yaml.safe_load(files[CRD_DIR / "kustomization.yaml"])
    assert len(kustomization["resources"]) == len(KINDS)


def test_api_reference_has_a_section_per_kind_and_every_field() -> None:
    reference = rendered_files()[API_REFERENCE]
    for kind in KINDS:
        assert f"\n## {kind.kind}\n" in reference
        spec = openapi_schema(kind)["properties"]["spec"]
        for name, field in spec["properties"].items():
            assert f"`spec.{name}`" in reference
            assert field["description"].split(".")[0] in reference
