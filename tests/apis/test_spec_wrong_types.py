"""A part of a spec with the wrong type (a string where an object or array belongs) is
refused with the schema check's own words, not a crash inside the validator."""

import json

import pytest

from apis.specs import SpecError, ingest


@pytest.mark.parametrize("openapi", ["3.0.3", "3.1.0"])
@pytest.mark.parametrize(
    ("paths", "pointer"),
    [
        ({"/things": {"get": {"responses": "none"}}}, "/paths/~1things/get/responses"),
        (
            {"/things": {"get": {"parameters": "x", "responses": {"200": {"description": "d"}}}}},
            "/paths/~1things/get/parameters",
        ),
        ({"/things": "x"}, "/paths/~1things"),
    ],
)
def test_wrong_types_are_refused_with_a_pointer(openapi, paths, pointer):
    raw = json.dumps(
        {"openapi": openapi, "info": {"title": "T", "version": "1"}, "paths": paths}
    ).encode()

    with pytest.raises(SpecError) as caught:
        ingest(raw)

    assert caught.value.message.startswith(f"The spec is not a valid OpenAPI {openapi[:3]}")
    assert caught.value.problems[0]["pointer"] == pointer
