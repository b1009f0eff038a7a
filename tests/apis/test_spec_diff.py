"""The change report: one constructed pair of documents per rule."""

import copy
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apis.specs.diff import compare

# --- Building documents -------------------------------------------------------


def v3(paths: dict, schemas: dict | None = None, version: str = "3.0.3") -> dict:
    document = {"openapi": version, "info": {"title": "t", "version": "1"}, "paths": paths}
    if schemas is not None:
        document["components"] = {"schemas": schemas}
    return document


def v2(paths: dict, definitions: dict | None = None) -> dict:
    document = {"swagger": "2.0", "info": {"title": "t", "version": "1"}, "paths": paths}
    if definitions is not None:
        document["definitions"] = definitions
    return document


def ok(schema: dict | None = None) -> dict:
    response = {"description": "ok"}
    if schema is not None:
        response["content"] = {"application/json": {"schema": schema}}
    return {"200": response}


def op(*, parameters=None, body=None, body_required=False, response=None) -> dict:
    operation = {"responses": ok(response)}
    if parameters is not None:
        operation["parameters"] = parameters
    if body is not None:
        operation["requestBody"] = {
            "required": body_required,
            "content": {"application/json": {"schema": body}},
        }
    return operation


def query(name: str, *, required=False, **schema) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "schema": schema or {"type": "string"},
    }


def obj(properties: dict, required: list | None = None) -> dict:
    schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


STRING = {"type": "string"}
INTEGER = {"type": "integer"}


def kinds(changes) -> list[str]:
    return sorted(c.kind for c in changes)


def only(report, *, breaking=(), additions=()):
    assert kinds(report.breaking) == sorted(breaking), report.as_dict()
    assert kinds(report.additions) == sorted(additions), report.as_dict()


# --- OpenAPI 3.0: breaking ----------------------------------------------------


def test_removed_path():
    old = v3({"/a": {"get": op()}, "/b": {"get": op()}})
    new = v3({"/a": {"get": op()}})
    report = compare(old, new)
    only(report, breaking=["path_removed"])
    assert report.breaking[0].where == "/b"


def test_removed_operation():
    old = v3({"/a": {"get": op(), "delete": op()}})
    new = v3({"/a": {"get": op()}})
    report = compare(old, new)
    only(report, breaking=["operation_removed"])
    assert report.breaking[0].where == "DELETE /a"


def test_new_required_parameter():
    old = v3({"/a": {"get": op()}})
    new = v3({"/a": {"get": op(parameters=[query("limit", required=True)])}})
    report = compare(old, new)
    only(report, breaking=["parameter_added_required"])
    assert "'limit'" in report.breaking[0].where


def test_new_path_parameter_is_required_even_unsaid():
    old = v3({"/a/{id}": {"get": op()}})
    new = v3({"/a/{id}": {"get": op(parameters=[{"name": "id", "in": "path", "schema": STRING}])}})
    only(compare(old, new), breaking=["parameter_added_required"])


def test_parameter_becoming_required():
    old = v3({"/a": {"get": op(parameters=[query("limit")])}})
    new = v3({"/a": {"get": op(parameters=[query("limit", required=True)])}})
    only(compare(old, new), breaking=["parameter_required"])


def test_path_level_parameters_count():
    old = v3({"/a": {"get": op()}})
    new = v3({"/a": {"parameters": [query("tenant", required=True)], "get": op()}})
    only(compare(old, new), breaking=["parameter_added_required"])


def test_new_required_request_field():
    old = v3({"/a": {"post": op(body=obj({"name": STRING}))}})
    new = v3({"/a": {"post": op(body=obj({"name": STRING, "age": INTEGER}, ["age"]))}})
    report = compare(old, new)
    only(report, breaking=["request_field_added_required"])
    assert report.breaking[0].where == "POST /a request.age"


def test_request_field_becoming_required():
    old = v3({"/a": {"post": op(body=obj({"name": STRING}))}})
    new = v3({"/a": {"post": op(body=obj({"name": STRING}, ["name"]))}})
    only(compare(old, new), breaking=["request_field_required"])


def test_nested_request_field_becoming_required():
    old = v3({"/a": {"post": op(body=obj({"card": obj({"cvc": STRING})}))}})
    new = v3({"/a": {"post": op(body=obj({"card": obj({"cvc": STRING}, ["cvc"])}))}})
    report = compare(old, new)
    only(report, breaking=["request_field_required"])
    assert report.breaking[0].where == "POST /a request.card.cvc"


def test_request_body_becoming_required():
    old = v3({"/a": {"post": op()}})
    new = v3({"/a": {"post": op(body=obj({"name": STRING}), body_required=True)}})
    only(compare(old, new), breaking=["request_body_added"])
    optional = v3({"/a": {"post": op(body=obj({"name": STRING}))}})
    only(compare(optional, new), breaking=["request_body_added"])


def test_new_optional_request_body_with_required_fields_is_not_breaking():
    """Required fields inside a body the client need not send do not break it."""
    old = v3({"/a": {"post": op()}})
    new = v3({"/a": {"post": op(body=obj({"name": STRING}, ["name"]))}})
    only(compare(old, new))


def test_removed_response_field():
    old = v3({"/a": {"get": op(response=obj({"id": STRING, "name": STRING}))}})
    new = v3({"/a": {"get": op(response=obj({"id": STRING}))}})
    report = compare(old, new)
    only(report, breaking=["response_field_removed"])
    assert report.breaking[0].where == "GET /a 200 response.name"


def test_removed_response_field_in_an_array_of_items():
    old = v3({"/a": {"get": op(response={"type": "array", "items": obj({"id": STRING})})}})
    new = v3({"/a": {"get": op(response={"type": "array", "items": obj({})})}})
    report = compare(old, new)
    only(report, breaking=["response_field_removed"])
    assert report.breaking[0].where == "GET /a 200 response[].id"


def test_removed_request_field_is_not_breaking():
    old = v3({"/a": {"post": op(body=obj({"name": STRING, "nick": STRING}))}})
    new = v3({"/a": {"post": op(body=obj({"name": STRING}))}})
    only(compare(old, new))


def test_changed_parameter_type():
    old = v3({"/a": {"get": op(parameters=[query("limit", type="integer")])}})
    new = v3({"/a": {"get": op(parameters=[query("limit", type="string")])}})
    report = compare(old, new)
    only(report, breaking=["type_changed"])
    assert report.breaking[0].detail == "type integer → string"


def test_changed_property_type():
    old = v3({"/a": {"get": op(response=obj({"id": INTEGER}))}})
    new = v3({"/a": {"get": op(response=obj({"id": STRING}))}})
    report = compare(old, new)
    only(report, breaking=["type_changed"])
    assert report.breaking[0].where == "GET /a 200 response.id"
    old_request = v3({"/a": {"post": op(body=obj({"n": INTEGER}))}})
    new_request = v3({"/a": {"post": op(body=obj({"n": {"type": "number"}}))}})
    only(compare(old_request, new_request), breaking=["type_changed"])


def test_narrowed_enum_in_a_parameter():
    old = v3({"/a": {"get": op(parameters=[query("sort", type="string", enum=["asc", "desc"])])}})
    new = v3({"/a": {"get": op(parameters=[query("sort", type="string", enum=["asc"])])}})
    report = compare(old, new)
    only(report, breaking=["enum_narrowed"])
    assert "'desc'" in report.breaking[0].detail


def test_enum_added_to_a_free_parameter_narrows_it():
    old = v3({"/a": {"get": op(parameters=[query("sort", type="string")])}})
    new = v3({"/a": {"get": op(parameters=[query("sort", type="string", enum=["asc"])])}})
    only(compare(old, new), breaking=["enum_narrowed"])


def test_narrowed_enum_in_a_request_body():
    old = v3({"/a": {"post": op(body=obj({"state": {"type": "string", "enum": ["a", "b"]}}))}})
    new = v3({"/a": {"post": op(body=obj({"state": {"type": "string", "enum": ["a"]}}))}})
    report = compare(old, new)
    only(report, breaking=["enum_narrowed"])
    assert report.breaking[0].where == "POST /a request.state"


def test_narrowed_enum_in_a_response_is_not_breaking():
    old = v3({"/a": {"get": op(response=obj({"s": {"type": "string", "enum": ["a", "b"]}}))}})
    new = v3({"/a": {"get": op(response=obj({"s": {"type": "string", "enum": ["a"]}}))}})
    only(compare(old, new))


# --- OpenAPI 3.0: additions ---------------------------------------------------


def test_widened_enum_is_an_addition():
    old = v3({"/a": {"get": op(parameters=[query("sort", type="string", enum=["asc"])])}})
    new = v3({"/a": {"get": op(parameters=[query("sort", type="string", enum=["asc", "desc"])])}})
    report = compare(old, new)
    only(report, additions=["enum_widened"])
    assert "'desc'" in report.additions[0].detail
    old_body = v3({"/a": {"post": op(body=obj({"s": {"type": "string", "enum": ["a"]}}))}})
    new_body = v3({"/a": {"post": op(body=obj({"s": {"type": "string", "enum": ["a", "b"]}}))}})
    only(compare(old_body, new_body), additions=["enum_widened"])


def test_new_path():
    report = compare(v3({"/a": {"get": op()}}), v3({"/a": {"get": op()}, "/b": {"get": op()}}))
    only(report, additions=["path_added"])
    assert report.additions[0].where == "/b"


def test_new_operation():
    report = compare(v3({"/a": {"get": op()}}), v3({"/a": {"get": op(), "post": op()}}))
    only(report, additions=["operation_added"])
    assert report.additions[0].where == "POST /a"


def test_new_optional_parameter():
    old = v3({"/a": {"get": op()}})
    new = v3({"/a": {"get": op(parameters=[query("q")])}})
    only(compare(old, new), additions=["parameter_added"])


def test_new_response_field():
    old = v3({"/a": {"get": op(response=obj({"id": STRING}))}})
    new = v3({"/a": {"get": op(response=obj({"id": STRING, "name": STRING}))}})
    report = compare(old, new)
    only(report, additions=["field_added"])
    assert report.additions[0].where == "GET /a 200 response.name"


def test_new_optional_request_field():
    old = v3({"/a": {"post": op(body=obj({"id": STRING}))}})
    new = v3({"/a": {"post": op(body=obj({"id": STRING, "note": STRING}))}})
    only(compare(old, new), additions=["field_added"])


def test_removed_parameter_is_reported_but_not_breaking():
    old = v3({"/a": {"get": op(parameters=[query("q")])}})
    new = v3({"/a": {"get": op()}})
    only(compare(old, new), additions=["parameter_removed"])


def test_only_success_responses_are_compared():
    old = v3(
        {
            "/a": {
                "get": {
                    "responses": {
                        "404": {
                            "description": "x",
                            "content": {"application/json": {"schema": obj({"code": STRING})}},
                        }
                    }
                }
            }
        }
    )
    new = v3(
        {
            "/a": {
                "get": {
                    "responses": {
                        "404": {
                            "description": "x",
                            "content": {"application/json": {"schema": obj({})}},
                        }
                    }
                }
            }
        }
    )
    only(compare(old, new))


# --- References and recursion ------------------------------------------------


def test_referenced_schemas_are_followed():
    old = v3(
        {"/a": {"get": op(response={"$ref": "#/components/schemas/Pet"})}},
        {
            "Pet": obj({"id": STRING, "owner": {"$ref": "#/components/schemas/Owner"}}),
            "Owner": obj({"name": STRING}),
        },
    )
    new = copy.deepcopy(old)
    del new["components"]["schemas"]["Owner"]["properties"]["name"]
    report = compare(old, new)
    only(report, breaking=["response_field_removed"])
    assert report.breaking[0].where == "GET /a 200 response.owner.name"


def test_referenced_parameters_and_request_bodies_are_followed():
    old = v3(
        {
            "/a": {
                "post": {
                    "parameters": [{"$ref": "#/components/parameters/Limit"}],
                    "requestBody": {"$ref": "#/components/requestBodies/Thing"},
                    "responses": ok(),
                }
            }
        }
    )
    old["components"] = {
        "parameters": {"Limit": query("limit")},
        "requestBodies": {
            "Thing": {"content": {"application/json": {"schema": obj({"a": STRING})}}}
        },
    }
    new = copy.deepcopy(old)
    new["components"]["parameters"]["Limit"]["required"] = True
    new["components"]["requestBodies"]["Thing"]["content"]["application/json"]["schema"][
        "required"
    ] = ["a"]
    only(compare(old, new), breaking=["parameter_required", "request_field_required"])


def test_recursive_schemas_do_not_loop():
    tree = {
        "Node": obj(
            {
                "name": STRING,
                "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}},
            }
        )
    }
    old = v3({"/tree": {"get": op(response={"$ref": "#/components/schemas/Node"})}}, tree)
    new = copy.deepcopy(old)
    new["components"]["schemas"]["Node"]["properties"]["size"] = INTEGER
    report = compare(old, new)
    only(report, additions=["field_added"])
    assert compare(old, old).as_dict() == {"breaking": [], "additions": []}


def test_schemas_referring_to_each_other_are_compared_in_linear_time():
    """Two schemas, each with many properties pointing at the other: every path through
    them is distinct, so a walk that only stops on repeats in its own path never ends."""

    def document(width: int) -> dict:
        def schema(other: str) -> dict:
            ref = {"$ref": f"#/components/schemas/{other}"}
            return obj({f"p{i}": ref for i in range(width)})

        return v3(
            {"/a": {"get": op(response={"$ref": "#/components/schemas/A"})}},
            {"A": schema("B"), "B": schema("A")},
        )

    old = document(12)
    new = copy.deepcopy(old)
    new["components"]["schemas"]["B"]["properties"]["p0"] = INTEGER
    started = time.perf_counter()
    report = compare(old, new)
    assert time.perf_counter() - started < 1.0
    assert kinds(report.breaking) == ["type_changed"], report.as_dict()


def test_a_reference_chain_that_is_a_cycle_ends():
    old = v3(
        {"/a": {"get": op(response={"$ref": "#/components/schemas/A"})}},
        {"A": {"$ref": "#/components/schemas/B"}, "B": {"$ref": "#/components/schemas/A"}},
    )
    assert compare(old, copy.deepcopy(old)).as_dict() == {"breaking": [], "additions": []}


# --- Swagger 2.0 --------------------------------------------------------------


def v2_op(*, parameters=None, response=None) -> dict:
    responses = {"200": {"description": "ok"}}
    if response is not None:
        responses["200"]["schema"] = response
    operation = {"responses": responses}
    if parameters is not None:
        operation["parameters"] = parameters
    return operation


def body(schema: dict, required: bool = False) -> dict:
    return {"name": "body", "in": "body", "required": required, "schema": schema}


def test_v2_new_required_body_field_through_definitions():
    old = v2(
        {"/pets": {"post": v2_op(parameters=[body({"$ref": "#/definitions/Pet"})])}},
        {"Pet": obj({"name": STRING})},
    )
    new = copy.deepcopy(old)
    new["definitions"]["Pet"] = obj({"name": STRING, "species": STRING}, ["species"])
    report = compare(old, new)
    only(report, breaking=["request_field_added_required"])
    assert report.breaking[0].where == "POST /pets request.species"


def test_v2_body_parameter_becoming_required():
    old = v2({"/pets": {"post": v2_op(parameters=[body(obj({"name": STRING}))])}})
    new = v2({"/pets": {"post": v2_op(parameters=[body(obj({"name": STRING}), required=True)])}})
    only(compare(old, new), breaking=["request_body_added"])


def test_v2_removed_response_field_in_definitions():
    old = v2(
        {
            "/pets": {
                "get": v2_op(response={"type": "array", "items": {"$ref": "#/definitions/Pet"}})
            }
        },
        {"Pet": obj({"id": INTEGER, "tag": STRING})},
    )
    new = copy.deepcopy(old)
    del new["definitions"]["Pet"]["properties"]["tag"]
    report = compare(old, new)
    only(report, breaking=["response_field_removed"])
    assert report.breaking[0].where == "GET /pets 200 response[].tag"


def test_v2_parameter_type_and_enum_on_the_parameter_itself():
    def param(**schema):
        return {"name": "status", "in": "query", "required": False, **schema}

    old = v2({"/pets": {"get": v2_op(parameters=[param(type="string", enum=["a", "b"])])}})
    narrowed = v2({"/pets": {"get": v2_op(parameters=[param(type="string", enum=["a"])])}})
    retyped = v2({"/pets": {"get": v2_op(parameters=[param(type="integer")])}})
    only(compare(old, narrowed), breaking=["enum_narrowed"])
    only(compare(old, retyped), breaking=["type_changed"])


def test_v2_form_data_parameters_are_not_request_bodies():
    form = {"name": "file", "in": "formData", "type": "file", "required": True}
    old = v2({"/up": {"post": v2_op()}})
    new = v2({"/up": {"post": v2_op(parameters=[form])}})
    only(compare(old, new))


def test_v2_against_v3_of_the_same_api():
    old = v2({"/pets": {"get": v2_op(response=obj({"id": INTEGER}))}})
    new = v3({"/pets": {"get": op(response=obj({"id": INTEGER}))}})
    only(compare(old, new))


# --- OpenAPI 3.1 --------------------------------------------------------------


def test_v31_null_in_a_type_array_is_not_a_type_change():
    old = v3({"/a": {"get": op(response=obj({"n": STRING}))}}, version="3.1.0")
    new = v3(
        {"/a": {"get": op(response=obj({"n": {"type": ["string", "null"]}}))}}, version="3.1.0"
    )
    only(compare(old, new))
    only(compare(new, old))


def test_v31_type_array_change_is_a_type_change():
    old = v3(
        {"/a": {"get": op(response=obj({"n": {"type": ["string", "null"]}}))}}, version="3.1.0"
    )
    new = v3(
        {"/a": {"get": op(response=obj({"n": {"type": ["integer", "null"]}}))}}, version="3.1.0"
    )
    report = compare(old, new)
    only(report, breaking=["type_changed"])
    assert report.breaking[0].detail == "type string → integer"


def test_v31_parameter_with_type_array():
    old = v3({"/a": {"get": op(parameters=[query("q", type=["string", "null"])])}}, version="3.1.0")
    new = v3(
        {"/a": {"get": op(parameters=[query("q", type=["integer", "null"])])}}, version="3.1.0"
    )
    only(compare(old, new), breaking=["type_changed"])


def test_v31_removed_field_and_new_required_field():
    old = v3(
        {"/a": {"post": op(body=obj({"a": STRING}), response=obj({"id": STRING}))}}, version="3.1.0"
    )
    new = v3(
        {"/a": {"post": op(body=obj({"a": STRING, "b": STRING}, ["b"]), response=obj({}))}},
        version="3.1.0",
    )
    only(compare(old, new), breaking=["request_field_added_required", "response_field_removed"])


# --- Property: a document compared with itself changes nothing ----------------

NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=6)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5))
TYPES = st.sampled_from(["string", "integer", "number", "boolean", "object", "array"])


@st.composite
def objects(draw, children):
    properties = draw(st.dictionaries(NAMES, children, max_size=4))
    schema = {"type": "object", "properties": properties}
    if properties:
        schema["required"] = draw(st.lists(st.sampled_from(sorted(properties)), unique=True))
    return schema


def schemas(refs: list[str]):
    leaves = [
        st.builds(lambda t: {"type": t}, TYPES),
        st.builds(lambda t: {"type": [t, "null"]}, TYPES),
        st.builds(lambda values: {"enum": values}, st.lists(SCALARS, max_size=4)),
    ]
    if refs:
        leaves.append(st.sampled_from([{"$ref": f"#/components/schemas/{n}"} for n in refs]))
    return st.recursive(
        st.one_of(leaves),
        lambda children: st.one_of(
            objects(children), st.builds(lambda items: {"type": "array", "items": items}, children)
        ),
        max_leaves=12,
    )


@st.composite
def documents(draw):
    names = draw(st.lists(NAMES, unique=True, max_size=3))
    version = draw(st.sampled_from(["2.0", "3.0.3", "3.1.0"]))
    components = {name: draw(schemas(names)) for name in names}
    paths = {}
    for path in draw(st.lists(NAMES.map(lambda n: "/" + n), unique=True, max_size=4)):
        item = {}
        for method in draw(
            st.lists(st.sampled_from(["get", "post", "put", "delete"]), unique=True, min_size=1)
        ):
            parameters = [
                {
                    "name": name,
                    "in": where,
                    "required": draw(st.booleans()),
                    **(
                        {"type": "string"} if version == "2.0" else {"schema": draw(schemas(names))}
                    ),
                }
                for name, where in draw(
                    st.lists(
                        st.tuples(NAMES, st.sampled_from(["query", "header", "path"])),
                        unique=True,
                        max_size=3,
                    )
                )
            ]
            response_schema = draw(schemas(names))
            if version == "2.0":
                if draw(st.booleans()):
                    parameters.append(
                        {
                            "name": "body",
                            "in": "body",
                            "required": draw(st.booleans()),
                            "schema": draw(schemas(names)),
                        }
                    )
                operation = {
                    "parameters": parameters,
                    "responses": {"200": {"description": "ok", "schema": response_schema}},
                }
            else:
                operation = {
                    "parameters": parameters,
                    "responses": {
                        "200": {
                            "description": "ok",
                            "content": {"application/json": {"schema": response_schema}},
                        }
                    },
                }
                if draw(st.booleans()):
                    operation["requestBody"] = {
                        "required": draw(st.booleans()),
                        "content": {"application/json": {"schema": draw(schemas(names))}},
                    }
            item[method] = operation
        paths[path] = item
    if version == "2.0":
        return v2(paths, components)
    return v3(paths, components, version=version)


@settings(max_examples=50, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_a_document_compared_with_itself_changes_nothing(document):
    assert compare(document, document).as_dict() == {"breaking": [], "additions": []}
    assert compare(document, copy.deepcopy(document)).as_dict() == {
        "breaking": [],
        "additions": [],
    }
