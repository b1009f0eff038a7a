"""What every log parser returns: records, or a ParseError for a line it cannot read.

A parser is a function ``parse(line: bytes, context: LineContext) -> Record``.
It never raises anything but ParseError, whatever the bytes. Times are UTC
epoch milliseconds (ints): cheaper to parse, compare and store than datetimes.
"""

from dataclasses import dataclass


class ParseError(ValueError):
    """This line is not in the expected format; the message says why, briefly."""


class NotARecord(ParseError):
    """A well-formed line that is not a record: a Lambda START or END line, an
    application log line. Importers count these as skipped, not rejected."""


@dataclass(slots=True)
class LineContext:
    """What the transport knows about a line: CloudWatch's event time, group and stream,
    or nothing for a file."""

    timestamp_ms: int | None = None
    log_group: str = ""
    log_stream: str = ""
    event_id: str = ""  # CloudWatch's own id of the log event


@dataclass(slots=True)
class RequestRecord:
    """One request through a gateway."""

    ts_ms: int
    event_id: str
    method: str = ""
    route: str = ""  # resource path or route key, e.g. /pets/{id}
    path: str = ""  # the path as called, when the log has it
    status: int = 0
    latency_ms: float | None = None
    integration_ms: float | None = None
    bytes: int | None = None
    gateway_api_id: str = ""
    stage: str = ""
    api_key_id: str = ""
    key_hash: str = ""  # a SHA-256 hex digest of the key (LiteLLM)
    source_ip: str = ""
    model: str = ""
    tokens_in: int | None = None
    tokens_out: int | None = None
    cost: float | None = None


@dataclass(slots=True)
class InvocationRecord:
    """One Lambda invocation, from its REPORT line."""

    ts_ms: int
    event_id: str  # the Lambda request id
    function: str = ""
    version: str = ""
    duration_ms: float = 0.0
    billed_ms: float = 0.0
    memory_mb: int = 0
    max_memory_mb: int = 0
    init_ms: float | None = None  # present on a cold start


Record = RequestRecord | InvocationRecord

# What a stored record must fit (the event tables' column types); parsers refuse
# values outside these bounds instead of letting the database refuse a whole page.
MAX_TS_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z
MAX_BIGINT = 2**63 - 1
MAX_INT = 2**31 - 1
