"""Every sample is valid for the Pydantic models and for the generated CRD schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft4Validator  # type: ignore[import-untyped]  # no stubs in the lock

from modelplane_crds.kinds import KINDS, kind_for
from tests.crds.support import committed_schema, sample_files


@pytest.mark.parametrize("path", sample_files(), ids=lambda p: p.name)
def test_sample_validates_against_the_pydantic_model(path: Path) -> None:
    document = yaml.safe_load(path.read_text())
    model = kind_for(document["kind"]).model.model_validate(document)
    assert is_contained(document, model.to_wire())


def is_contained(written: Any, read: Any) -> bool:
    """Whether everything written survives the round trip (defaults may be added)."""
    if isinstance(written, dict):
        return isinstance(read, dict) and all(
            key in read and is_contained(value, read[key]) for key, value in written.items()
        )
    if isinstance(written, list):
        return (
            isinstance(read, list)
            and len(read) == len(written)
            and all(is_contained(w, r) for w, r in zip(written, read, strict=True))
        )
    return bool(written == read)


@pytest.mark.parametrize("path", sample_files(), ids=lambda p: p.name)
def test_sample_validates_against_the_generated_schema(path: Path) -> None:
    document = yaml.safe_load(path.read_text())
    errors = list(Draft4Validator(committed_schema(document["kind"])).iter_errors(document))
    assert [f"{list(e.absolute_path)}: {e.message}" for e in errors] == []


def test_there_is_a_sample_of_every_kind() -> None:
    kinds = {yaml.safe_load(path.read_text())["kind"] for path in sample_files()}
    assert kinds == {k.kind for k in KINDS}


def test_sample_canary_has_a_candidate_and_weight_steps() -> None:
    canary = yaml.safe_load((sample_files()[0].parent / "modeldeployment-canary.yaml").read_text())
    steps = canary["spec"]["strategy"]["canary"]["steps"]
    assert canary["spec"]["candidate"]["modelVersionRef"]["name"]
    assert [s["setWeight"] for s in steps if "setWeight" in s][-1] == 100
