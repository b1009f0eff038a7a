"""Reading many lines at once (parse_many, and the API Gateway parsers' own ``many``)
gives, line for line, what the single-line parser gives: the record's values, or the
same ParseError."""

import dataclasses
import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.parsers import (
    PARSERS,
    InvocationRecord,
    LineContext,
    NotARecord,
    ParseError,
    RequestRecord,
    parse_many,
)

from .test_parsers_properties import ALL, LOGS, SAMPLES, contexts, json_lines, mutated_samples

APIGW = ("apigw_rest_json", "apigw_http_json")
CLOUDWATCH = LineContext(timestamp_ms=1_795_256_199_000, log_group="/aws/apigateway/pets")


def one_by_one(parser, line: bytes, context: LineContext):
    """What the single-line parser gives, in parse_many's terms."""
    try:
        record = parser(line, context)
    except ParseError as exc:
        return type(exc), str(exc)
    if isinstance(record, RequestRecord):
        return dataclasses.astuple(record)
    return record


def as_compared(item):
    return (type(item), str(item)) if isinstance(item, ParseError) else item


def assert_agree(parser, pairs: list[tuple[bytes, LineContext]]) -> None:
    many = [as_compared(item) for item in parse_many(parser, pairs)]
    assert many == [one_by_one(parser, line, context) for line, context in pairs]


def test_the_gateway_parsers_read_pages_at_once():
    assert all(callable(PARSERS[name].many) for name in APIGW)


def test_a_page_of_every_fixture_reads_as_its_lines_do():
    for name, file in (
        ("apigw_rest_json", "apigw_rest.jsonl"),
        ("apigw_http_json", "apigw_http.jsonl"),
    ):
        lines = (LOGS / file).read_bytes().split(b"\n")
        for context in (LineContext(), CLOUDWATCH):
            assert_agree(PARSERS[name], [(line, context) for line in lines])
    # Every format, through parse_many's line-at-a-time path for the others.
    for name, group in itertools.groupby(SAMPLES, key=lambda sample: sample[0]):
        assert_agree(ALL[name], [(line, CLOUDWATCH) for _, line in group])


def test_values_come_in_the_record_field_order_and_refusals_as_their_errors():
    rest = PARSERS["apigw_rest_json"]
    good = b'{"requestTimeEpoch":1795256102417,"status":"502","responseLatency":"29012"}'
    # S3 export: the time before the JSON; a NUL by escape; no status; not JSON.
    exported = b'2026-11-21T10:15:02.123Z {"status":200}'
    lines = [good, exported, b'{"status":200,"time":1,"path":"/a\\u0000"}', b'{"ip":"x"}', b"{"]
    items = list(parse_many(rest, [(line, LineContext()) for line in lines]))
    assert items[0] == dataclasses.astuple(
        RequestRecord(ts_ms=1_795_256_102_417, event_id="", status=502, latency_ms=29012.0)
    )
    assert items[1][0] == 1_795_256_102_123
    assert [type(item) for item in items[2:]] == [ParseError] * 3
    assert str(items[2]) == "NUL character in path"


def test_parse_many_keeps_invocations_as_records_and_skipped_lines_as_not_a_record():
    report = PARSERS["lambda_report"]
    lines = (LOGS / "lambda.log").read_bytes().split(b"\n")
    context = LineContext(log_group="/aws/lambda/orders", timestamp_ms=1_795_256_199_000)
    items = list(parse_many(report, [(line, context) for line in lines]))
    assert any(type(item) is InvocationRecord for item in items)
    assert any(type(item) is NotARecord for item in items)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(sample=json_lines(), context=contexts)
def test_json_objects_of_known_keys_read_alike_at_once(sample, context):
    name, line = sample
    if name in APIGW:
        assert_agree(PARSERS[name], [(line, context)])


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    pages=st.lists(st.tuples(mutated_samples(), contexts), min_size=1, max_size=8),
    name=st.sampled_from(APIGW),
)
def test_pages_of_mutated_real_lines_read_alike_at_once(pages, name):
    # One page of mixed lines: the readers each line shape needs are made and reused
    # across lines, and a bad line does not change how the next reads.
    assert_agree(PARSERS[name], [(line, context) for (_, line), context in pages])
