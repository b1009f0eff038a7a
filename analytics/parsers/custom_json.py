"""JSON lines of any shape, read through a mapping from record fields to dotted paths:

    parse = custom_json_parser({
        "ts_ms": {"path": "time", "as": "iso8601"},
        "event_id": "req.id",
        "status": "res.code",
        "latency_ms": {"path": "took", "as": "seconds"},
        "route": "route.paths.0",
    })

A path walks nested objects by key and lists by index; a key that itself holds
dots ("identity.sourceIp") is found too. A field given as a plain path is read the
usual way for it: times by "auto" (epoch seconds, ms, µs or ns told apart by size,
ISO 8601 or CLF), counts as whole numbers, latencies as milliseconds, the rest as
text. The mapping is checked when the parser is built; a bad one raises
MappingError with a message meant for the person who wrote it.
"""

from collections.abc import Callable
from dataclasses import fields

from .base import MAX_INT, LineContext, ParseError, RequestRecord
from .values import (
    amount,
    auto_time_ms,
    clf_time_ms,
    count,
    epoch_ms,
    iso_time_ms,
    load_object,
    may_hold_nul,
    refuse_nul,
    status_code,
    text,
    whole,
)

_INDEX = {field.name: index for index, field in enumerate(fields(RequestRecord))}
_DEFAULTS = [
    None if field.name == "ts_ms" else "" if field.name == "event_id" else field.default
    for field in fields(RequestRecord)
]
_TS = _INDEX["ts_ms"]


class MappingError(ValueError):
    """The mapping itself is wrong (not a line): unknown field, bad path, no time."""


def _ms(value) -> float:
    return amount(value, "value")


def _seconds(value) -> float:
    return amount(value, "value") * 1000.0


def _microseconds(value) -> float:
    return amount(value, "value") / 1000.0


def _float(value) -> float:
    return amount(value, "value")


def _int(value) -> int:
    return count(value, "value")


def _token_count(value) -> int:
    return whole(value, "value", 0, MAX_INT)


def _text(value) -> str:
    return text(value, "value")


TIME_CONVERSIONS: dict[str, Callable] = {
    "auto": auto_time_ms,
    "epoch_s": lambda value: epoch_ms(value, 1000.0),
    "epoch_ms": epoch_ms,
    "epoch_us": lambda value: epoch_ms(value, 0.001),
    "epoch_ns": lambda value: epoch_ms(value, 0.000001),
    "iso8601": lambda value: iso_time_ms(text(value, "time")),
    "clf": lambda value: clf_time_ms(text(value, "time")),
}
DURATION_CONVERSIONS: dict[str, Callable] = {
    "ms": _ms,
    "seconds": _seconds,
    "us": _microseconds,
}

# Record field -> the conversions it allows, the first being the default.
CONVERSIONS: dict[str, dict[str, Callable]] = {
    "ts_ms": TIME_CONVERSIONS,
    "event_id": {"str": _text},
    "method": {"str": _text},
    "route": {"str": _text},
    "path": {"str": _text},
    "status": {"int": status_code},
    "latency_ms": DURATION_CONVERSIONS,
    "integration_ms": DURATION_CONVERSIONS,
    "bytes": {"int": _int},
    "gateway_api_id": {"str": _text},
    "stage": {"str": _text},
    "api_key_id": {"str": _text},
    "key_hash": {"str": _text},
    "source_ip": {"str": _text},
    "model": {"str": _text},
    "tokens_in": {"int": _token_count},
    "tokens_out": {"int": _token_count},
    "cost": {"float": _float},
}


def _steps(path: str) -> tuple:
    return tuple(
        int(step) if step.isascii() and step.isdigit() and len(step) < 10 else step
        for step in path.split(".")
    )


def _compile(field: str, spec) -> tuple[str, tuple, Callable]:
    if isinstance(spec, str):
        path, conversion = spec, None
    elif isinstance(spec, dict):
        unknown = set(spec) - {"path", "as"}
        if unknown:
            raise MappingError(
                f"{field}: unknown option {sorted(unknown)[0]!r}; use 'path' and 'as'."
            )
        path, conversion = spec.get("path"), spec.get("as")
    else:
        raise MappingError(
            f'{field}: give a dotted path like "res.code", or {{"path": "...", "as": "..."}}.'
        )
    if not isinstance(path, str) or not path:
        raise MappingError(f'{field}: the path must be a non-empty text like "res.code".')
    if any(not step for step in path.split(".")):
        raise MappingError(f"{field}: the path {path!r} has an empty step.")
    allowed = CONVERSIONS[field]
    if conversion is None:
        conversion = next(iter(allowed))
    if not isinstance(conversion, str) or conversion not in allowed:
        raise MappingError(
            f"{field} cannot be read as {conversion!r}; use one of {', '.join(allowed)}."
        )
    return path, _steps(path), allowed[conversion]


def _getter(path: str, steps: tuple) -> Callable[[dict], object]:
    """A function reading ``path`` from a line's object; None where it leads nowhere."""
    if len(steps) == 1:
        key = path
        return lambda data: data.get(key)

    def get(data: dict):
        value = data
        for step in steps:
            kind = type(value)
            if kind is dict:
                value = value.get(step if type(step) is str else str(step))
            elif kind is list and type(step) is int:
                value = value[step] if step < len(value) else None
            else:
                return data.get(path)  # a key with dots in it, as API Gateway's often are
            if value is None:
                return data.get(path)
        return value

    return get


def custom_json_parser(mapping: dict) -> Callable[[bytes, LineContext], RequestRecord]:
    """A parser reading the record fields from the paths ``mapping`` names."""
    if not isinstance(mapping, dict) or not mapping:
        raise MappingError(
            'The mapping is empty: map at least "ts_ms" (the time) to a field of the lines.'
        )
    unknown = [name for name in mapping if name not in CONVERSIONS]
    if unknown:
        raise MappingError(
            f"Unknown field {unknown[0]!r} in the mapping; the fields are {', '.join(CONVERSIONS)}."
        )
    if "ts_ms" not in mapping:
        raise MappingError('The mapping needs "ts_ms": the field holding each line\'s time.')
    plan = []
    for name, spec in mapping.items():
        path, steps, convert = _compile(name, spec)
        plan.append((_INDEX[name], _getter(path, steps), convert))
    plan = tuple(plan)
    where = str(mapping["ts_ms"])[:80]

    def parse(line: bytes, context: LineContext) -> RequestRecord:
        data = load_object(line)
        args = _DEFAULTS.copy()
        for index, get, convert in plan:
            value = get(data)
            if value is not None and value != "-" and value != "":
                args[index] = convert(value)
        if args[_TS] is None:
            args[_TS] = context.timestamp_ms
            if args[_TS] is None:
                raise ParseError(f"no time at {where}")
        record = RequestRecord(*args)
        return refuse_nul(record) if may_hold_nul(line) else record

    return parse
