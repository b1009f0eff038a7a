"""Lambda REPORT lines, one per invocation:

    REPORT RequestId: <id>\tDuration: 2.64 ms\tBilled Duration: 3 ms\tMemory Size: 128 MB\t
    Max Memory Used: 65 MB\tInit Duration: 163.07 ms

Fields are separated by tabs (or spaces, once copied by hand); "Init Duration" comes
only on a cold start; newer runtimes add "Restore Duration", XRAY ids and more,
which are ignored. Functions logging in Lambda's JSON format write the same report
as a ``platform.report`` event, read here too.

The time is CloudWatch's event time (``context.timestamp_ms``), or the ISO time an
export to S3 puts in front of each line. The function comes from the log group
(``/aws/lambda/<function>``), its version from the stream ("2026/11/21/[$LATEST]..."
or "[3]...").

Every other line of a function's log (START, END, INIT_START, the function's own
output) is a NotARecord, so importers count it as skipped rather than rejected.
"""

from .base import MAX_INT, InvocationRecord, LineContext, NotARecord, ParseError
from .values import amount, iso_time_ms, load_object, may_hold_nul, refuse_nul, text, whole

_PREFIX = "REPORT "
_UNITS = frozenset(("ms", "MB"))
_GROUP_PREFIX = "/aws/lambda/"


def _duration(value: str, name: str) -> float:
    return amount(value, name)


def _megabytes(value: str, name: str) -> int:
    return whole(value, name, 0, MAX_INT)


def function_of(context: LineContext) -> tuple[str, str]:
    """(function name, version) from the log group and stream names."""
    group, stream = context.log_group, context.log_stream
    function = group[len(_GROUP_PREFIX) :] if group.startswith(_GROUP_PREFIX) else ""
    version = ""
    opening = stream.find("[")
    if opening >= 0:
        closing = stream.find("]", opening)
        if closing > opening:
            version = stream[opening + 1 : closing]
    return function, version


def _fields(rest: str) -> dict[str, str]:
    """'RequestId: x\tDuration: 2.64 ms ...' -> {'RequestId': 'x', 'Duration': '2.64', ...}."""
    fields = {}
    if "\t" in rest:
        for part in rest.split("\t"):
            name, colon, value = part.partition(": ")
            if colon:
                fields[name.strip()] = value.partition(" ")[0]
        return fields
    # Separated by spaces: splitting on ': ' leaves chunks like '2.64 ms Billed Duration',
    # a value, maybe a unit, then the next field's name.
    chunks = rest.split(": ")
    name = chunks[0].strip()
    for chunk in chunks[1:]:
        words = chunk.split()
        fields[name] = words[0] if words else ""
        skip = 2 if len(words) > 1 and words[1] in _UNITS else 1
        name = " ".join(words[skip:])
    return fields


def parse(line: bytes, context: LineContext) -> InvocationRecord:
    ts_ms = context.timestamp_ms
    if not line.startswith(b"REPORT "):
        stripped = line.lstrip()
        if stripped.startswith(b"{"):
            return _parse_json(stripped, context)
        # An export to S3 puts the event's time first: '2026-11-21T10:15:02.123Z REPORT ...'
        cut = line.find(b" REPORT ", 0, 48)
        if cut < 10:
            raise NotARecord("not a REPORT line")
        try:
            ts_ms = iso_time_ms(line[:cut].decode("ascii"))
        except (UnicodeDecodeError, ParseError):
            raise NotARecord("not a REPORT line") from None
        line = line[cut + 1 :]
    body = line.decode("utf-8", "replace")[len(_PREFIX) :]
    fields = _fields(body)
    request_id = fields.get("RequestId", "")
    if not request_id:
        raise ParseError("REPORT line without a RequestId")
    if "Duration" not in fields:
        raise ParseError("REPORT line without a Duration")
    if ts_ms is None:
        raise ParseError("REPORT line without an event time")
    function, version = function_of(context)
    init = fields.get("Init Duration")
    record = InvocationRecord(
        ts_ms,
        request_id,
        function,
        version,
        _duration(fields["Duration"], "duration"),
        _duration(fields.get("Billed Duration", "0"), "billed duration"),
        _megabytes(fields.get("Memory Size", "0"), "memory size"),
        _megabytes(fields.get("Max Memory Used", "0"), "max memory used"),
        None if init is None else _duration(init, "init duration"),
    )
    return refuse_nul(record) if b"\x00" in line else record


def _parse_json(line: bytes, context: LineContext) -> InvocationRecord:
    """{"time": "...", "type": "platform.report", "record": {"requestId": ...,
    "metrics": {"durationMs": ..., "billedDurationMs": ..., "memorySizeMB": ...,
    "maxMemoryUsedMB": ..., "initDurationMs": ...}}}"""
    try:
        data = load_object(line)
    except ParseError:
        raise NotARecord("not a REPORT line") from None
    if data.get("type") != "platform.report":
        raise NotARecord("not a platform.report event")
    record = data.get("record")
    metrics = record.get("metrics") if type(record) is dict else None
    if type(metrics) is not dict:
        raise ParseError("platform.report without record.metrics")
    request_id = record.get("requestId")
    if not request_id:
        raise ParseError("platform.report without a requestId")
    duration = metrics.get("durationMs")
    if duration is None:
        raise ParseError("platform.report without durationMs")
    ts_ms = context.timestamp_ms
    if ts_ms is None:
        when = data.get("time")
        if type(when) is not str:
            raise ParseError("platform.report without a time")
        ts_ms = iso_time_ms(when)
    function, version = function_of(context)
    init = metrics.get("initDurationMs")
    result = InvocationRecord(
        ts_ms=ts_ms,
        event_id=text(request_id, "requestId"),
        function=function,
        version=version,
        duration_ms=_duration(duration, "durationMs"),
        billed_ms=_duration(metrics.get("billedDurationMs") or 0, "billedDurationMs"),
        memory_mb=_megabytes(metrics.get("memorySizeMB") or 0, "memorySizeMB"),
        max_memory_mb=_megabytes(metrics.get("maxMemoryUsedMB") or 0, "maxMemoryUsedMB"),
        init_ms=None if init is None else _duration(init, "initDurationMs"),
    )
    return refuse_nul(result) if may_hold_nul(line) else result
