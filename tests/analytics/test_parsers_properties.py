"""Properties every parser keeps: any bytes give a storable record or a ParseError,
never another exception; hand-written time parsing agrees with datetime; generated
lines parse back to the fields they were made from."""

import datetime as dt
import math
from dataclasses import fields
from pathlib import Path

import orjson
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from analytics.parsers import (
    PARSERS,
    InvocationRecord,
    LineContext,
    NotARecord,
    ParseError,
    RequestRecord,
    custom_json_parser,
    parse_lines,
)
from analytics.parsers.apigw import HTTP_FIELDS, REST_FIELDS
from analytics.parsers.base import MAX_BIGINT, MAX_INT, MAX_TS_MS
from analytics.parsers.values import auto_time_ms, clf_time_ms, iso_time_ms

LOGS = Path(__file__).resolve().parent.parent / "fixtures" / "logs"
CUSTOM = custom_json_parser(
    {
        "ts_ms": "time",
        "event_id": "req.id",
        "status": "res.statusCode",
        "latency_ms": {"path": "responseTime", "as": "ms"},
        "bytes": "res.size",
        "tokens_in": "usage.0",
        "cost": "cost",
        "path": "req.url",
    }
)
ALL = {name: parser for name, parser in PARSERS.items() if name != "custom_json"}
ALL["custom_json"] = CUSTOM
FIXTURES = {
    "apigw_rest_json": "apigw_rest.jsonl",
    "apigw_http_json": "apigw_http.jsonl",
    "lambda_report": "lambda.log",
    "clf": "clf.log",
    "combined": "nginx_combined.log",
    "kong_json": "kong.jsonl",
    "litellm": "litellm.jsonl",
    "custom_json": "custom.jsonl",
}
SAMPLES = [
    (name, line)
    for name, file in FIXTURES.items()
    for line in (LOGS / file).read_bytes().split(b"\n")
]
contexts = st.builds(
    LineContext,
    timestamp_ms=st.one_of(st.none(), st.integers(min_value=0, max_value=MAX_TS_MS)),
    log_group=st.sampled_from(["", "/aws/lambda/fn", "/aws/lambda/"]),
    log_stream=st.sampled_from(["", "2026/11/21/[$LATEST]ab", "[", "]["]),
)


def assert_storable(record) -> None:
    """What the event tables can hold: no NUL in text, numbers in their columns' ranges,
    finite non-negative durations."""
    assert type(record) in (RequestRecord, InvocationRecord)
    assert type(record.ts_ms) is int
    assert 0 <= record.ts_ms <= MAX_TS_MS
    for field in fields(record):
        value = getattr(record, field.name)
        if isinstance(value, str):
            assert "\x00" not in value, field.name
        elif isinstance(value, float):
            assert math.isfinite(value), field.name
            assert value >= 0, field.name
        elif isinstance(value, int):
            assert type(value) is int, field.name
            high = MAX_INT if field.name in ("tokens_in", "tokens_out", "memory_mb") else MAX_BIGINT
            high = 999 if field.name == "status" else high
            assert 0 <= value <= high, field.name
        else:
            assert value is None, field.name
    if isinstance(record, RequestRecord) and record.status:
        assert 100 <= record.status <= 999


def outcome(parser, line: bytes, context: LineContext):
    try:
        record = parser(line, context)
    except ParseError as exc:
        return exc
    assert_storable(record)
    return record


@given(name=st.sampled_from(sorted(ALL)), line=st.binary(max_size=400), context=contexts)
@example(name="clf", line=b"\x00", context=LineContext())
@example(name="lambda_report", line=b"REPORT \x80\xff: \t: ", context=LineContext())
def test_any_bytes_give_a_record_or_a_parse_error(name, line, context):
    outcome(ALL[name], line, context)


@st.composite
def mutated_samples(draw):
    """A real line of a format with a few bytes replaced, inserted or removed."""
    name, line = draw(st.sampled_from(SAMPLES))
    data = bytearray(line)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        at = draw(st.integers(min_value=0, max_value=len(data)))
        chunk = draw(
            st.one_of(
                st.binary(max_size=3),
                st.sampled_from([b'"', b"-", b"\\u0000", b"1e400", b"99999999999999999999", b" "]),
            )
        )
        cut = draw(st.integers(min_value=0, max_value=3))
        data[at : at + cut] = chunk
    return name, bytes(data)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(sample=mutated_samples(), context=contexts)
def test_mutated_real_lines_give_a_record_or_a_parse_error(sample, context):
    name, line = sample
    outcome(ALL[name], line, context)


json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**63), max_value=2**64 - 1),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=12),
        st.sampled_from(["-", "", "200", "1795256102000", "21/Nov/2026:10:15:02 +0000"]),
        st.sampled_from(["2026-11-21T10:15:02Z", "GET /x", "success", "failure", "\x00"]),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=6,
)


def keys_of(table) -> list[str]:
    return sorted({key if isinstance(key, str) else key[0] for _, c in table for key, _ in c})


KNOWN_KEYS = {
    "apigw_rest_json": keys_of(REST_FIELDS),
    "apigw_http_json": keys_of(HTTP_FIELDS),
    "kong_json": ["request", "response", "latencies", "started_at", "client_ip", "service",
                  "route", "consumer", "authenticated_entity"],
    "litellm": ["id", "status", "startTime", "endTime", "response_time", "model", "model_group",
                "prompt_tokens", "completion_tokens", "response_cost", "metadata",
                "error_information", "requester_ip_address", "call_type"],
    "lambda_report": ["type", "time", "record"],
    "custom_json": ["time", "req", "res", "responseTime", "usage", "cost"],
}  # fmt: skip
NESTED_KEYS = ["id", "method", "uri", "headers", "status", "size", "request", "proxy", "name",
               "paths", "metrics", "requestId", "durationMs", "user_api_key_hash",
               "error_code", "x-kong-request-id", "sourceIp", "apiKeyId", "latency",
               "statusCode", "url"]  # fmt: skip


@st.composite
def json_lines(draw):
    """JSON objects made of the keys a parser looks for, holding anything JSON can."""
    name = draw(st.sampled_from(sorted(KNOWN_KEYS)))
    nested = st.dictionaries(st.sampled_from(NESTED_KEYS), json_values, max_size=5)
    value = st.one_of(json_values, nested)
    data = draw(st.dictionaries(st.sampled_from(KNOWN_KEYS[name]), value, max_size=12))
    if name == "lambda_report" and draw(st.booleans()):
        data["type"] = "platform.report"
    return name, orjson.dumps(data)


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(sample=json_lines(), context=contexts)
def test_json_objects_of_known_keys_give_a_record_or_a_parse_error(sample, context):
    name, line = sample
    outcome(ALL[name], line, context)


MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
moments = st.datetimes(
    min_value=dt.datetime(1970, 1, 2), max_value=dt.datetime(9999, 12, 30), timezones=st.none()
)
offsets = st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59)


def zone(minutes: int, colon: bool) -> str:
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}{':' if colon else ''}{rest:02d}"


def expected_ms(moment: dt.datetime, minutes: int) -> int:
    aware = moment.replace(tzinfo=dt.timezone(dt.timedelta(minutes=minutes)))
    delta = aware - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return delta // dt.timedelta(milliseconds=1)


@given(moment=moments, minutes=offsets)
def test_clf_times_agree_with_datetime(moment, minutes):
    text = (
        f"{moment.day:02d}/{MONTHS[moment.month - 1]}/{moment.year:04d}:"
        f"{moment:%H:%M:%S} {zone(minutes, colon=False)}"
    )
    expected = expected_ms(moment.replace(microsecond=0), minutes)
    if 0 <= expected <= MAX_TS_MS:
        assert clf_time_ms(text) == expected
        assert clf_time_ms(text) == expected  # and again, from the caches
        assert auto_time_ms(text) == expected


@given(
    moment=moments,
    minutes=offsets,
    digits=st.integers(min_value=0, max_value=9),
    separator=st.sampled_from("Tt "),
    style=st.sampled_from(["Z", "colon", "plain", "none"]),
)
def test_iso_times_agree_with_datetime(moment, minutes, digits, separator, style):
    fraction = f"{moment.microsecond:06d}{'0' * 3}"[:digits]
    text = moment.strftime(f"%Y-%m-%d{separator}%H:%M:%S") + (f".{fraction}" if digits else "")
    if style == "Z" or style == "none":
        minutes = 0
    text += {"Z": "Z", "none": "", "colon": zone(minutes, True), "plain": zone(minutes, False)}[
        style
    ]
    kept_us = int(fraction[:3].ljust(3, "0")) * 1000 if digits else 0
    expected = expected_ms(moment.replace(microsecond=kept_us), minutes)
    if 0 <= expected <= MAX_TS_MS:
        assert iso_time_ms(text) == expected
        assert iso_time_ms(text) == expected


@given(ms=st.integers(min_value=100_000_000_000, max_value=99_999_999_999_999))
def test_epoch_units_are_told_apart_by_size(ms):
    # Milliseconds from 1973 to the year 5138; seconds, microseconds and nanoseconds
    # of the same span are told apart by their size.
    assert auto_time_ms(ms) == ms
    assert auto_time_ms(str(ms)) == ms
    assert auto_time_ms(ms // 1000) == ms // 1000 * 1000
    assert auto_time_ms(ms * 1000) == ms
    assert auto_time_ms(ms * 1_000_000) == ms
    assert auto_time_ms(ms / 1000) == ms


texts = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    min_size=1,
    max_size=30,
).filter(lambda value: value != "-")


@given(
    request_id=texts,
    ms=st.integers(min_value=0, max_value=MAX_TS_MS),
    method=st.sampled_from(["GET", "POST", "PATCH"]),
    route=texts,
    status=st.integers(min_value=100, max_value=999),
    latency=st.integers(min_value=0, max_value=10**9),
    length=st.integers(min_value=0, max_value=MAX_BIGINT),
    api_id=texts,
    stage=texts,
    key_id=texts,
    ip=st.ip_addresses().map(str),
    quoted=st.booleans(),
)
def test_rest_json_lines_in_aws_key_names_parse_back(
    request_id, ms, method, route, status, latency, length, api_id, stage, key_id, ip, quoted
):
    def as_logged(number: int):
        return str(number) if quoted else number

    line = orjson.dumps(
        {
            "requestId": request_id,
            "requestTimeEpoch": as_logged(ms),
            "httpMethod": method,
            "resourcePath": route,
            "status": as_logged(status),
            "responseLatency": as_logged(latency),
            "responseLength": as_logged(length),
            "apiId": api_id,
            "stage": stage,
            "identity.apiKeyId": key_id,
            "ip": ip,
        }
    )
    record = PARSERS["apigw_rest_json"](line, LineContext())
    assert record == RequestRecord(
        ts_ms=ms,
        event_id=request_id,
        method=method,
        route=route,
        status=status,
        latency_ms=float(latency),
        bytes=length,
        gateway_api_id=api_id,
        stage=stage,
        api_key_id=key_id,
        source_ip=ip,
    )


@given(
    request_id=st.uuids().map(str),
    duration=st.decimals(min_value=0, max_value=900_000, places=2),
    billed=st.integers(min_value=1, max_value=900_000),
    memory=st.integers(min_value=128, max_value=10_240),
    used=st.integers(min_value=1, max_value=10_240),
    init=st.one_of(st.none(), st.decimals(min_value=0, max_value=10_000, places=2)),
    separator=st.sampled_from(["\t", " "]),
)
def test_report_lines_parse_back(request_id, duration, billed, memory, used, init, separator):
    parts = [
        f"REPORT RequestId: {request_id}",
        f"Duration: {duration} ms",
        f"Billed Duration: {billed} ms",
        f"Memory Size: {memory} MB",
        f"Max Memory Used: {used} MB",
    ]
    if init is not None:
        parts.append(f"Init Duration: {init} ms")
    context = LineContext(timestamp_ms=1, log_group="/aws/lambda/f", log_stream="x/[9]y")
    record = PARSERS["lambda_report"](separator.join(parts).encode(), context)
    assert record == InvocationRecord(
        ts_ms=1,
        event_id=request_id,
        function="f",
        version="9",
        duration_ms=float(duration),
        billed_ms=float(billed),
        memory_mb=memory,
        max_memory_mb=used,
        init_ms=None if init is None else float(init),
    )


def test_parse_lines_keeps_records_and_numbers_the_failures():
    lines = (LOGS / "lambda.log").read_bytes().splitlines()
    context = LineContext(timestamp_ms=7, log_group="/aws/lambda/orders")
    records, errors = parse_lines(lines, PARSERS["lambda_report"], context)
    assert [record.event_id[:8] for record in records] == [
        "8c3f5d2a", "1b2c3d4e", "4d5e6f70", "9e8d7c6b", "2a3b4c5d", "6f5e4d3c",
    ]  # fmt: skip
    skipped = [index for index, error in errors if isinstance(error, NotARecord)]
    rejected = [index for index, error in errors if not isinstance(error, NotARecord)]
    assert skipped == [0, 1, 2, 6, 9, 11]
    assert rejected == [12]
    assert {record.function for record in records} == {"orders"}


def test_every_format_of_the_log_source_model_has_a_parser():
    assert set(PARSERS) == {
        "apigw_rest_json",
        "apigw_http_json",
        "lambda_report",
        "clf",
        "combined",
        "kong_json",
        "litellm",
        "custom_json",
    }


def test_record_field_order_is_what_the_positional_constructors_assume():
    # CLF, Kong, LiteLLM and the JSON readers build records positionally, for speed.
    assert [field.name for field in fields(RequestRecord)] == [
        "ts_ms", "event_id", "method", "route", "path", "status", "latency_ms",
        "integration_ms", "bytes", "gateway_api_id", "stage", "api_key_id", "key_hash",
        "source_ip", "model", "tokens_in", "tokens_out", "cost",
    ]  # fmt: skip
    assert [field.name for field in fields(InvocationRecord)] == [
        "ts_ms", "event_id", "function", "version", "duration_ms", "billed_ms", "memory_mb",
        "max_memory_mb", "init_ms",
    ]  # fmt: skip
