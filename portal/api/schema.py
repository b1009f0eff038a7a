"""drf-spectacular post-processing: document the one error body on every operation."""

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string", "example": "invalid"},
                "message": {"type": "string"},
                "fields": {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                },
            },
            "required": ["code", "message", "fields"],
        }
    },
    "required": ["error"],
}

_DESCRIPTIONS = {
    "400": "The request is not valid; `fields` says what to fix.",
    "401": "Not signed in, or the access token is not valid.",
    "403": "Signed in, but not allowed.",
    "404": "Not found, or not yours.",
    "409": "The object is not in a state that allows this.",
    "429": "Too many requests.",
}


def add_error_responses(result, generator, request, public):
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            codes = ["401", "403", "429"]
            if "{" in path:
                codes.append("404")
            if method != "get":
                codes += ["400", "409"]
            else:
                query = {
                    p.get("name") for p in operation.get("parameters", []) if p.get("in") == "query"
                }
                if query:
                    codes.append("400")  # a query parameter out of its range or shape
                if "page" in query and "404" not in codes:
                    codes.append("404")  # a page past the last one
            responses = operation.setdefault("responses", {})
            for code in codes:
                responses.setdefault(code, {"description": _DESCRIPTIONS[code], "content": ref})
    return result
