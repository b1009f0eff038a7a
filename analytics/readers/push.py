"""Pushed bodies to log lines: what CloudWatch Logs, Firehose and plain senders POST.

* A CloudWatch Logs subscription payload: gzip of ``{"messageType": "DATA_MESSAGE" or
  "CONTROL_MESSAGE", "logGroup", "logStream", "logEvents": [{"id", "timestamp",
  "message"}]}``, raw, base64-encoded, or inside the ``{"awslogs": {"data": ...}}``
  event a subscription hands a Lambda function that forwards it as it is.
* A Firehose HTTP endpoint delivery: ``{"requestId", "timestamp", "records":
  [{"data": base64}]}``, each record a subscription payload (gzip or not) or lines.
* Lines: NDJSON or text, one record a line.

Any of them may come gzip-compressed (Content-Encoding, or the gzip magic). Every
decompression and base64 decoding counts against one budget for the whole body,
and gzip is inflated incrementally, never past that budget: a gzip bomb costs the
budget and a 413, not the worker's memory.
"""

import base64
import binascii
import re
import zlib
from dataclasses import dataclass, field

import orjson

from ..parsers import LineContext

GZIP_MAGIC = b"\x1f\x8b"
GZIP_BASE64 = b"H4sI"  # how base64 of gzip data begins
_BASE64 = re.compile(rb"[A-Za-z0-9+/=\s]+")


class PushRefused(Exception):
    """The body cannot be taken; ``status`` and ``code`` say how to answer."""

    def __init__(self, message: str, *, status: int = 400, code: str = "bad_body"):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code


@dataclass
class PushBatch:
    lines: list[tuple[bytes, LineContext]] = field(default_factory=list)
    kind: str = "lines"  # "cloudwatch", "firehose" or "lines"
    control_messages: int = 0


class Decoder:
    def __init__(self, limit: int):
        self.limit = limit
        self.used = 0

    def _spend(self, size: int) -> None:
        self.used += size
        if self.used > self.limit:
            raise PushRefused(
                f"The body decodes to more than {self.limit} bytes, the limit.",
                status=413,
                code="too_large",
            )

    def gunzip(self, data: bytes) -> bytes:
        """Inflate every gzip member of ``data``, stopping at the budget."""
        out = bytearray()
        while data:
            inflater = zlib.decompressobj(wbits=31)
            try:
                room = self.limit - self.used
                chunk = inflater.decompress(data, room + 1)
            except zlib.error:
                raise PushRefused("The body is not valid gzip.") from None
            self._spend(len(chunk))
            out += chunk
            if not inflater.eof:
                raise PushRefused("The gzip data ends too soon.")
            data = inflater.unused_data
            if not data.startswith(GZIP_MAGIC):
                if data.strip(b"\0"):
                    raise PushRefused("The body has bytes after its gzip data.")
                break
        return bytes(out)

    def b64(self, text) -> bytes:
        if isinstance(text, str):
            text = text.encode("ascii", "replace")
        try:
            data = base64.b64decode(b"".join(text.split()), validate=True)
        except (binascii.Error, ValueError):
            raise PushRefused("A record's data is not valid base64.") from None
        self._spend(len(data))
        return data

    def decode(self, body: bytes, *, gzipped: bool = False) -> PushBatch:
        self._spend(len(body))
        if gzipped or body.startswith(GZIP_MAGIC):
            body = self.gunzip(body)
        head = body[:64].lstrip()
        if head.startswith(b"{"):
            try:
                document = orjson.loads(body)
            except orjson.JSONDecodeError:
                document = None  # NDJSON: several objects, one a line
            if isinstance(document, dict):
                if isinstance(document.get("records"), list):
                    return self._firehose(document["records"])
                awslogs = document.get("awslogs")
                if isinstance(awslogs, dict) and "data" in awslogs:
                    return self._subscription(self.gunzip(self.b64(awslogs["data"])))
                if document.get("messageType") in ("DATA_MESSAGE", "CONTROL_MESSAGE"):
                    return _subscription_batch(document)
        elif head.startswith(GZIP_BASE64) and _BASE64.fullmatch(body.strip()[:4096]):
            data = self.b64(body.strip())
            if data.startswith(GZIP_MAGIC):
                return self._subscription(self.gunzip(data))
        return PushBatch(lines=_lines(body), kind="lines")

    def _subscription(self, data: bytes) -> PushBatch:
        try:
            document = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise PushRefused("The CloudWatch Logs payload is not JSON.") from None
        return _subscription_batch(document)

    def _firehose(self, records: list) -> PushBatch:
        batch = PushBatch(kind="firehose")
        for record in records:
            if not isinstance(record, dict) or not isinstance(record.get("data"), str):
                raise PushRefused("A Firehose record has no data.")
            data = self.b64(record["data"])
            if data.startswith(GZIP_MAGIC):
                data = self.gunzip(data)
            if data[:64].lstrip().startswith(b"{") and b'"messageType"' in data[:4096]:
                try:
                    document = orjson.loads(data)
                except orjson.JSONDecodeError:
                    document = None
                if isinstance(document, dict) and "logEvents" in document:
                    inner = _subscription_batch(document)
                    batch.lines.extend(inner.lines)
                    batch.control_messages += inner.control_messages
                    continue
            batch.lines.extend(_lines(data))
        return batch


def _lines(data: bytes) -> list[tuple[bytes, LineContext]]:
    context = LineContext()
    return [(line, context) for line in (raw.rstrip(b"\r") for raw in data.split(b"\n")) if line]


def _subscription_batch(document) -> PushBatch:
    if not isinstance(document, dict):
        raise PushRefused("The CloudWatch Logs payload is not a JSON object.")
    batch = PushBatch(kind="cloudwatch")
    if document.get("messageType") == "CONTROL_MESSAGE":
        batch.control_messages = 1
        return batch
    if document.get("messageType") != "DATA_MESSAGE":
        raise PushRefused("The CloudWatch Logs payload's messageType is not DATA_MESSAGE.")
    group, stream = document.get("logGroup"), document.get("logStream")
    events = document.get("logEvents")
    if not isinstance(group, str) or not isinstance(stream, str) or not isinstance(events, list):
        raise PushRefused("The CloudWatch Logs payload lacks logGroup, logStream or logEvents.")
    for event in events:
        if not isinstance(event, dict):
            raise PushRefused("A CloudWatch log event is not an object.")
        message, timestamp = event.get("message"), event.get("timestamp")
        if not isinstance(message, str) or type(timestamp) is not int:
            raise PushRefused("A CloudWatch log event lacks its message or timestamp.")
        event_id = event.get("id")
        context = LineContext(
            timestamp_ms=timestamp,
            log_group=group,
            log_stream=stream,
            event_id=event_id if isinstance(event_id, str) else "",
        )
        batch.lines.append((message.encode("utf-8", "replace").rstrip(b"\r\n"), context))
    return batch


def decode_push(body: bytes, *, gzipped: bool, limit: int) -> PushBatch:
    """The lines a pushed body carries. Raises PushRefused."""
    return Decoder(limit).decode(body, gzipped=gzipped)
