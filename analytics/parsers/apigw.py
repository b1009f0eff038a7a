"""API Gateway access logs in JSON, for REST APIs and HTTP APIs.

Teams name the JSON keys themselves when they write a stage's access-log format
(``{"requestId": "$context.requestId", ...}``), so each record field is read from
the first present of several usual spellings, listed as data below: AWS's own
examples ("requestId", "ip", "requestTime", "httpMethod", "resourcePath" or
"routeKey", "status", "protocol", "responseLength"), the variables' own names,
snake_case, and dotted or nested "identity.sourceIp". Which keys a source uses is
worked out once per shape of line and cached, so a line costs one look-up per
field it has.

API Gateway writes "-" for a variable without a value; that reads as absent.
``requestTimeEpoch`` (milliseconds) is preferred to ``requestTime`` (CLF, whole
seconds); a line with neither takes CloudWatch's event time. Lines exported to S3
start with the event's ISO time and a space, which is read the same way.
"""

from collections.abc import Callable, Iterable, Iterator
from dataclasses import fields

import orjson

from .base import MAX_TS_MS, LineContext, ParseError, RequestRecord
from .values import (
    auto_time_ms,
    count,
    epoch_ms,
    iso_time_ms,
    latency_ms,
    path_only,
    status_code,
    text,
)


def _event_id(value) -> str:
    return text(value, "request id")


def _method(value) -> str:
    return text(value, "method")


def _route(value) -> str:
    return text(value, "route")


def _route_key_route(value) -> str:
    """'GET /pets/{id}' -> '/pets/{id}'; '$default' stays as it is."""
    key = text(value, "route key")
    _, space, route = key.partition(" ")
    return route if space else key


def _route_key_method(value) -> str:
    key = text(value, "route key")
    method, space, _ = key.partition(" ")
    return method if space and method != "ANY" else ""


def _ip(value) -> str:
    return text(value, "source ip")


def _api_id(value) -> str:
    return text(value, "api id")


def _stage(value) -> str:
    return text(value, "stage")


def _api_key_id(value) -> str:
    return text(value, "api key id")


def _bytes(value) -> int:
    return count(value, "response length")


Key = str | tuple[str, ...]  # a top-level key, or a path into nested objects
Candidates = tuple[tuple[Key, Callable], ...]

_TIME = (
    ("requestTimeEpoch", epoch_ms),  # documented as milliseconds, whatever the size
    ("request_time_epoch", epoch_ms),
    ("requestTime", auto_time_ms),
    ("request_time", auto_time_ms),
    ("timestamp", auto_time_ms),
    ("time", auto_time_ms),
)
_EVENT_ID = (
    ("requestId", _event_id),
    ("request_id", _event_id),
    ("requestID", _event_id),
    ("extendedRequestId", _event_id),
    ("extended_request_id", _event_id),
)
_METHOD = (("httpMethod", _method), ("http_method", _method), ("method", _method))
_REST_ROUTE = (
    ("resourcePath", _route),
    ("resource_path", _route),
    ("resource", _route),
    ("routeKey", _route_key_route),
    ("route_key", _route_key_route),
    ("route", _route),
)
_HTTP_ROUTE = (
    ("routeKey", _route_key_route),
    ("route_key", _route_key_route),
    ("route", _route_key_route),
    ("resourcePath", _route),
    ("resource_path", _route),
)
_PATH = (("path", path_only), ("requestPath", path_only), ("request_path", path_only))
_STATUS = (
    ("status", status_code),
    ("statusCode", status_code),
    ("status_code", status_code),
    ("httpStatus", status_code),
)
_LATENCY = (
    ("responseLatency", latency_ms),
    ("response_latency", latency_ms),
    ("latency", latency_ms),
    ("latencyMs", latency_ms),
    ("latency_ms", latency_ms),
)
_INTEGRATION = (
    ("integrationLatency", latency_ms),
    ("integration_latency", latency_ms),
    ("integration.latency", latency_ms),
    (("integration", "latency"), latency_ms),
)
_BYTES = (
    ("responseLength", _bytes),
    ("response_length", _bytes),
    ("responseBytes", _bytes),
    ("bytes", _bytes),
)
_API_ID = (("apiId", _api_id), ("api_id", _api_id))
_STAGE = (("stage", _stage),)
_API_KEY_ID = (
    ("apiKeyId", _api_key_id),
    ("api_key_id", _api_key_id),
    ("identity.apiKeyId", _api_key_id),
    (("identity", "apiKeyId"), _api_key_id),
)
_SOURCE_IP = (
    ("ip", _ip),
    ("sourceIp", _ip),
    ("source_ip", _ip),
    ("identity.sourceIp", _ip),
    (("identity", "sourceIp"), _ip),
    ("clientIp", _ip),
    ("client_ip", _ip),
)

# Record field -> where to look, best first.
REST_FIELDS: tuple[tuple[str, Candidates], ...] = (
    ("ts_ms", _TIME),
    ("event_id", _EVENT_ID),
    ("method", _METHOD),
    ("route", _REST_ROUTE),
    ("path", _PATH),
    ("status", _STATUS),
    ("latency_ms", _LATENCY),
    ("integration_ms", _INTEGRATION),
    ("bytes", _BYTES),
    ("gateway_api_id", _API_ID),
    ("stage", _STAGE),
    ("api_key_id", _API_KEY_ID),
    ("source_ip", _SOURCE_IP),
)
HTTP_FIELDS: tuple[tuple[str, Candidates], ...] = (
    ("ts_ms", _TIME),
    ("event_id", _EVENT_ID),
    # An HTTP API's route key carries the method too ("GET /pets"): a fallback.
    ("method", (*_METHOD, ("routeKey", _route_key_method), ("route_key", _route_key_method))),
    ("route", _HTTP_ROUTE),
    ("path", _PATH),
    ("status", _STATUS),
    ("latency_ms", _LATENCY),
    ("integration_ms", _INTEGRATION),
    ("bytes", _BYTES),
    ("gateway_api_id", _API_ID),
    ("stage", _STAGE),
    ("api_key_id", _API_KEY_ID),
    ("source_ip", _SOURCE_IP),
)

_STATUS_KEYS = ", ".join(key for key, _ in _STATUS)
_READER_LIMIT = 256
_MEMO_LIMIT = 4096
_FIELDS = [field.name for field in fields(RequestRecord)]
_INDEX = {name: index for index, name in enumerate(_FIELDS)}
# Defaults; None where a missing value must be noticed (time, status).
_DEFAULTS = {
    field.name: None
    if field.name in ("ts_ms", "status")
    else ""
    if field.name == "event_id"
    else field.default
    for field in fields(RequestRecord)
}
_TS, _STATUS_INDEX = _INDEX["ts_ms"], _INDEX["status"]
# Converters that return text unchanged: a str value skips the call.
_TEXT = frozenset((_event_id, _method, _route, _ip, _api_id, _stage, _api_key_id))
# Converters of text to numbers that a few values keep being given ("200", "37"): each
# value read once, then looked up.
_MEMO = frozenset((status_code, latency_ms, _bytes))


def _dig(data: dict, path: tuple[str, ...]):
    value = data
    for step in path:
        if type(value) is not dict:
            return None
        value = value.get(step)
    return value


def _learn(memo: dict, convert: Callable, value):
    """``convert(value)``, remembered in ``memo`` if the value is text."""
    result = convert(value)
    if type(value) is str:
        if len(memo) >= _MEMO_LIMIT:
            memo.clear()
        memo[value] = result
    return result


def _reader(present: frozenset, table) -> Callable[[dict], tuple]:
    """A function reading, from a line holding these of the table's top-level keys, the
    record's fields as a tuple (RequestRecord's order): per field, its candidates that
    the line has, in order.

    It is generated once per set of keys so that a line costs straight-line code,
    no loop over the table and no call for a value already of its type: about half
    the time. The generated text holds only indices and names bound below, never a
    key from the log itself."""
    namespace: dict = {"dig": _dig, "learn": _learn}
    source = ["def read(data):"]
    values = {name: f"d{i}" for i, name in enumerate(_FIELDS)}
    for i, name in enumerate(_FIELDS):
        namespace[f"d{i}"] = _DEFAULTS[name]
    for f, (name, candidates) in enumerate(table):
        found = [
            (key, convert)
            for key, convert in candidates
            if (key if type(key) is str else key[0]) in present
        ]
        if not found:
            continue
        out = values[name] = f"x{f}"
        source.append(f"    {out} = d{_INDEX[name]}")
        pad = "    "
        for c, (key, convert) in enumerate(found):
            key_name, convert_name = f"k{f}_{c}", f"c{f}_{c}"
            namespace[key_name], namespace[convert_name] = key, convert
            get = f"data[{key_name}]" if type(key) is str else f"dig(data, {key_name})"
            source += [f"{pad}v = {get}", f"{pad}if v is not None and v != '-' and v != '':"]
            if convert in _TEXT:
                source.append(f"{pad}    {out} = v if type(v) is str else {convert_name}(v)")
            elif convert is path_only:
                source.append(
                    f"{pad}    {out} = v if type(v) is str and '?' not in v else {convert_name}(v)"
                )
            elif convert is epoch_ms:  # whole milliseconds in range come back as they are
                source.append(
                    f"{pad}    {out} = v if type(v) is int and 0 <= v <= {MAX_TS_MS} "
                    f"else {convert_name}(v)"
                )
            elif convert in _MEMO:
                memo_name = f"m{f}_{c}"
                namespace[memo_name] = {}
                source += [
                    f"{pad}    {out} = {memo_name}.get(v) if type(v) is str else None",
                    f"{pad}    if {out} is None:",
                    f"{pad}        {out} = learn({memo_name}, {convert_name}, v)",
                ]
            else:
                source.append(f"{pad}    {out} = {convert_name}(v)")
            if c + 1 < len(found):
                source.append(f"{pad}else:")
                pad += "    "
    source.append(f"    return ({', '.join(values[name] for name in _FIELDS)},)")
    exec("\n".join(source), namespace)  # noqa: S102 - the text is ours, see above
    return namespace["read"]


def _parser(table) -> tuple[Callable, Callable]:
    """The parser of one table: (parse, many), where ``parse(line, context)`` returns a
    RequestRecord and ``many(lines)`` reads (line, context) pairs into their records'
    values as tuples, or the ParseError that ``parse`` raises for the line, one by one."""
    known = frozenset(key if type(key) is str else key[0] for _, c in table for key, _ in c)
    # Line shape (its keys, in order) -> reader; and the known keys present -> reader,
    # so that lines of many shapes (junk included) share the few readers they need.
    readers: dict[tuple, Callable] = {}
    compiled: dict[frozenset, Callable] = {}
    loads, decode_error = orjson.loads, orjson.JSONDecodeError

    def reader_for(shape: tuple) -> Callable:
        present = known.intersection(shape)
        read = compiled.get(present)
        if read is None:
            if len(compiled) >= _READER_LIMIT:
                compiled.clear()
            read = compiled[present] = _reader(present, table)
        if len(readers) >= _READER_LIMIT:
            readers.clear()
        readers[shape] = read
        return read

    def values(line: bytes, context: LineContext) -> tuple:
        export_ms = None
        if line[:1] != b"{" and line.lstrip()[:1] != b"{":
            line, export_ms = _split_export_prefix(line)
        try:
            data = loads(line)
        except decode_error as exc:
            raise ParseError(f"not JSON: {str(exc)[:120]}") from None
        if type(data) is not dict:
            raise ParseError("not a JSON object")
        shape = tuple(data)
        record = (readers.get(shape) or reader_for(shape))(data)
        if record[_STATUS_INDEX] is None:
            raise ParseError(f"no status (looked for {_STATUS_KEYS})")
        if record[_TS] is None:
            ts = export_ms if export_ms is not None else context.timestamp_ms
            if ts is None:
                raise ParseError("no time: neither requestTimeEpoch nor requestTime")
            record = (ts, *record[1:])
        if b"\\" in line and b"\\u0000" in line:  # see may_hold_nul; memchr first
            for name, value in zip(_FIELDS, record, strict=True):
                if type(value) is str and "\x00" in value:
                    raise ParseError(f"NUL character in {name}")
        return record

    def parse(line: bytes, context: LineContext) -> RequestRecord:
        return RequestRecord(*values(line, context))

    def many(lines: Iterable[tuple[bytes, LineContext]]) -> Iterator[tuple | ParseError]:
        # One at a time: a page of values in a list would be a page more objects for
        # the garbage collector to count and walk.
        for line, context in lines:
            try:
                record = values(line, context)
            except ParseError as exc:
                yield exc
                continue
            yield record

    return parse, many


def _split_export_prefix(line: bytes) -> tuple[bytes, int]:
    """'2026-11-21T10:15:02.123Z {...}' (CloudWatch's export to S3) -> the JSON, the time."""
    cut = line.find(b" {")
    if cut < 10 or cut > 40:
        raise ParseError("not a JSON object")
    try:
        prefix = line[:cut].decode("ascii")
    except UnicodeDecodeError:
        raise ParseError("not a JSON object") from None
    return line[cut + 1 :], iso_time_ms(prefix)


parse_rest, _rest_many = _parser(REST_FIELDS)
parse_rest.__doc__ = "An API Gateway REST API access-log line in JSON."
parse_rest.many = _rest_many
parse_http, _http_many = _parser(HTTP_FIELDS)
parse_http.__doc__ = "An API Gateway HTTP API access-log line in JSON."
parse_http.many = _http_many
