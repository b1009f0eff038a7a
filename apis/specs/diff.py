"""The change report between two versions of an API.

Both documents (OpenAPI 2.0 or 3.x, in any mix) are read into one shape per
operation: its parameters, its request body schema and its success response
schemas. Comparing the shapes gives the breaking changes (what breaks a client
written against the old version) and the additions.

Breaking: removed paths and operations, new required parameters or request
fields, parameters or request fields that became required, removed response
fields, changed types, narrowed enums on what clients send. Additions: new
paths and operations, new optional parameters and request fields, new response
fields, widened enums.
"""

from dataclasses import dataclass, field
from typing import Any

from .operations import METHODS
from .refs import deref

MAX_SCHEMA_DEPTH = 12


@dataclass
class Change:
    kind: str
    where: str
    detail: str

    def as_dict(self) -> dict:
        return {"kind": self.kind, "where": self.where, "detail": self.detail}


@dataclass
class ChangeReport:
    breaking: list[Change] = field(default_factory=list)
    additions: list[Change] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "breaking": [c.as_dict() for c in self.breaking],
            "additions": [c.as_dict() for c in self.additions],
        }


@dataclass
class _Operation:
    parameters: dict[tuple[str, str], dict]  # (in, name) -> {"required", "schema"}
    request: Any  # schema or None
    responses: dict[str, Any]  # 2xx status -> schema
    request_required: bool = False  # the request body itself must be sent


def _schema_of_parameter(document: dict, parameter: dict) -> dict:
    if "schema" in parameter:
        return deref(document, parameter["schema"]) or {}
    # OpenAPI 2.0 keeps the type on the parameter itself.
    return {k: parameter[k] for k in ("type", "format", "enum", "items") if k in parameter}


def _operations(document: dict) -> dict[str, _Operation]:
    out: dict[str, _Operation] = {}
    is_v2 = str(document.get("swagger", "")) == "2.0"
    for path, item in (document.get("paths") or {}).items():
        item = deref(document, item)
        if not isinstance(item, dict):
            continue
        shared = [deref(document, p) for p in item.get("parameters") or []]
        for method in METHODS:
            operation = item.get(method)
            if not isinstance(operation, dict):
                continue
            parameters: dict[tuple[str, str], dict] = {}
            request, request_required = None, False
            own = [deref(document, p) for p in operation.get("parameters") or []]
            for parameter in [*shared, *own]:
                if not isinstance(parameter, dict) or "name" not in parameter:
                    continue
                if is_v2 and parameter.get("in") == "body":
                    request = deref(document, parameter.get("schema") or {})
                    request_required = parameter.get("required") is True
                    continue
                if parameter.get("in") == "formData":
                    continue
                parameters[(str(parameter.get("in")), str(parameter["name"]))] = {
                    "required": bool(parameter.get("required")) or parameter.get("in") == "path",
                    "schema": _schema_of_parameter(document, parameter),
                }
            if not is_v2:
                body = deref(document, operation.get("requestBody") or {})
                if isinstance(body, dict):
                    request = _json_schema(document, body.get("content"))
                    request_required = body.get("required") is True
            responses = {}
            for status, response in (operation.get("responses") or {}).items():
                if not str(status).startswith("2"):
                    continue
                response = deref(document, response)
                if not isinstance(response, dict):
                    continue
                if is_v2:
                    responses[str(status)] = deref(document, response.get("schema") or {})
                else:
                    responses[str(status)] = _json_schema(document, response.get("content"))
            out[f"{method.upper()} {path}"] = _Operation(
                parameters, request, responses, request_required
            )
    return out


def _json_schema(document: dict, content: Any) -> Any:
    if not isinstance(content, dict) or not content:
        return None
    for media_type, body in content.items():
        if "json" in media_type and isinstance(body, dict):
            return deref(document, body.get("schema") or {})
    first = next(iter(content.values()))
    return deref(document, first.get("schema") or {}) if isinstance(first, dict) else None


def _type(schema: Any) -> str:
    if not isinstance(schema, dict):
        return ""
    kind = schema.get("type", "")
    if isinstance(kind, list):
        kind = "|".join(sorted(str(k) for k in kind if k != "null"))
    return str(kind)


class _Comparer:
    def __init__(self, old_doc: dict, new_doc: dict, report: ChangeReport):
        self.old_doc, self.new_doc, self.report = old_doc, new_doc, report
        # Schema pairs already compared under the current request or response. Without
        # it, schemas that refer to each other through several properties are walked
        # once per path through them: exponential in MAX_SCHEMA_DEPTH.
        self.compared: set[tuple[int, int]] = set()

    def compare_schemas(self, old: Any, new: Any, where: str, *, direction: str) -> None:
        self.compared = set()
        self.schema(old, new, where, direction=direction)

    def breaking(self, kind: str, where: str, detail: str) -> None:
        self.report.breaking.append(Change(kind, where, detail))

    def addition(self, kind: str, where: str, detail: str) -> None:
        self.report.additions.append(Change(kind, where, detail))

    def enums(self, old: Any, new: Any, where: str, *, sent_by_client: bool) -> None:
        if not (isinstance(old, dict) and isinstance(new, dict)):
            return
        old_enum, new_enum = old.get("enum"), new.get("enum")
        if not isinstance(new_enum, list):
            return
        if not isinstance(old_enum, list):
            if sent_by_client:
                self.breaking("enum_narrowed", where, "now limited to " + _values(new_enum))
            return
        removed = [v for v in old_enum if v not in new_enum]
        added = [v for v in new_enum if v not in old_enum]
        if removed and sent_by_client:
            self.breaking("enum_narrowed", where, "no longer accepts " + _values(removed))
        if added:
            self.addition("enum_widened", where, "now also " + _values(added))

    def schema(
        self,
        old: Any,
        new: Any,
        where: str,
        *,
        direction: str,
        depth: int = 0,
    ) -> None:
        """Compare request (``direction="request"``) or response schemas."""
        if depth > MAX_SCHEMA_DEPTH or not isinstance(old, dict) or not isinstance(new, dict):
            return
        old = deref(self.old_doc, old)
        new = deref(self.new_doc, new)
        if not isinstance(old, dict) or not isinstance(new, dict):
            return
        key = (id(old), id(new))
        if key in self.compared:  # recursive and shared schemas: each pair once
            return
        self.compared.add(key)
        old_type, new_type = _type(old), _type(new)
        if old_type and new_type and old_type != new_type:
            self.breaking("type_changed", where, f"type {old_type} → {new_type}")
            return
        self.enums(old, new, where, sent_by_client=direction == "request")
        old_props = old.get("properties") or {}
        new_props = new.get("properties") or {}
        old_required = set(old.get("required") or [])
        new_required = set(new.get("required") or [])
        for name in old_props:
            if name not in new_props:
                if direction == "response":
                    self.breaking(
                        "response_field_removed",
                        f"{where}.{name}",
                        f"field '{name}' removed from the response",
                    )
                continue
            if direction == "request" and name in new_required and name not in old_required:
                self.breaking(
                    "request_field_required", f"{where}.{name}", f"field '{name}' is now required"
                )
            self.schema(
                old_props[name],
                new_props[name],
                f"{where}.{name}",
                direction=direction,
                depth=depth + 1,
            )
        for name in new_props:
            if name in old_props:
                continue
            if direction == "request" and name in new_required:
                self.breaking(
                    "request_field_added_required",
                    f"{where}.{name}",
                    f"new required field '{name}'",
                )
            else:
                self.addition("field_added", f"{where}.{name}", f"new field '{name}'")
        if "items" in old and "items" in new:
            self.schema(
                old["items"],
                new["items"],
                f"{where}[]",
                direction=direction,
                depth=depth + 1,
            )

    def operation(self, name: str, old: _Operation, new: _Operation) -> None:
        for key, parameter in new.parameters.items():
            label = f"{name} {key[0]} parameter '{key[1]}'"
            previous = old.parameters.get(key)
            if previous is None:
                if parameter["required"]:
                    self.breaking("parameter_added_required", label, "new required parameter")
                else:
                    self.addition("parameter_added", label, "new optional parameter")
                continue
            if parameter["required"] and not previous["required"]:
                self.breaking("parameter_required", label, "is now required")
            old_type, new_type = _type(previous["schema"]), _type(parameter["schema"])
            if old_type and new_type and old_type != new_type:
                self.breaking("type_changed", label, f"type {old_type} → {new_type}")
            else:
                self.enums(previous["schema"], parameter["schema"], label, sent_by_client=True)
        for key in old.parameters:
            if key not in new.parameters:
                self.addition(
                    "parameter_removed",
                    f"{name} {key[0]} parameter '{key[1]}'",
                    "no longer read by the API",
                )
        if old.request is not None and new.request is not None:
            self.compare_schemas(old.request, new.request, f"{name} request", direction="request")
        if new.request_required and not old.request_required:
            self.breaking("request_body_added", f"{name} request", "now needs a request body")
        for status, old_schema in old.responses.items():
            if status in new.responses:
                self.compare_schemas(
                    old_schema,
                    new.responses[status],
                    f"{name} {status} response",
                    direction="response",
                )


def _values(values: list) -> str:
    shown = ", ".join(repr(v) for v in values[:8])
    return shown + (f" and {len(values) - 8} more" if len(values) > 8 else "")


def compare(old_document: dict, new_document: dict) -> ChangeReport:
    report = ChangeReport()
    comparer = _Comparer(old_document, new_document, report)
    old_ops, new_ops = _operations(old_document), _operations(new_document)
    old_paths = {name.split(" ", 1)[1] for name in old_ops}
    new_paths = {name.split(" ", 1)[1] for name in new_ops}
    for path in sorted(old_paths - new_paths):
        report.breaking.append(Change("path_removed", path, "path removed"))
    for path in sorted(new_paths - old_paths):
        report.additions.append(Change("path_added", path, "new path"))
    for name in sorted(old_ops):
        path = name.split(" ", 1)[1]
        if name not in new_ops:
            if path in new_paths:
                report.breaking.append(Change("operation_removed", name, "operation removed"))
            continue
        comparer.operation(name, old_ops[name], new_ops[name])
    for name in sorted(new_ops):
        if name not in old_ops and name.split(" ", 1)[1] in old_paths:
            report.additions.append(Change("operation_added", name, "new operation"))
    return report
