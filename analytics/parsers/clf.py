"""Common Log Format and nginx's Combined Log Format, read by hand (string searches,
no regular expression: about twice as fast here):

    clf:      host ident user [21/Nov/2026:10:15:02 +0000] "GET /pets?x=1 HTTP/1.1" 200 512
    combined: ... 200 512 "referer" "user agent"

Either may end with the request time in seconds (nginx's ``$request_time``,
GoAccess's ``%T``), e.g. ``0.123``. API Gateway's CLF example ends with the
request id instead (``... $context.responseLength $context.requestId``): a
non-numeric last field of a CLF line is taken as the event id. Otherwise CLF has
no request id and ``event_id`` is "" (the importer derives one from the line).

The request's path loses its query string (keys travel there); nginx's \\xHH
escapes (of quotes and of bytes beyond ASCII) are undone, so a UTF-8 path reads as
text. A response size of "-" means no body: 0 bytes.
"""

import math

from .base import MAX_BIGINT, LineContext, ParseError, RequestRecord
from .values import clf_time_ms, refuse_nul

_TIME_LENGTH = 26  # 21/Nov/2026:10:15:02 +0000
_METHODS = frozenset(("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"))
_HEX = frozenset("0123456789abcdefABCDEF")


def _closing_quote(s: str, start: int) -> int:
    """Index of the first '"' at or after start that no backslash escapes, or -1."""
    quote = s.find('"', start)
    while quote > 0 and s[quote - 1] == "\\":
        quote = s.find('"', quote + 1)
    return quote


def _unescape(path: str) -> str:
    """Undo nginx's \\xHH escapes: '/caf\\xC3\\xA9' -> '/café'. A NUL stays escaped:
    PostgreSQL cannot store it."""
    pieces = path.split("\\x")
    out = bytearray(pieces[0].encode())
    for piece in pieces[1:]:
        code = piece[:2]
        if len(code) == 2 and _HEX.issuperset(code) and code != "00":
            out.append(int(code, 16))
            out += piece[2:].encode()
        else:
            out += b"\\x" + piece.encode()
    return out.decode("utf-8", "replace")


def _request(request: str) -> tuple[str, str]:
    """'GET /pets?x=1 HTTP/1.1' -> ('GET', '/pets'); anything unreadable -> ('', '')."""
    first = request.find(" ")
    last = request.rfind(" ")
    if first < 0:
        return "", ""
    method = request[:first]
    if last > first and request.startswith("HTTP/", last + 1):
        path = request[first + 1 : last]
    elif last == first:  # HTTP/0.9: no protocol
        path = request[first + 1 :]
    else:
        return "", ""
    if method not in _METHODS and not (method.isascii() and method.replace("-", "").isalpha()):
        return "", ""
    cut = path.find("?")
    if cut >= 0:
        path = path[:cut]
    if "\\x" in path:
        path = _unescape(path)
    return method, path


def _milliseconds(seconds: float) -> float:
    if not math.isfinite(seconds):
        raise ParseError("request time is not a finite number")
    if seconds < 0:
        raise ParseError("request time is negative")
    return seconds * 1000.0 + 0.0


def _parse(line: bytes, combined: bool) -> RequestRecord:
    s = line.decode("utf-8", "replace").rstrip("\r\n")
    host_end = s.find(" ")
    if host_end <= 0:
        raise ParseError("not a CLF line: no host")
    opening = s.find(" [", host_end)
    if opening < 0:
        raise ParseError("not a CLF line: no [time]")
    closing = opening + 2 + _TIME_LENGTH
    if s[closing : closing + 3] != '] "':
        closing = s.find("]", opening)
        if closing < 0 or s[closing : closing + 3] != '] "':
            raise ParseError('not a CLF line: no "request" after the [time]')
    ts_ms = clf_time_ms(s[opening + 2 : closing])

    # The request ends at the quote followed by a space, a three-digit status and a
    # space (or the line's end): quotes inside a request line cannot fool it.
    start = closing + 3
    end = s.find('" ', start)
    while end >= 0:
        status_text = s[end + 2 : end + 5]
        if (
            len(status_text) == 3
            and status_text.isascii()
            and status_text.isdigit()
            and s[end + 5 : end + 6] in (" ", "")
        ):
            break
        end = s.find('" ', end + 1)
    if end < 0:
        raise ParseError("not a CLF line: no status after the request")
    status = int(status_text)
    if status < 100:
        raise ParseError("status out of range (100 to 999)")
    method, path = _request(s[start:end])

    size_start = end + 6
    size_end = s.find(" ", size_start)
    if size_end < 0:
        size_end = len(s)
    size_text = s[size_start:size_end]
    if size_text == "-":
        size = 0
    elif (
        size_text.isascii()
        and size_text.isdigit()
        and len(size_text) <= 19
        and int(size_text) <= MAX_BIGINT
    ):
        size = int(size_text)
    else:
        raise ParseError(f"bad response size {size_text[:20]!r}")
    rest = s[size_end + 1 :]

    if combined:
        referer_end = _closing_quote(rest, 1) if rest[:1] == '"' else -1
        if referer_end < 0 or rest[referer_end : referer_end + 3] != '" "':
            raise ParseError('not a combined line: no "referer" "user agent" after the size')
        agent_end = _closing_quote(rest, referer_end + 3)
        if agent_end < 0:
            raise ParseError("not a combined line: the user agent has no closing quote")
        rest = rest[agent_end + 1 :]

    latency = None
    event_id = ""
    tail = rest.split(None, 1)
    if tail and tail[0] != "-":
        token = tail[0]
        try:
            seconds = float(token)
        except ValueError:
            # API Gateway's CLF ends with the request id; combined lines may carry
            # further fields of a custom format, which are not ours to read.
            if not combined and not token.startswith('"'):
                event_id = token
        else:
            latency = _milliseconds(seconds)

    host = s[:host_end]
    # Positional, in RequestRecord's field order: keywords cost a third of a µs a line.
    record = RequestRecord(
        ts_ms,
        event_id,
        method,
        "",
        path,
        status,
        latency,
        None,
        size,
        "",
        "",
        "",
        "",
        "" if host == "-" else host,
    )
    return refuse_nul(record) if b"\x00" in line else record


def parse_clf(line: bytes, context: LineContext) -> RequestRecord:
    """A Common Log Format line, with an optional request time or request id at the end."""
    return _parse(line, combined=False)


def parse_combined(line: bytes, context: LineContext) -> RequestRecord:
    """A Combined Log Format line (nginx), with an optional request time at the end."""
    return _parse(line, combined=True)
