"""Lambda REPORT lines: text and JSON log formats, cold starts, versions, skipped lines."""

from pathlib import Path

import pytest

from analytics.parsers import PARSERS, InvocationRecord, LineContext, NotARecord, ParseError
from analytics.parsers.lambda_report import function_of

LOGS = Path(__file__).resolve().parent.parent / "fixtures" / "logs"
EVENT_MS = 1_795_256_102_500
CLOUDWATCH = LineContext(
    timestamp_ms=EVENT_MS,
    log_group="/aws/lambda/orders-api",
    log_stream="2026/11/21/[$LATEST]0a1b2c3d4e5f60718293a4b5c6d7e8f9",
)
parse = PARSERS["lambda_report"]


def lines() -> list[bytes]:
    return (LOGS / "lambda.log").read_bytes().splitlines()


def outcome(line: bytes, context: LineContext = CLOUDWATCH):
    try:
        return parse(line, context)
    except NotARecord:
        return "skipped"
    except ParseError:
        return "rejected"


def test_the_whole_fixture_log():
    results = [outcome(line) for line in lines()]
    assert [r if isinstance(r, str) else r.event_id[:8] for r in results] == [
        "skipped",  # START
        "skipped",  # the function's own output
        "skipped",  # END
        "8c3f5d2a",
        "1b2c3d4e",
        "4d5e6f70",
        "skipped",  # XRAY, a line of its own in a file
        "9e8d7c6b",
        "2a3b4c5d",
        "skipped",  # platform.start
        "6f5e4d3c",
        "skipped",  # a JSON application log line
        "rejected",  # negative duration
    ]


def test_cold_start_report():
    record = parse(lines()[3], CLOUDWATCH)
    assert record == InvocationRecord(
        ts_ms=EVENT_MS,
        event_id="8c3f5d2a-7b1e-4c9a-a6d4-2e0f1b3c5d7e",
        function="orders-api",
        version="$LATEST",
        duration_ms=2.64,
        billed_ms=3.0,
        memory_mb=128,
        max_memory_mb=65,
        init_ms=163.07,
    )


def test_warm_report_with_a_stray_space_before_the_tab():
    record = parse(lines()[4], CLOUDWATCH)
    assert (record.duration_ms, record.billed_ms, record.memory_mb, record.max_memory_mb) == (
        101.5,
        102.0,
        1024,
        312,
    )
    assert record.init_ms is None


def test_report_event_with_xray_part_as_cloudwatch_delivers_it():
    message = (
        b"REPORT RequestId: 4d5e6f70-8192-4a3b-bc4d-5e6f70819203\tDuration: 12.03 ms\t"
        b"Billed Duration: 13 ms\tMemory Size: 512 MB\tMax Memory Used: 98 MB\t"
        b"Init Duration: 250.11 ms\t\nXRAY TraceId: 1-6a1f0c3e-5d7b2a9c8e4f1a0b3c6d9e2f\t"
        b"SegmentId: 3f2e1d0c9b8a7f6e\tSampled: true\t\n"
    )
    record = parse(message, CLOUDWATCH)
    assert (record.event_id[:8], record.init_ms, record.max_memory_mb) == ("4d5e6f70", 250.11, 98)


def test_snapstart_restore_fields_are_ignored():
    record = parse(lines()[7], CLOUDWATCH)
    assert (record.duration_ms, record.billed_ms, record.init_ms) == (4.8, 202.0, None)


def test_space_separated_report():
    record = parse(lines()[8], CLOUDWATCH)
    assert record.event_id == "2a3b4c5d-6e7f-4809-9a1b-2c3d4e5f6071"
    assert (record.duration_ms, record.billed_ms, record.memory_mb, record.max_memory_mb) == (
        7.25,
        8.0,
        128,
        44,
    )


def test_json_platform_report_uses_its_own_time_without_cloudwatchs():
    line = lines()[10]
    with_event_time = parse(line, CLOUDWATCH)
    assert with_event_time.ts_ms == EVENT_MS
    assert (with_event_time.duration_ms, with_event_time.init_ms) == (411.9, 520.4)
    assert (with_event_time.memory_mb, with_event_time.max_memory_mb) == (2048, 180)
    assert parse(line, LineContext()).ts_ms == 1_795_256_107_412


def test_s3_export_lines_carry_the_time_first():
    line = (
        b"2026-11-21T10:15:02.123Z REPORT RequestId: abc\tDuration: 1.00 ms\t"
        b"Billed Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 20 MB\t"
    )
    assert parse(line, LineContext()).ts_ms == 1_795_256_102_123
    with pytest.raises(NotARecord):
        parse(b"2026-11-21T10:15:02.123Z START RequestId: abc Version: 3", LineContext())


def test_text_report_without_any_time_is_rejected():
    with pytest.raises(ParseError, match="event time") as caught:
        parse(lines()[3], LineContext())
    assert not isinstance(caught.value, NotARecord)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b"REPORT ", "RequestId"),
        (b"REPORT RequestId: x", "Duration"),
        (b"REPORT RequestId: x\tDuration: fast ms", "duration"),
        (b"REPORT RequestId: x\tDuration: inf ms", "finite"),
        (b"REPORT RequestId: x\tDuration: 1 ms\tMemory Size: 99999999999 MB", "memory size"),
        (b"REPORT RequestId: x\tDuration: 1 ms\tMax Memory Used: -1 MB", "max memory used"),
        (b"REPORT RequestId: x\x00y\tDuration: 1 ms", "NUL"),
        (b'{"type": "platform.report", "record": {"requestId": "x"}}', "metrics"),
        (b'{"type": "platform.report", "record": {"metrics": {"durationMs": 1}}}', "requestId"),
    ],
)
def test_broken_reports_are_rejected_not_skipped(line, message):
    with pytest.raises(ParseError, match=message) as caught:
        parse(line, CLOUDWATCH)
    assert not isinstance(caught.value, NotARecord)


@pytest.mark.parametrize(
    "line",
    [
        b"",
        b"INIT_START Runtime Version: python:3.13.v20 Runtime Version ARN: arn:aws:lambda:...",
        b"START RequestId: x Version: 7",
        b"END RequestId: x",
        b"{not json",
        b"\xff\xfe binary",
        b'{"type": "platform.initStart", "record": {}}',
        b"report RequestId: lower case is an application's line",
    ],
)
def test_other_lines_are_skipped(line):
    with pytest.raises(NotARecord):
        parse(line, CLOUDWATCH)


@pytest.mark.parametrize(
    ("group", "stream", "expected"),
    [
        ("/aws/lambda/orders-api", "2026/11/21/[$LATEST]0a1b", ("orders-api", "$LATEST")),
        ("/aws/lambda/orders-api", "2026/11/21/[3]0a1b", ("orders-api", "3")),
        ("/aws/lambda/a", "", ("a", "")),
        ("/custom/shared-group", "2026/11/21/orders-api[7]x", ("", "7")),
        ("", "2026/11/21/[", ("", "")),
    ],
)
def test_function_and_version_from_group_and_stream(group, stream, expected):
    assert function_of(LineContext(log_group=group, log_stream=stream)) == expected
