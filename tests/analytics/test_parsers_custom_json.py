"""Custom JSON: a mapping of record fields to dotted paths, checked when it is built."""

from pathlib import Path

import orjson
import pytest

from analytics.parsers import (
    PARSERS,
    LineContext,
    MappingError,
    ParseError,
    RequestRecord,
    custom_json_parser,
    parser_for,
)
from analytics.parsers.custom_json import CONVERSIONS

LOGS = Path(__file__).resolve().parent.parent / "fixtures" / "logs"
NO_CONTEXT = LineContext()
PINO = {
    "ts_ms": {"path": "time", "as": "epoch_ms"},
    "event_id": "req.id",
    "method": "req.method",
    "path": "req.url",
    "source_ip": "req.remoteAddress",
    "status": "res.statusCode",
    "latency_ms": "responseTime",
}


def lines() -> list[bytes]:
    return (LOGS / "custom.jsonl").read_bytes().splitlines()


def test_pino_http_lines_through_a_mapping():
    parse = custom_json_parser(PINO)
    first, second, third = (parse(line, NO_CONTEXT) for line in lines())
    assert first == RequestRecord(
        ts_ms=1_795_256_102_500,
        event_id="req-1",
        method="GET",
        path="/v1/pets/7?page=2",  # a mapped path is taken as it is
        status=200,
        latency_ms=12.5,
        source_ip="203.0.113.8",
    )
    assert (second.status, second.latency_ms, second.source_ip) == (500, 1203.0, "2001:db8::8")
    # A missing value leaves the field at its default, status included.
    assert (third.status, third.source_ip) == (0, "")


def test_parser_for_reads_the_mapping_from_the_source_config():
    parse = parser_for("custom_json", {"mapping": PINO})
    assert parse(lines()[0], NO_CONTEXT).event_id == "req-1"
    assert parser_for("clf") is PARSERS["clf"]
    with pytest.raises(ValueError, match="Unknown log format"):
        parser_for("syslog")


@pytest.mark.parametrize(
    ("conversion", "value", "expected"),
    [
        ("auto", 1_795_256_102, 1_795_256_102_000),
        ("auto", 1_795_256_102_500, 1_795_256_102_500),
        ("auto", 1_795_256_102_500_000, 1_795_256_102_500),
        ("auto", 1_795_256_102_500_000_000, 1_795_256_102_500),
        ("auto", "2026-11-21T11:15:02.5+01:00", 1_795_256_102_500),
        ("auto", "21/Nov/2026:10:15:02 +0000", 1_795_256_102_000),
        ("epoch_s", 1_795_256_102.25, 1_795_256_102_250),
        ("epoch_s", "1795256102", 1_795_256_102_000),
        ("epoch_ms", 1_795_256_102_250, 1_795_256_102_250),
        ("epoch_us", 1_795_256_102_250_999, 1_795_256_102_251),
        ("epoch_ns", 1_795_256_102_250_000_000, 1_795_256_102_250),
        ("iso8601", "2026-11-21 10:15:02", 1_795_256_102_000),
        ("iso8601", "2026-11-21", 1_795_219_200_000),
        ("clf", "21/Nov/2026:10:15:02 -0000", 1_795_256_102_000),
    ],
)
def test_time_conversions(conversion, value, expected):
    parse = custom_json_parser({"ts_ms": {"path": "t", "as": conversion}})
    assert parse(orjson.dumps({"t": value}), NO_CONTEXT).ts_ms == expected


@pytest.mark.parametrize(
    ("spec", "value", "expected"),
    [
        ({"path": "d", "as": "ms"}, 12.5, 12.5),
        ({"path": "d", "as": "seconds"}, 0.25, 250.0),
        ({"path": "d", "as": "us"}, 1500, 1.5),
        ("d", "7", 7.0),
    ],
)
def test_duration_conversions(spec, value, expected):
    parse = custom_json_parser({"ts_ms": "t", "latency_ms": spec})
    line = orjson.dumps({"t": 1_795_256_102_000, "d": value})
    assert parse(line, NO_CONTEXT).latency_ms == expected


def test_paths_walk_lists_and_find_keys_with_dots():
    parse = custom_json_parser(
        {
            "ts_ms": "t",
            "route": "route.paths.0",
            "source_ip": "identity.sourceIp",
            "tokens_in": "usage.0.prompt",
            "model": "models.5",
        }
    )
    line = orjson.dumps(
        {
            "t": 1_795_256_102_000,
            "route": {"paths": ["/pets", "/pets/{id}"]},
            "identity.sourceIp": "192.0.2.8",
            "usage": [{"prompt": "12"}],
            "models": ["only one"],
        }
    )
    record = parse(line, NO_CONTEXT)
    assert (record.route, record.source_ip, record.tokens_in, record.model) == (
        "/pets",
        "192.0.2.8",
        12,
        "",
    )


def test_a_line_without_its_time_takes_the_event_time_or_is_refused():
    parse = custom_json_parser({"ts_ms": "t", "status": "s"})
    assert parse(b'{"s": 200}', LineContext(timestamp_ms=42_000)).ts_ms == 42_000
    with pytest.raises(ParseError, match="no time at t"):
        parse(b'{"s": 200}', NO_CONTEXT)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b'{"t": "yesterday"}', "time"),
        (b'{"t": 1795256102000, "s": 7000}', "status"),
        (b'{"t": 1795256102000, "d": -1}', "negative"),
        (b'{"t": 1795256102000, "n": 2147483648}', "value"),
        (b'{"t": 1795256102000, "m": {"a": 1}}', "value is not text"),
        (b"[]", "not a JSON object"),
    ],
)
def test_bad_values_are_refused(line, message):
    parse = custom_json_parser(
        {"ts_ms": "t", "status": "s", "latency_ms": "d", "tokens_out": "n", "model": "m"}
    )
    with pytest.raises(ParseError, match=message):
        parse(line, NO_CONTEXT)


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({}, "empty"),
        (None, "empty"),
        (["ts_ms"], "empty"),
        ({"status": "code"}, 'needs "ts_ms"'),
        ({"ts_ms": "t", "user_agent": "ua"}, "Unknown field 'user_agent'.*latency_ms"),
        ({"ts_ms": "t", 3: "x"}, "Unknown field 3"),
        ({"ts_ms": ""}, "non-empty"),
        ({"ts_ms": "a..b"}, "empty step"),
        ({"ts_ms": 5}, "dotted path"),
        ({"ts_ms": {"path": "t", "as": "fortnights"}}, "ts_ms cannot be read as 'fortnights'"),
        ({"ts_ms": {"path": "t", "as": ["epoch_s"]}}, "cannot be read as"),
        ({"ts_ms": {"path": "t", "unit": "s"}}, "unknown option 'unit'"),
        ({"ts_ms": "t", "status": {"path": "s", "as": "iso8601"}}, "use one of int"),
        ({"ts_ms": "t", "cost": {"path": "c", "as": "seconds"}}, "use one of float"),
    ],
)
def test_bad_mappings_are_refused_when_built(mapping, message):
    with pytest.raises(MappingError, match=message):
        custom_json_parser(mapping)


def test_every_record_field_can_be_mapped():
    assert set(CONVERSIONS) == set(RequestRecord.__dataclass_fields__)
    parse = custom_json_parser({name: name for name in CONVERSIONS})
    record = parse(
        orjson.dumps(
            {
                "ts_ms": 1_795_256_102_000,
                "event_id": "e",
                "method": "GET",
                "route": "/r",
                "path": "/p",
                "status": 201,
                "latency_ms": 1.5,
                "integration_ms": 1,
                "bytes": 3,
                "gateway_api_id": "g",
                "stage": "s",
                "api_key_id": "k",
                "key_hash": "h",
                "source_ip": "192.0.2.1",
                "model": "m",
                "tokens_in": 4,
                "tokens_out": 5,
                "cost": 0.5,
            }
        ),
        NO_CONTEXT,
    )
    assert record == RequestRecord(
        1_795_256_102_000, "e", "GET", "/r", "/p", 201, 1.5, 1.0, 3, "g", "s", "k", "h",
        "192.0.2.1", "m", 4, 5, 0.5,
    )  # fmt: skip
