"""Read, check, validate and normalise an OpenAPI document."""

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson
from django.conf import settings
from jsonschema.exceptions import ValidationError as SchemaValidationError
from openapi_spec_validator import (
    OpenAPIV2SpecValidator,
    OpenAPIV30SpecValidator,
    OpenAPIV31SpecValidator,
)

from . import loader, refs
from .errors import SpecError
from .operations import OperationInfo, extract_operations

MAX_PROBLEMS = 5


def _refuse(uri: str):
    raise PermissionError(f"non-local reference {uri}")


# References are checked to be local before validation; these handlers make sure
# the validator never fetches anything even so (an empty mapping would fall back
# to its defaults, which read files and URLs).
_LOCAL_ONLY = {"<all_urls>": _refuse, "http": _refuse, "https": _refuse, "file": _refuse}


class _Local2(OpenAPIV2SpecValidator):
    resolver_handlers = _LOCAL_ONLY


class _Local30(OpenAPIV30SpecValidator):
    resolver_handlers = _LOCAL_ONLY


class _Local31(OpenAPIV31SpecValidator):
    resolver_handlers = _LOCAL_ONLY


VALIDATORS = {"2.0": _Local2, "3.0": _Local30, "3.1": _Local31}


@dataclass(frozen=True)
class SpecLimits:
    max_bytes: int
    max_depth: int
    max_aliases: int
    max_nodes: int

    @classmethod
    def from_settings(cls) -> "SpecLimits":
        return cls(
            max_bytes=settings.SPEC_MAX_BYTES,
            max_depth=settings.SPEC_MAX_DEPTH,
            max_aliases=settings.SPEC_MAX_YAML_ALIASES,
            max_nodes=settings.SPEC_MAX_VALUES,
        )


@dataclass(frozen=True)
class ParsedSpec:
    document: dict
    openapi_version: str
    source_format: str
    spec_hash: str
    size_bytes: int
    title: str
    description: str
    info_version: str
    base_url: str
    operations: list[OperationInfo]

    def canonical_json(self) -> bytes:
        return canonical_json(self.document)


def canonical_json(document: Any) -> bytes:
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS)


def detect_version(document: Any) -> str:
    if not isinstance(document, dict):
        raise SpecError("This is not an OpenAPI document: its top level is not an object.")
    swagger, openapi = document.get("swagger"), document.get("openapi")
    if swagger is not None:
        if _version_text(swagger) == "2.0":
            return "2.0"
        raise SpecError(
            f"Swagger version {_version_text(swagger)!r} is not supported; use 2.0 or OpenAPI 3."
        )
    if openapi is not None:
        text = _version_text(openapi)
        for version in ("3.0", "3.1"):
            if text == version or text.startswith(version + "."):
                return version
        raise SpecError(f"OpenAPI version {text!r} is not supported; use 2.0, 3.0 or 3.1.")
    raise SpecError(
        "This is not an OpenAPI document: it has neither an 'openapi' nor a 'swagger' field."
    )


def _version_text(value: Any) -> str:
    """A version field as short text; never the repr of a list or mapping, which can be
    megabytes long or nested too deep to print."""
    if isinstance(value, dict):
        return "(an object)"
    if isinstance(value, list):
        return "(a list)"
    text = str(value)
    return text if len(text) <= 40 else text[:40] + "…"


def _pointer(error: SchemaValidationError) -> str:
    return "".join(
        "/" + str(part).replace("~", "~0").replace("/", "~1") for part in error.absolute_path
    )


def validate(document: dict, openapi_version: str) -> None:
    validator = VALIDATORS[openapi_version](document)
    problems = []
    try:
        for error in validator.iter_errors():
            message = error.message.split("\n", 1)[0]
            problems.append({"pointer": _pointer(error), "message": message[:300]})
            if len(problems) >= MAX_PROBLEMS:
                break
    except RecursionError as exc:
        raise SpecError("The spec's references nest too deeply to validate.") from exc
    except (KeyError, TypeError, AttributeError) as exc:
        # The validator's own checks assume the shapes its schema check reports as wrong
        # (a string where an object belongs); what that check found is the answer.
        if not problems:
            raise SpecError(
                f"The spec is not a valid OpenAPI {openapi_version} document: "
                "a part of it is not of the type it must be."
            ) from exc
    if problems:
        count = f"{len(problems)}+" if len(problems) >= MAX_PROBLEMS else str(len(problems))
        raise SpecError(
            f"The spec is not a valid OpenAPI {openapi_version} document ({count} problems).",
            problems=problems,
        )


def _base_url(document: dict, openapi_version: str) -> str:
    if openapi_version == "2.0":
        host = document.get("host")
        if not host:
            return ""
        schemes = document.get("schemes") or ["https"]
        scheme = "https" if "https" in schemes else str(schemes[0])
        return f"{scheme}://{host}{document.get('basePath', '') or ''}".rstrip("/")
    servers = document.get("servers") or []
    if servers and isinstance(servers[0], dict):
        url = str(servers[0].get("url", ""))
        for name, variable in (servers[0].get("variables") or {}).items():
            if isinstance(variable, dict) and "default" in variable:
                url = url.replace("{" + name + "}", str(variable["default"]))
        if url.startswith(("http://", "https://")):
            return url.rstrip("/")
    return ""


def ingest(raw: bytes, *, limits: SpecLimits | None = None) -> ParsedSpec:
    """Turn uploaded bytes into a ParsedSpec, or raise SpecError saying why not."""
    limits = limits or SpecLimits.from_settings()
    data, source_format = loader.load(
        raw, max_bytes=limits.max_bytes, max_aliases=limits.max_aliases
    )
    openapi_version = detect_version(data)
    document = loader.normalise(data, max_depth=limits.max_depth, max_nodes=limits.max_nodes)
    refs.check_refs(document)
    validate(document, openapi_version)
    info = document.get("info") if isinstance(document.get("info"), dict) else {}
    canonical = canonical_json(document)
    return ParsedSpec(
        document=document,
        openapi_version=openapi_version,
        source_format=source_format,
        spec_hash=hashlib.sha256(canonical).hexdigest(),
        size_bytes=len(canonical),
        title=str(info.get("title", ""))[:200],
        description=str(info.get("description", "")),
        info_version=str(info.get("version", ""))[:64],
        base_url=_base_url(document, openapi_version)[:500],
        operations=extract_operations(document),
    )
