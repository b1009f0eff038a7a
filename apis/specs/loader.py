"""Bytes to a plain JSON-compatible document, safely.

JSON goes through orjson; YAML through libyaml's safe loader, with three
guards PyYAML lacks: a cap on alias uses (no billion laughs), dates kept as
strings (JSON has none), and a walk that bounds depth and the number of values
the document expands to. The walk also gives YAML the values JSON would have:
integers past 64 bits become floats (as orjson reads them), sets become
mappings, and what JSON or PostgreSQL cannot hold (NaN, infinities, NUL
characters) is refused.
"""

import codecs
import datetime
import math
from typing import Any

import orjson
import yaml

from .errors import SpecError, SpecTooLarge, megabytes


class _SafeLoader(yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader):
    max_aliases = 100

    def __init__(self, stream):
        super().__init__(stream)
        self._alias_uses = 0

    def construct_object(self, node, deep=False):
        # A node seen before is an alias use: the only way YAML repeats content.
        if node in self.constructed_objects or node in self.recursive_objects:
            self._alias_uses += 1
            if self._alias_uses > self.max_aliases:
                raise SpecError(
                    f"The YAML uses more than {self.max_aliases} aliases; "
                    "expand them or upload JSON."
                )
        return super().construct_object(node, deep=deep)


def _timestamp_as_text(loader, node):
    return loader.construct_scalar(node)


_SafeLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)


def _load_yaml(text: str, max_aliases: int) -> Any:
    loader = _SafeLoader(text)
    loader.max_aliases = max_aliases
    try:
        return loader.get_single_data()
    except yaml.constructor.ConstructorError as exc:
        raise SpecError(f"The YAML uses a tag that is not allowed here: {exc.problem}.") from exc
    except yaml.MarkedYAMLError as exc:
        where = f" at line {exc.problem_mark.line + 1}" if exc.problem_mark else ""
        raise SpecError(f"The YAML cannot be read{where}: {exc.problem}.") from exc
    except yaml.YAMLError as exc:
        raise SpecError(f"The YAML cannot be read: {exc}.") from exc
    except RecursionError as exc:
        raise SpecError("The document is nested too deeply.") from exc
    except (ValueError, OverflowError) as exc:
        # A constructor gave up on a scalar, e.g. an integer of thousands of digits.
        raise SpecError(
            "The YAML holds a value that cannot be read, such as a huge number."
        ) from exc
    finally:
        loader.dispose()


def _load_json(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if "depth limit" in str(exc):
            raise SpecError("The document is nested too deeply.") from exc
        raise SpecError(
            f"The JSON cannot be read at line {exc.lineno}, column {exc.colno}: {exc.msg}."
        ) from exc


def load(raw: bytes, *, max_bytes: int, max_aliases: int) -> tuple[Any, str]:
    """Parse ``raw`` as JSON or YAML; returns the data and ``"json"`` or ``"yaml"``."""
    if len(raw) > max_bytes:
        raise SpecTooLarge(
            f"This spec is {megabytes(len(raw))}; the limit is {megabytes(max_bytes)}."
        )
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8) :]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(
            f"The spec is not valid UTF-8 (bad byte at offset {exc.start}); save it as UTF-8."
        ) from exc
    stripped = text.lstrip()
    if not stripped:
        raise SpecError("The spec is empty.")
    if stripped[0] in "{[":
        return _load_json(raw), "json"
    return _load_yaml(text, max_aliases), "yaml"


def normalise(data: Any, *, max_depth: int, max_nodes: int) -> Any:
    """A copy with string keys and JSON scalars only, refusing documents that are
    deeper than ``max_depth`` or expand to more than ``max_nodes`` values."""
    nodes = 0

    def convert(value: Any, depth: int) -> Any:
        nonlocal nodes
        nodes += 1
        if nodes > max_nodes:
            raise SpecError(
                f"The document expands to more than {max_nodes:,} values; is it a YAML alias bomb?"
            )
        if depth > max_depth:
            raise SpecError(f"The document is nested deeper than {max_depth} levels.")
        if isinstance(value, dict):
            return {_text(_key(k)): convert(v, depth + 1) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [convert(v, depth + 1) for v in value]
        if isinstance(value, str):
            return _text(value)
        if isinstance(value, bool) or value is None:
            return value
        if isinstance(value, int):
            if _INT_MIN <= value <= _INT_MAX:
                return value
            try:
                value = float(value)
            except OverflowError as exc:
                raise SpecError("The document holds a number too large for JSON.") from exc
        if isinstance(value, float):
            if not math.isfinite(value):
                raise SpecError(
                    "The document holds a number JSON cannot hold (.nan or .inf); "
                    "quote it if it is meant as text."
                )
            return value
        if isinstance(value, set | frozenset):
            # A YAML !!set is a mapping whose values are all null.
            return convert(dict.fromkeys(sorted(value, key=str)), depth)
        if isinstance(value, datetime.date | datetime.datetime):
            return value.isoformat()
        if isinstance(value, bytes):
            raise SpecError("The document holds binary data, which OpenAPI does not allow.")
        return str(value)

    return convert(data, 0)


# orjson reads JSON integers in this range as int and larger ones as float.
_INT_MIN, _INT_MAX = -(2**63), 2**64 - 1


def _text(text: str) -> str:
    if "\x00" in text:
        raise SpecError(
            "The document holds a NUL character (\\u0000), which cannot be stored; remove it."
        )
    return text


def _key(key: Any) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    return str(key)
