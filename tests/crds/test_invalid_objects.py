"""Invalid objects are rejected by the models and the generated schema, naming the field.

The same table drives tests/integration/test_crds_api_server.py against the real API server;
here it checks the Python twins of the CEL rules and the OpenAPI part of the schema.
"""

from __future__ import annotations

import pytest
from jsonschema import Draft4Validator  # type: ignore[import-untyped]  # no stubs in the lock
from pydantic import ValidationError

from modelplane_crds.kinds import kind_for
from tests.crds.invalid_objects import CASES, InvalidCase
from tests.crds.support import committed_schema, format_path, pydantic_error_paths

NOT_TRANSITIONS = [c for c in CASES if c.layer != "transition"]
SCHEMA_CASES = [c for c in CASES if c.layer in {"schema", "status"}]
TRANSITIONS = [c for c in CASES if c.layer == "transition"]


def test_the_table_has_at_least_fifteen_cases_over_every_layer() -> None:
    assert len(CASES) >= 15
    assert {c.layer for c in CASES} == {
        "schema",
        "rule",
        "list-map",
        "unknown-field",
        "status",
        "transition",
    }
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", NOT_TRANSITIONS, ids=lambda c: c.id)
def test_invalid_object_is_rejected_by_the_model_naming_the_field(case: InvalidCase) -> None:
    document = case.build()
    with pytest.raises(ValidationError) as caught:
        kind_for(document["kind"]).model.model_validate(document)
    assert case.path in pydantic_error_paths(caught.value)


@pytest.mark.parametrize("case", SCHEMA_CASES, ids=lambda c: c.id)
def test_invalid_object_is_rejected_by_the_generated_schema_naming_the_field(
    case: InvalidCase,
) -> None:
    document = case.build()
    errors = Draft4Validator(committed_schema(document["kind"])).iter_errors(document)
    assert case.path in {format_path(e.absolute_path) for e in errors}


@pytest.mark.parametrize("case", TRANSITIONS, ids=lambda c: c.id)
def test_changed_immutable_field_is_valid_on_its_own(case: InvalidCase) -> None:
    document = case.build()
    model = kind_for(document["kind"]).model.model_validate(document)
    assert model.to_wire() != case.original(document["metadata"]["name"])
