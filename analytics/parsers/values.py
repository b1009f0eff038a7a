"""Raw log values to record values: times, numbers and text, parsed by hand.

Every function here raises ParseError and nothing else on a bad value. Times are
parsed without datetime.strptime (several times slower): a minute's start is
computed once and cached, so most timestamps cost three dictionary look-ups.
"""

import math
from datetime import date

import orjson

from .base import MAX_BIGINT, MAX_INT, MAX_TS_MS, ParseError

_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_DAY_MS = 86_400_000
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}
_CACHE_LIMIT = 8192

# ":SS" -> milliseconds; 60 is a leap second, as CLF and ISO 8601 allow.
_SECONDS = {f":{s:02d}": s * 1000 for s in range(61)}
# A minute as written ("21/Nov/2026:10:15" or "2026-11-21T10:15") -> its start in ms,
# read as UTC; the zone is applied separately.
_CLF_MINUTES: dict[str, int] = {}
_ISO_MINUTES: dict[str, int] = {}
# " +0100" -> 3_600_000
_CLF_ZONES: dict[str, int] = {}


def _digits(text: str) -> int:
    if not (text.isascii() and text.isdigit()):
        raise ValueError(text)
    return int(text)


def _day_ms(year: int, month: int, day: int) -> int:
    return (date(year, month, day).toordinal() - _EPOCH_ORDINAL) * _DAY_MS


def _zone_ms(sign: str, hours: str, minutes: str) -> int:
    h, m = _digits(hours), _digits(minutes)
    if sign not in "+-" or len(sign) != 1 or h > 23 or m > 59:
        raise ValueError(sign)
    offset = (h * 60 + m) * 60_000
    return -offset if sign == "-" else offset


def _checked(ms: int) -> int:
    if 0 <= ms <= MAX_TS_MS:
        return ms
    raise ParseError("time out of range (1970 to 9999)")


def _remember(cache: dict, key: str, value: int) -> None:
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    cache[key] = value


def clf_time_ms(text: str) -> int:
    """'21/Nov/2026:10:15:02 +0000' (CLF, nginx's $time_local, API Gateway's requestTime)."""
    try:
        return _checked(_CLF_MINUTES[text[:17]] + _SECONDS[text[17:20]] - _CLF_ZONES[text[20:]])
    except KeyError:
        pass
    try:
        if len(text) != 26 or text[2] != "/" or text[6] != "/" or text[11] != ":":
            raise ValueError(text)
        if text[14] != ":" or text[20] != " ":
            raise ValueError(text)
        hour, minute = _digits(text[12:14]), _digits(text[15:17])
        if hour > 23 or minute > 59:
            raise ValueError(text)
        minute_ms = (
            _day_ms(_digits(text[7:11]), _MONTHS[text[3:6]], _digits(text[0:2]))
            + (hour * 60 + minute) * 60_000
        )
        second_ms = _SECONDS[text[17:20]]
        zone_ms = _zone_ms(text[21], text[22:24], text[24:26])
    except (ValueError, KeyError, OverflowError):
        raise ParseError(
            f"bad time {text[:40]!r}: expected like 21/Nov/2026:10:15:02 +0000"
        ) from None
    _remember(_CLF_MINUTES, text[:17], minute_ms)
    _remember(_CLF_ZONES, text[20:], zone_ms)
    return _checked(minute_ms + second_ms - zone_ms)


def iso_time_ms(text: str) -> int:
    """ISO 8601 / RFC 3339: '2026-11-21T10:15:02.123Z', '+01:00', '+0100', a space
    for the T, or a date alone. A time without a zone is read as UTC."""
    try:
        minute_ms = _ISO_MINUTES.get(text[:16])
        if minute_ms is None:
            minute_ms = _iso_minute(text)
        rest = text[16:]
        if not rest:
            return _checked(minute_ms)
        ms = minute_ms + _SECONDS[rest[:3]]
        rest = rest[3:]
        if rest[:1] == ".":
            digits = rest[1:]
            zone = digits.lstrip("0123456789")
            fraction = digits[: len(digits) - len(zone)]
            if not fraction:
                raise ValueError(text)
            ms += int(fraction[:3].ljust(3, "0"))
            rest = zone
        if rest in ("Z", "z", ""):
            return _checked(ms)
        if len(rest) == 6 and rest[3] == ":":
            return _checked(ms - _zone_ms(rest[0], rest[1:3], rest[4:6]))
        if len(rest) == 5:
            return _checked(ms - _zone_ms(rest[0], rest[1:3], rest[3:5]))
        if len(rest) == 3:
            return _checked(ms - _zone_ms(rest[0], rest[1:3], "00"))
        raise ValueError(text)
    except (ValueError, KeyError, OverflowError):
        raise ParseError(f"bad time {text[:40]!r}: expected ISO 8601") from None


def _iso_minute(text: str) -> int:
    if len(text) == 10 and text[4] == "-" and text[7] == "-":
        # A date alone: its midnight; cached under the date itself.
        day = _day_ms(_digits(text[0:4]), _digits(text[5:7]), _digits(text[8:10]))
        _remember(_ISO_MINUTES, text, day)
        return day
    if len(text) < 16 or text[4] != "-" or text[7] != "-" or text[10] not in "Tt ":
        raise ValueError(text)
    if text[13] != ":":
        raise ValueError(text)
    hour, minute = _digits(text[11:13]), _digits(text[14:16])
    if hour > 23 or minute > 59:
        raise ValueError(text)
    ms = (
        _day_ms(_digits(text[0:4]), _digits(text[5:7]), _digits(text[8:10]))
        + (hour * 60 + minute) * 60_000
    )
    _remember(_ISO_MINUTES, text[:16], ms)
    return ms


def epoch_ms(value, scale: float = 1.0) -> int:
    """A number of (seconds, milliseconds, ...) since 1970 as whole milliseconds;
    ``scale`` is milliseconds per unit."""
    kind = type(value)
    if kind is str:
        try:
            value = float(value) if "." in value or "e" in value or "E" in value else int(value)
        except ValueError:
            raise ParseError(f"bad epoch time {value[:40]!r}") from None
        kind = type(value)
    if kind is int:
        ms = value * scale if scale != 1.0 else value
    elif kind is float:
        if not math.isfinite(value):
            raise ParseError("time is not a finite number")
        ms = value * scale
    else:
        raise ParseError("time is not a number")
    if not 0 <= ms <= MAX_TS_MS:
        raise ParseError("time out of range (1970 to 9999)")
    return ms if type(ms) is int else round(ms)


def auto_time_ms(value) -> int:
    """A time in whatever shape: epoch seconds, milliseconds, microseconds or
    nanoseconds (told apart by size: 1e11 seconds is the year 5138, 1e11 ms 1973),
    ISO 8601, or CLF."""
    kind = type(value)
    if kind is int and 100_000_000_000 <= value < 100_000_000_000_000:
        return value  # milliseconds, the usual case (requestTimeEpoch, started_at)
    if kind is str:
        if len(value) > 4 and value[4] == "-":
            return iso_time_ms(value)
        if len(value) > 2 and value[2] == "/":
            return clf_time_ms(value)
        try:
            value = float(value) if "." in value or "e" in value or "E" in value else int(value)
        except ValueError:
            raise ParseError(f"bad time {value[:40]!r}") from None
        kind = type(value)
    if kind is not int and kind is not float:
        raise ParseError("time is neither a number nor text")
    magnitude = abs(value)
    if magnitude < 1e11:
        return epoch_ms(value, 1000.0)
    if magnitude < 1e14:
        return epoch_ms(value)
    if magnitude < 1e17:
        return epoch_ms(value, 0.001)
    return epoch_ms(value, 0.000001)


def whole(value, name: str, low: int = 0, high: int = MAX_BIGINT) -> int:
    """A whole number in [low, high]: an int, a float without a fraction, or digits."""
    kind = type(value)
    if kind is int:
        number = value
    elif kind is str:
        try:
            number = _digits(value)
        except ValueError:
            raise ParseError(f"{name} is not a whole number: {value[:40]!r}") from None
    elif kind is float and value.is_integer():
        number = int(value)
    else:
        raise ParseError(f"{name} is not a whole number")
    if low <= number <= high:
        return number
    raise ParseError(f"{name} out of range ({low} to {high})")


def status_code(value) -> int:
    kind = type(value)
    if kind is str and len(value) == 3 and value.isdigit() and value.isascii():
        number = int(value)
        if number >= 100:
            return number
    elif kind is int and 100 <= value <= 999:
        return value
    return whole(value, "status", 100, 999)


def count(value, name: str = "count") -> int:
    kind = type(value)
    if kind is str and len(value) < 19 and value.isdigit() and value.isascii():
        return int(value)
    if kind is int and 0 <= value <= MAX_BIGINT:
        return value
    return whole(value, name, 0, MAX_BIGINT)


def tokens(value, name: str = "tokens") -> int:
    if type(value) is int and 0 <= value <= MAX_INT:
        return value
    return whole(value, name, 0, MAX_INT)


def amount(value, name: str = "latency") -> float:
    """A finite number not below zero (latencies in ms, costs)."""
    kind = type(value)
    if kind is float:
        number = value
    elif kind is int:
        number = float(value)
    elif kind is str:
        try:
            number = float(value)
        except ValueError:
            raise ParseError(f"{name} is not a number: {value[:40]!r}") from None
    else:
        raise ParseError(f"{name} is not a number")
    if number >= 0.0 and number != math.inf:
        return number + 0.0  # -0.0 becomes 0.0
    if number < 0.0:
        raise ParseError(f"{name} is negative")
    raise ParseError(f"{name} is not a finite number")


latency_ms = amount


def seconds_as_ms(value, name: str = "latency") -> float:
    return amount(value, name) * 1000.0


def text(value, name: str = "value") -> str:
    kind = type(value)
    if kind is str:
        return value
    if kind is int or kind is float:
        return str(value)
    raise ParseError(f"{name} is not text")


def path_only(value) -> str:
    """A request target without its query string: keys and tokens travel in query
    strings, and the event table is no place for them."""
    path = text(value, "path")
    cut = path.find("?")
    return path if cut < 0 else path[:cut]


def load_object(line: bytes) -> dict:
    try:
        data = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise ParseError(f"not JSON: {str(exc)[:120]}") from None
    if type(data) is not dict:
        raise ParseError("not a JSON object")
    return data


def may_hold_nul(line: bytes) -> bool:
    """True when a JSON line may decode to text holding NUL, which PostgreSQL cannot
    store; the record's text is then checked field by field. (orjson refuses a raw
    NUL byte in JSON; only the escape can bring one.)"""
    return b"\\u0000" in line


def refuse_nul(record):
    for name in record.__slots__:
        value = getattr(record, name)
        if type(value) is str and "\x00" in value:
            raise ParseError(f"NUL character in {name}")
    return record
