"""Kong 3.x file-log lines (kong.log.serialize())."""

from pathlib import Path

import orjson
import pytest

from analytics.parsers import PARSERS, LineContext, ParseError, RequestRecord

LOGS = Path(__file__).resolve().parent.parent / "fixtures" / "logs"
NO_CONTEXT = LineContext()
parse = PARSERS["kong_json"]


def lines() -> list[bytes]:
    return (LOGS / "kong.jsonl").read_bytes().splitlines()


def test_proxied_request_with_kong_3_5_request_id():
    assert parse(lines()[0], NO_CONTEXT) == RequestRecord(
        ts_ms=1_795_256_102_098,
        event_id="2f7a1c3e5b9d4e8f0a6c2b4d",
        method="GET",
        route="/pets",
        path="/pets/7",  # the key in the query string is not kept
        status=200,
        latency_ms=25.0,
        integration_ms=21.0,
        bytes=412,
        gateway_api_id="pets",
        api_key_id="c0a1b2c3-d4e5-4f60-8172-93a4b5c6d7e8",
        source_ip="203.0.113.77",
    )


def test_kong_answering_itself_has_no_upstream_latency_and_an_id_from_the_header():
    record = parse(lines()[1], NO_CONTEXT)
    assert record.event_id == "9c8b7a6d5e4f3a2b1c0d9e8f"
    assert (record.status, record.latency_ms, record.integration_ms) == (401, 1.0, None)
    assert record.api_key_id == ""
    assert record.source_ip == "2001:db8::99"


def test_route_without_paths_uses_its_name_and_unicode_paths_survive():
    record = parse(lines()[2], NO_CONTEXT)
    assert (record.route, record.path, record.status, record.bytes) == (
        "catch-all",
        "/ünïcode/päth",
        503,
        0,
    )
    assert record.event_id == ""
    assert record.gateway_api_id == ""


def test_a_line_without_response_status_is_refused():
    with pytest.raises(ParseError, match=r"response\.status"):
        parse(lines()[3], NO_CONTEXT)


def line(**changes) -> bytes:
    data = orjson.loads(lines()[0])
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        target = data
        for parent in parents:
            target = target[parent]
        if value is ...:
            del target[last]
        else:
            target[last] = value
    return orjson.dumps(data)


def test_older_kong_sizes_as_text_and_repeated_id_header():
    record = parse(
        line(
            request__id=...,
            request__headers={"x-kong-request-id": ["first", "second"]},
            response__size="434",
        ),
        NO_CONTEXT,
    )
    assert (record.event_id, record.bytes) == ("first", 434)


def test_consumer_id_when_there_is_no_credential():
    record = parse(line(authenticated_entity=...), NO_CONTEXT)
    assert record.api_key_id == "d9e8f7a6-b5c4-4d3e-8f2a-1b0c9d8e7f6a"


def test_started_at_missing_takes_the_event_time():
    record = parse(line(started_at=...), LineContext(timestamp_ms=5_000_000_000_000))
    assert record.ts_ms == 5_000_000_000_000
    with pytest.raises(ParseError, match="started_at"):
        parse(line(started_at=...), NO_CONTEXT)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"latencies__request": -3}, "negative"),
        ({"latencies__proxy": -2}, "negative"),
        ({"response__status": "OK"}, "status"),
        ({"response__size": 2**63}, "response.size"),
        ({"started_at": "yesterday"}, "time"),
        ({"request": "GET /"}, "request is not an object"),
        ({"service__name": {"nested": 1}}, "service"),
        ({"client_ip": "a\u0000b"}, "NUL"),
    ],
)
def test_bad_values_are_refused(changes, message):
    with pytest.raises(ParseError, match=message):
        parse(line(**changes), NO_CONTEXT)
