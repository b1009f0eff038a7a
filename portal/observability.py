"""Request ids and structured logs.

Every request gets an id (taken from a well-formed ``X-Request-ID`` header or
made here). It is returned in the response header, stamped on every log line
and on audit events, and travels in the headers of the Celery tasks the
request enqueues, so a task's log lines carry the id of the request behind it.
Secrets the portal issued are cut out of every log record as it is made.
"""

import contextvars
import datetime
import json
import logging
import re
import uuid

from celery import signals

from tenants.keys import redact

REQUEST_ID_HEADER = "X-Request-ID"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")


def current_request_id() -> str:
    return _request_id.get()


def new_request_id() -> str:
    return uuid.uuid4().hex


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        offered = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = offered if _VALID_REQUEST_ID.match(offered) else new_request_id()
        request.request_id = request_id
        token = _request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            _request_id.reset(token)
        response[REQUEST_ID_HEADER] = request_id
        return response


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        # Django logs 4xx/5xx responses after the middleware has returned, but
        # hands the request to the record: take the id from there.
        request = getattr(record, "request", None)
        record.request_id = _request_id.get() or getattr(request, "request_id", None) or "-"
        return True


_STANDARD_ATTRS = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "request_id",
}


def _record_request_id(record: logging.LogRecord) -> str | None:
    request_id = getattr(record, "request_id", None)
    if request_id and request_id != "-":  # "-" is the text format's placeholder
        return request_id
    return _request_id.get() or None


def install_secret_redaction() -> None:
    """Cut the portal's secrets out of every log record as it is made, whichever library
    logs it and at whatever level (botocore at DEBUG logs request bodies, key values
    included), so that no handler, formatter or test capture ever sees one."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "redacts_secrets", False):
        return

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a broken format is the handler's to report, as usual
            return record
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info:
            # Formatters print a cached exc_text as it is: cache the redacted one.
            text = logging.Formatter().formatException(record.exc_info)
            if redact(text) != text:
                record.exc_text = redact(text)
        return record

    factory.redacts_secrets = True
    logging.setLogRecordFactory(factory)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "time": datetime.datetime.fromtimestamp(record.created, tz=datetime.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": _record_request_id(record),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                payload[key] = value
        if record.exc_info:
            payload["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(payload, default=str)


# --- Celery: carry the id from the enqueuing request into the task ----------


@signals.before_task_publish.connect
def _stamp_request_id(headers=None, **_):
    request_id = _request_id.get()
    if headers is not None and request_id:
        headers.setdefault("portico_request_id", request_id)


_task_tokens: dict[str, contextvars.Token] = {}


@signals.task_prerun.connect
def _restore_request_id(task_id=None, task=None, **_):
    request_id = getattr(task.request, "portico_request_id", None) or _request_id.get()
    _task_tokens[task_id] = _request_id.set(request_id or f"task-{task_id}")


@signals.task_postrun.connect
def _clear_request_id(task_id=None, **_):
    token = _task_tokens.pop(task_id, None)
    if token is not None:
        _request_id.reset(token)
