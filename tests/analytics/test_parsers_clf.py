"""Common and Combined Log Format (nginx), with the request time GoAccess reads as %T."""

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from analytics.parsers import PARSERS, LineContext, ParseError, RequestRecord

LOGS = Path(__file__).resolve().parent.parent / "fixtures" / "logs"
NO_CONTEXT = LineContext()
clf = PARSERS["clf"]
combined = PARSERS["combined"]


def lines(name: str) -> list[bytes]:
    return (LOGS / name).read_bytes().splitlines()


def test_common_log_format_lines():
    first, second, third, fourth = [clf(line, NO_CONTEXT) for line in lines("clf.log")[:4]]
    assert first == RequestRecord(
        ts_ms=1_795_256_102_000,
        event_id="",
        method="GET",
        path="/index.html",
        status=200,
        bytes=2326,
        source_ip="192.0.2.10",
    )
    # -0800: 02:15:03 there is 10:15:03 UTC; "-" bytes is no body.
    assert (second.ts_ms, second.status, second.bytes) == (1_795_256_103_000, 304, 0)
    assert third.latency_ms == 18.0
    # API Gateway's CLF example ends with the request id.
    assert fourth.event_id == "5b8c2f7e-90d1-4a63-b1a4-0f3e1c2d9a10"
    assert fourth.latency_ms is None
    assert fourth.path == "/pets/{petId}"


def test_impossible_dates_and_other_text_are_refused():
    bad_date, not_a_line = lines("clf.log")[4:6]
    with pytest.raises(ParseError, match="bad time"):
        clf(bad_date, NO_CONTEXT)
    with pytest.raises(ParseError, match="not a CLF line"):
        clf(not_a_line, NO_CONTEXT)


def test_nginx_combined_lines():
    records = [combined(line, NO_CONTEXT) for line in lines("nginx_combined.log")[:6]]
    first, second, third, tls, closed, not_modified = records
    # The query string (and the key in it) is gone.
    assert (first.method, first.path, first.status, first.bytes) == ("GET", "/v1/pets/7", 200, 612)
    assert first.latency_ms == 4.0
    assert first.source_ip == "203.0.113.9"
    assert (second.source_ip, second.ts_ms, second.latency_ms) == (
        "2001:db8::42",
        1_795_256_103_000,
        250.0,
    )
    # nginx's \xHH escapes of UTF-8 bytes come back as text; quotes inside the agent.
    assert third.path == "/v1/cafés/crème"
    assert third.status == 404
    # A TLS handshake on a plain port: a 400 with no method or path.
    assert (tls.method, tls.path, tls.status, tls.bytes) == ("", "", 400, 157)
    assert (closed.status, closed.latency_ms) == (499, 30001.0)
    assert (not_modified.bytes, not_modified.latency_ms) == (0, None)


def test_oversized_byte_counts_and_negative_times_are_refused():
    huge, negative = lines("nginx_combined.log")[6:8]
    with pytest.raises(ParseError, match="response size"):
        combined(huge, NO_CONTEXT)
    with pytest.raises(ParseError, match="negative"):
        combined(negative, NO_CONTEXT)


def test_combined_needs_referer_and_agent_clf_does_not():
    line = lines("clf.log")[0]
    with pytest.raises(ParseError, match="combined"):
        combined(line, NO_CONTEXT)
    # A combined line read as CLF: the quoted fields are not an event id.
    record = clf(lines("nginx_combined.log")[0], NO_CONTEXT)
    assert (record.event_id, record.latency_ms, record.status) == ("", None, 200)


def test_extra_custom_fields_after_the_agent_are_tolerated():
    line = (
        b'192.0.2.1 - - [21/Nov/2026:10:15:02 +0000] "GET /a HTTP/1.1" 200 1 "-" "ua" 0.010 '
        b'"10.0.0.1, 10.0.0.2" upstream=0.009'
    )
    assert combined(line, NO_CONTEXT).latency_ms == 10.0
    line = b'192.0.2.1 - - [21/Nov/2026:10:15:02 +0000] "GET /a HTTP/1.1" 200 1 "-" "ua" "xff"'
    assert combined(line, NO_CONTEXT).latency_ms is None


def test_quotes_inside_the_request_do_not_end_it():
    line = b'192.0.2.1 - - [21/Nov/2026:10:15:02 +0000] "GET /a"b" 404" HTTP/1.1" 404 9'
    record = clf(line, NO_CONTEXT)
    assert (record.path, record.status, record.bytes) == ('/a"b" 404"', 404, 9)


def test_a_nul_escape_stays_escaped_and_a_raw_nul_is_refused():
    line = b'192.0.2.1 - - [21/Nov/2026:10:15:02 +0000] "GET /a\\x00b HTTP/1.1" 400 0'
    assert clf(line, NO_CONTEXT).path == "/a\\x00b"
    with pytest.raises(ParseError, match="NUL"):
        clf(line.replace(b"\\x00", b"\x00"), NO_CONTEXT)


@pytest.mark.parametrize(
    "line",
    [
        b"",
        b"-",
        b"192.0.2.1",
        b"192.0.2.1 - - [21/Nov/2026:10:15:02 +0000]",
        b'192.0.2.1 - - [21/Nov/2026:10:15:02 +0000] "GET / HTTP/1.1"',
        b'192.0.2.1 - - [21/Nov/2026:10:15:02 +0000] "GET / HTTP/1.1" 2000 1',
        b'192.0.2.1 - - [21/Nov/2026:10:15:02 +0000] "GET / HTTP/1.1" 099 1',
        b'192.0.2.1 - - [21/Nov/2026:10:15:02 +0000] "GET / HTTP/1.1" 200 -5',
        b'192.0.2.1 - - [21/Nov/2026:10:15:02 +0000] "GET / HTTP/1.1" 200 1 nan',
        b'192.0.2.1 - - [21/Nov/2026:10:15:02] "GET / HTTP/1.1" 200 1',
        b'192.0.2.1 - - [21/Nov/2026:24:15:02 +0000] "GET / HTTP/1.1" 200 1',
        b'192.0.2.1 - - [21/Nov/2026:10:15:02 +2500] "GET / HTTP/1.1" 200 1',
        b'192.0.2.1 - - [01/Jan/1970:00:00:00 +0100] "GET / HTTP/1.1" 200 1',
    ],
)
def test_malformed_lines_are_refused(line):
    with pytest.raises(ParseError):
        clf(line, NO_CONTEXT)


MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
hosts = st.one_of(
    st.ip_addresses().map(str), st.from_regex(r"[a-z][a-z0-9.-]{0,30}", fullmatch=True)
)
paths = st.from_regex(r"/[A-Za-z0-9/_.~%{}-]{0,60}", fullmatch=True)
methods = st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "PROPFIND"])
times = st.datetimes(
    min_value=dt.datetime(1971, 1, 1), max_value=dt.datetime(9998, 12, 31), timezones=st.none()
)
zones = st.integers(min_value=-14 * 60, max_value=14 * 60)
agents = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=126, exclude_characters='"\\'),
    max_size=40,
)


def clf_time(moment: dt.datetime, zone_minutes: int) -> str:
    sign = "+" if zone_minutes >= 0 else "-"
    hours, minutes = divmod(abs(zone_minutes), 60)
    return (
        f"{moment.day:02d}/{MONTHS[moment.month - 1]}/{moment.year}:"
        f"{moment:%H:%M:%S} {sign}{hours:02d}{minutes:02d}"
    )


@given(
    host=hosts,
    user=st.sampled_from(["-", "frank", "alice@example.com"]),
    moment=times,
    zone=zones,
    method=methods,
    path=paths,
    query=st.sampled_from(["", "?a=1", "?key=secret&b=2"]),
    status=st.integers(min_value=100, max_value=999),
    size=st.one_of(st.none(), st.integers(min_value=0, max_value=2**62)),
    millis=st.one_of(st.none(), st.integers(min_value=0, max_value=10**7)),
    referer=agents,
    agent=agents,
    is_combined=st.booleans(),
)
def test_generated_lines_parse_back_to_their_fields(
    host, user, moment, zone, method, path, query, status, size, millis, referer, agent,
    is_combined,
):  # fmt: skip
    line = (
        f'{host} - {user} [{clf_time(moment, zone)}] "{method} {path}{query} HTTP/1.1" '
        f"{status} {'-' if size is None else size}"
    )
    if is_combined:
        line += f' "{referer}" "{agent}"'
    if millis is not None:
        line += f" {millis / 1000:.3f}"
    record = (combined if is_combined else clf)(line.encode(), NO_CONTEXT)
    utc = moment.replace(tzinfo=dt.timezone(dt.timedelta(minutes=zone)))
    assert record.ts_ms == int(utc.timestamp()) * 1000
    assert (record.method, record.path, record.status) == (method, path, status)
    assert record.bytes == (size or 0)
    assert record.latency_ms == (None if millis is None else pytest.approx(millis))
    assert record.source_ip == host
