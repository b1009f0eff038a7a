"""API Gateway access logs in JSON: AWS's documented formats and the spellings teams use."""

from pathlib import Path

import orjson
import pytest

from analytics.parsers import PARSERS, LineContext, ParseError, RequestRecord
from analytics.parsers.apigw import HTTP_FIELDS, REST_FIELDS

LOGS = Path(__file__).resolve().parent.parent / "fixtures" / "logs"
CLOUDWATCH = LineContext(timestamp_ms=1_795_256_199_000, log_group="/aws/apigateway/pets")
rest = PARSERS["apigw_rest_json"]
http = PARSERS["apigw_http_json"]


def lines(name: str) -> list[bytes]:
    return (LOGS / name).read_bytes().splitlines()


def test_rest_lines_in_aws_documented_json_format():
    first, second, *_ = [rest(line, CLOUDWATCH) for line in lines("apigw_rest.jsonl")[:2]]
    assert first == RequestRecord(
        ts_ms=1_795_256_102_000,
        event_id="5b8c2f7e-90d1-4a63-b1a4-0f3e1c2d9a10",
        method="GET",
        route="/pets/{petId}",
        status=200,
        bytes=184,
        source_ip="203.0.113.24",
    )
    # +0100: the same instant as 10:15:02 UTC; "-" for the length is absent; IPv6 kept.
    assert second.ts_ms == 1_795_256_102_000
    assert second.status == 403
    assert second.bytes is None
    assert second.source_ip == "2001:db8:85a3::8a2e:370:7334"


def test_rest_line_with_latencies_epoch_time_and_key():
    record = rest(lines("apigw_rest.jsonl")[2], CLOUDWATCH)
    assert record.ts_ms == 1_795_256_102_417  # requestTimeEpoch beats requestTime's seconds
    assert record.method == "PUT"
    assert record.route == "/orders/{orderId}/items"
    assert record.path == "/prod/orders/42/items"
    assert record.status == 502
    assert record.latency_ms == 29012.0
    assert record.integration_ms == 29001.0
    assert record.bytes == 122
    assert (record.gateway_api_id, record.stage) == ("a1b2c3d4e5", "prod")
    assert record.api_key_id == "k7p3q9r2s1"
    assert record.source_ip == "198.51.100.7"


def test_rest_unicode_path_epoch_as_text_and_dashes_as_absent():
    record = rest(lines("apigw_rest.jsonl")[3], CLOUDWATCH)
    assert record.ts_ms == 1_795_256_103_000
    assert record.route == "/cafés/{nom}"
    assert record.path == "/prod/cafés/crème brûlée"
    assert record.integration_ms is None
    assert record.api_key_id == ""
    assert record.bytes == 0


def test_rest_snake_case_keys():
    record = rest(lines("apigw_rest.jsonl")[4], CLOUDWATCH)
    assert record == RequestRecord(
        ts_ms=1_795_256_104_000,
        event_id="77c0ffee-0000-4000-8000-000000000001",
        method="DELETE",
        route="/pets/{petId}",
        status=204,
        latency_ms=7.0,
        bytes=0,
        gateway_api_id="a1b2c3d4e5",
        stage="test",
        api_key_id="k7p3q9r2s1",
        source_ip="192.0.2.44",
    )


def test_negative_latency_is_refused():
    with pytest.raises(ParseError, match="negative"):
        rest(lines("apigw_rest.jsonl")[5], CLOUDWATCH)


def test_http_lines_in_aws_documented_json_format():
    first, second, third, fourth = [
        http(line, CLOUDWATCH) for line in lines("apigw_http.jsonl")[:4]
    ]
    assert first == RequestRecord(
        ts_ms=1_795_256_102_000,
        event_id="Qx7MhjH5IAMEVbQ=",
        method="GET",
        route="/pets/{id}",
        status=200,
        bytes=412,
        source_ip="203.0.113.50",
    )
    assert (second.route, second.method, second.status) == ("$default", "POST", 404)
    # No httpMethod: the route key gives it.
    assert (third.method, third.route) == ("POST", "/orders")
    assert (third.latency_ms, third.integration_ms, third.bytes) == (88.0, 81.0, 57)
    assert third.ts_ms == 1_795_256_104_250
    # ANY in the route key says nothing: httpMethod does; the query string is dropped.
    assert (fourth.method, fourth.route, fourth.path) == ("PATCH", "/{proxy+}", "/v2/things/9")
    assert fourth.integration_ms is None
    assert fourth.latency_ms == 30004.0


def test_a_line_without_status_is_refused_with_the_keys_looked_for():
    with pytest.raises(ParseError, match=r"no status.*statusCode"):
        http(lines("apigw_http.jsonl")[4], CLOUDWATCH)


def test_time_falls_back_to_cloudwatch_event_time_then_refuses():
    line = b'{"requestId": "r1", "status": "200"}'
    assert rest(line, CLOUDWATCH).ts_ms == CLOUDWATCH.timestamp_ms
    with pytest.raises(ParseError, match="no time"):
        rest(line, LineContext())


def test_s3_export_prefix_gives_the_time():
    line = b'2026-11-21T10:15:02.250Z {"requestId": "r1", "status": 200}'
    assert rest(line, LineContext()).ts_ms == 1_795_256_102_250
    with pytest.raises(ParseError):
        rest(b"garbage " + b"{}", LineContext())


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"status": "20x"}, "status"),
        ({"status": 42}, "status"),
        ({"status": True}, "status"),
        ({"status": 200, "responseLength": "-1"}, "response length"),
        ({"status": 200, "responseLength": 2**63}, "response length"),
        ({"status": 200, "responseLatency": "NaN"}, "finite"),
        ({"status": 200, "responseLatency": "fast"}, "latency"),
        ({"status": 200, "integrationLatency": -1}, "negative"),
        (
            {"status": 200, "requestTimeEpoch": "-", "requestTime": "21/Foo/2026:10:15:02 +0000"},
            "bad time",
        ),
        ({"status": 200, "requestTimeEpoch": -5}, "out of range"),
        ({"status": 200, "requestTimeEpoch": 1e30}, "out of range"),
        ({"status": 200, "stage": {"name": "prod"}}, "stage"),
        ({"status": 200, "httpMethod": ["GET"]}, "method"),
        ({"status": 200, "requestId": "a\u0000b"}, "NUL"),
    ],
)
def test_bad_values_are_refused_with_a_reason(fields, message):
    line = orjson.dumps({"requestTimeEpoch": 1_795_256_102_000, **fields})
    with pytest.raises(ParseError, match=message):
        rest(line, LineContext())


@pytest.mark.parametrize(
    "line",
    [b"", b"   ", b"[1, 2]", b'"text"', b"{", b'{"status": 200', b'\xef\xbb\xbf{"status": 200}'],
)
def test_not_json_objects_are_refused(line):
    with pytest.raises(ParseError):
        rest(line, CLOUDWATCH)


def test_unquoted_empty_variable_is_refused_not_crashed():
    # "status": $context.status with no value writes "status": - (invalid JSON).
    with pytest.raises(ParseError, match="not JSON"):
        rest(b'{"requestId": "r", "status": -}', CLOUDWATCH)


def test_nested_identity_and_dotted_integration_latency():
    line = orjson.dumps(
        {
            "requestId": "r",
            "requestTimeEpoch": 1_795_256_102_000,
            "status": 200,
            "identity": {"sourceIp": "192.0.2.1", "apiKeyId": "key-1"},
            "integration": {"latency": 5},
        }
    )
    record = rest(line, LineContext())
    assert (record.source_ip, record.api_key_id, record.integration_ms) == (
        "192.0.2.1",
        "key-1",
        5.0,
    )


def test_a_dash_falls_through_to_the_next_spelling():
    line = orjson.dumps(
        {
            "requestId": "-",
            "extendedRequestId": "ext-1",
            "status": 200,
            "requestTimeEpoch": "-",
            "requestTime": "21/Nov/2026:10:15:02 +0000",
        }
    )
    record = rest(line, LineContext())
    assert (record.event_id, record.ts_ms) == ("ext-1", 1_795_256_102_000)


def test_epoch_seconds_and_iso_times_are_read_too():
    for value in (1_795_256_102, "1795256102.5", "2026-11-21T10:15:02.500Z"):
        line = orjson.dumps({"status": 200, "timestamp": value})
        assert rest(line, LineContext()).ts_ms // 1000 == 1_795_256_102


def test_huge_numbers_become_floats_and_are_refused_where_they_cannot_fit():
    line = (
        b'{"requestTimeEpoch": 1795256102000, "status": 200,'
        b' "responseLength": 99999999999999999999}'
    )
    with pytest.raises(ParseError, match="response length"):
        rest(line, LineContext())
    big_latency = b'{"requestTimeEpoch": 1795256102000, "status": 200, "responseLatency": 1e300}'
    assert rest(big_latency, LineContext()).latency_ms == 1e300


def test_every_field_map_names_a_record_field_and_lists_status():
    names = set(RequestRecord.__dataclass_fields__)
    for table in (REST_FIELDS, HTTP_FIELDS):
        assert {name for name, _ in table} <= names
        assert dict(table)["status"]


def test_lines_of_many_shapes_are_each_read_by_their_own_keys():
    # More shapes than the reader caches hold: each line still reads its own fields.
    for number in range(600):
        data = {f"extra{number}": number, "status": 200 + number % 300}
        if number % 2:
            data["requestTimeEpoch"] = 1_795_256_102_000 + number
        else:
            data["requestTime"] = "21/Nov/2026:10:15:02 +0000"
        if number % 3:
            data["ip"] = f"192.0.2.{number % 250}"
        record = rest(orjson.dumps(data), LineContext())
        assert record.status == 200 + number % 300
        assert record.ts_ms == 1_795_256_102_000 + (number if number % 2 else 0)
        assert record.source_ip == (f"192.0.2.{number % 250}" if number % 3 else "")
