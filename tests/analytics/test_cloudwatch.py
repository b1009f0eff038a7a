"""Pulling CloudWatch Logs against the moto server (and a fault proxy in front of it):
paging, the overlap re-read, expired tokens, throttling, the shared rate limit."""

import contextlib
import json
import threading
import time
import uuid
from collections import Counter

import boto3
import pytest
from botocore.config import Config

from analytics.limiter import RateLimiter, cloudwatch_scope
from analytics.models import ImportRun, LogSource
from analytics.readers import cloudwatch
from analytics.readers.cloudwatch import _window, cloudwatch_pages
from analytics.services.imports import import_source
from analytics.services.sources import source_import
from apis.services.connections import connection_create
from tenants.actors import Actor
from tests.gateways.faults import FaultProxy

from .logs import events, invocations, make_source, now_ms, report_line, rest_line

GROUP = "/aws/apigateway/access-logs"


@pytest.fixture(autouse=True)
def _cloudwatch_settings(settings):
    settings.CLOUDWATCH_PAGE_LIMIT = 25
    settings.CLOUDWATCH_CALLS_PER_SECOND = 100  # the limiter's own tests set it low
    settings.GATEWAY_MAX_ATTEMPTS = 1


@pytest.fixture
def logs(aws):
    return boto3.session.Session().client(
        "logs",
        endpoint_url=aws.url,
        region_name="eu-west-1",
        config=Config(retries={"max_attempts": 1}),
    )


@pytest.fixture
def proxy(aws):
    proxy = FaultProxy(aws.url).start()
    yield proxy
    proxy.stop()


def _connection(cast, url: str, name: str = "aws"):
    return connection_create(
        organisation=cast.org,
        team=cast.team,
        name=name,
        kind="aws_rest",
        config={"region": "eu-west-1", "endpoint_url": url},
        actor=Actor.system(),
    )


def _source(cast, url: str, *, group: str = GROUP, format: str = "apigw_rest_json", **config):
    return make_source(
        cast.org,
        name=f"cw-{group}",
        kind="cloudwatch",
        format=format,
        config={"log_group": group, **config},
        connection=_connection(cast, url, name=f"aws-{uuid.uuid4().hex[:6]}"),
    )


def _put(logs, group: str, stream: str, lines: list[tuple[int, bytes]]) -> None:
    with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_group(logGroupName=group)
    with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
    events = [{"timestamp": ts, "message": line.decode()} for ts, line in sorted(lines)]
    logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)


def _access_lines(count: int, *, start_ms: int, step_ms: int = 1000, prefix: str = "r"):
    return [
        (start_ms + i * step_ms, rest_line(f"{prefix}-{i:05d}", start_ms + i * step_ms))
        for i in range(count)
    ]


@pytest.mark.django_db
def test_an_access_log_is_read_in_pages_and_the_cursor_closes_the_window(cast, aws, logs):
    start = now_ms() - 30 * 60_000
    lines = _access_lines(120, start_ms=start)
    _put(logs, GROUP, "stream-a", lines[::2])
    _put(logs, GROUP, "stream-b", lines[1::2])
    source = _source(cast, aws.url)

    run, more = source_import(source=source)

    assert (run.status, more) == ("succeeded", False)
    assert (run.read, run.imported, run.duplicates, run.rejected) == (120, 120, 0, 0)
    assert run.pages == 5
    assert run.calls == 5
    assert sorted(row[2] for row in events(source.pk)) == [f"r-{i:05d}" for i in range(120)]
    source.refresh_from_db()
    assert source.cursor["token"] is None
    assert source.cursor["newest"] == lines[-1][0]
    assert source.running_since is None


@pytest.mark.django_db
def test_lambda_report_lines_become_invocations_and_the_rest_is_skipped(cast, aws, logs):
    group = "/aws/lambda/orders"
    base = now_ms() - 10 * 60_000
    lines = []
    for i in range(10):
        request = f"0f0e{i:04d}-aaaa-bbbb-cccc-000000000000"
        lines += [
            (base + i * 100, f"START RequestId: {request} Version: $LATEST".encode()),
            (base + i * 100 + 1, b"some output of the function"),
            (base + i * 100 + 2, f"END RequestId: {request}".encode()),
            (base + i * 100 + 3, report_line(request, duration=2.5 + i, cold=i == 0)),
        ]
    _put(logs, group, "2026/11/26/[$LATEST]abc", lines)
    source = _source(cast, aws.url, group=group, format="lambda_report")

    run, _ = source_import(source=source)

    assert (run.read, run.imported, run.skipped, run.rejected) == (40, 10, 30, 0)
    stored = invocations(source.pk)
    assert len(stored) == 10
    assert {row[4] for row in stored} == {"orders"}  # the function, from the log group


@pytest.mark.django_db
def test_the_next_run_rereads_the_overlap_and_stores_late_events_once(cast, aws, logs, settings):
    settings.CLOUDWATCH_OVERLAP_SECONDS = 120
    start = now_ms() - 20 * 60_000
    first = _access_lines(40, start_ms=start)
    _put(logs, GROUP, "s", first)
    source = _source(cast, aws.url)
    assert source_import(source=source)[0].imported == 40

    newest = first[-1][0]
    # Late: stamped before the newest event already read, but within the overlap.
    late = [(newest - 30_000 + i, rest_line(f"late-{i}", newest - 30_000 + i)) for i in range(5)]
    fresh = _access_lines(10, start_ms=newest + 1000, prefix="fresh")
    _put(logs, GROUP, "s2", late + fresh)
    run, _ = source_import(source=source)

    assert run.imported == 15
    assert run.duplicates == sum(1 for ts, _ in first if ts >= newest - 120_000)
    assert len(events(source.pk)) == 55


@pytest.mark.django_db
def test_an_expired_token_restarts_the_window_and_stores_nothing_twice(cast, aws, logs, proxy):
    start = now_ms() - 15 * 60_000
    _put(logs, GROUP, "s", _access_lines(100, start_ms=start))
    source = _source(cast, proxy.url)
    expired = json.dumps(
        {"__type": "InvalidParameterException", "message": "The given nextToken has expired."}
    ).encode()

    def pages(source):
        reading = cloudwatch_pages(source)
        yield next(reading)
        # The token handed back with the first page expires before it is used.
        proxy.add(
            "POST /",
            "body",
            body=expired,
            status=400,
            headers={"x-amzn-ErrorType": "InvalidParameterException"},
        )
        yield from reading

    run = import_source(source=source, pages=pages)

    assert run.status == "succeeded", run.error
    assert (run.imported, run.duplicates) == (100, 25)  # the first page, read again
    assert len(events(source.pk)) == 100
    assert proxy.count("POST /") == run.calls == 6  # 1, the refused one, 4 from the start


@pytest.mark.django_db
def test_a_run_resumes_inside_its_window_from_the_stored_token(cast, aws, logs):
    start = now_ms() - 15 * 60_000
    _put(logs, GROUP, "s", _access_lines(60, start_ms=start))
    source = _source(cast, aws.url)

    def two_pages(source):
        reading = cloudwatch_pages(source)
        yield next(reading)
        yield next(reading)  # then the worker is gone

    first = import_source(source=source, pages=two_pages)
    source.refresh_from_db()
    assert first.imported == 50
    assert source.cursor["token"]

    second, _ = source_import(source=source)
    assert (second.imported, second.duplicates, second.calls) == (10, 0, 1)
    assert len(events(source.pk)) == 60


@pytest.mark.django_db
def test_stream_prefix_and_filter_pattern_are_sent(cast, aws, logs, proxy):
    _put(logs, GROUP, "prod-1", _access_lines(3, start_ms=now_ms() - 60_000))
    source = _source(cast, proxy.url, stream_prefix="prod-", filter_pattern="{ $.status = 429 }")
    run, _ = source_import(source=source)
    assert run.status == "succeeded"
    sent = json.loads(proxy.sent[-1][2])
    assert sent["logStreamNamePrefix"] == "prod-"
    assert sent["filterPattern"] == "{ $.status = 429 }"  # moto ignores JSON patterns
    assert sent["logGroupName"] == GROUP


@pytest.mark.django_db
def test_throttling_is_retried_and_every_attempt_is_counted(cast, aws, logs, proxy, settings):
    settings.GATEWAY_MAX_ATTEMPTS = 3
    _put(logs, GROUP, "s", _access_lines(30, start_ms=now_ms() - 60_000))
    source = _source(cast, proxy.url)
    proxy.add("POST /", "throttle")
    run, _ = source_import(source=source)
    assert run.status == "succeeded"
    assert run.imported == 30
    assert run.calls == proxy.count("POST /") == 3  # the throttled call, then two pages


@pytest.mark.django_db
def test_a_missing_log_group_fails_the_run_and_keeps_the_cursor(cast, aws, logs):
    source = _source(cast, aws.url, group="/no/such/group")
    run, more = source_import(source=source)
    assert (run.status, more) == ("failed", False)
    assert "ResourceNotFoundException" in run.error
    source.refresh_from_db()
    assert source.cursor == {}
    assert source.running_since is None


@pytest.mark.django_db
def test_a_cursor_moved_by_another_run_stops_this_one(cast, aws, logs):
    _put(logs, GROUP, "s", _access_lines(60, start_ms=now_ms() - 60_000))
    source = _source(cast, aws.url)

    def pages(source):
        reading = cloudwatch_pages(source)
        yield next(reading)
        LogSource.objects.filter(pk=source.pk).update(cursor={"moved": True})
        yield from reading

    run = import_source(source=source, pages=pages)
    assert run.status == "failed"
    assert run.pages == 1
    assert len(events(source.pk)) == 25


@pytest.mark.django_db
def test_an_import_task_out_of_time_continues_in_a_new_task(cast, aws, logs, settings):
    from analytics.tasks import import_source_task

    settings.ANALYTICS_TASK_BUDGET_SECONDS = 0
    _put(logs, GROUP, "s", _access_lines(70, start_ms=now_ms() - 120_000))
    source = _source(cast, aws.url)
    import_source_task.delay(source.pk)  # eager: each continuation runs in place
    runs = ImportRun.objects.filter(source=source)
    assert runs.count() == 3
    assert {run.pages for run in runs} == {1}
    assert sum(run.imported for run in runs) == 70


def test_new_windows_start_an_overlap_before_the_newest_event(settings):
    settings.CLOUDWATCH_OVERLAP_SECONDS = 300
    settings.CLOUDWATCH_FIRST_WINDOW_MINUTES = 60
    now = 10_000_000_000
    assert _window({}, now) == {"start": now - 3_600_000, "end": now, "token": None, "newest": None}
    busy = {"start": 1, "end": now - 60_000, "token": None, "newest": now - 61_000}
    assert _window(busy, now)["start"] == now - 61_000 - 300_000
    # A quiet group is re-read a day back from the last window's end, not further.
    quiet = {"start": 1, "end": now - 60_000, "token": None, "newest": now - 3 * 86_400_000}
    assert _window(quiet, now)["start"] == now - 60_000 - 86_400_000
    unfinished = {"start": 5, "end": 9, "token": "t", "newest": 7}
    assert _window(unfinished, now) == unfinished


def test_the_limiter_scope_is_the_account_or_endpoint_and_region():
    role = {"region": "eu-west-1", "role_arn": "arn:aws:iam::123456789012:role/logs"}
    assert cloudwatch_scope(role) == "cloudwatch:123456789012:eu-west-1"
    assert cloudwatch_scope({"region": "us-east-1"}) == "cloudwatch:own-credentials:us-east-1"
    assert "http://127.0.0.1:1" in cloudwatch_scope({"endpoint_url": "http://127.0.0.1:1"})


def test_the_limiter_never_lets_more_than_n_calls_into_a_second_across_threads():
    rate, per_thread = 3, 5
    granted: list[float] = []
    lock = threading.Lock()
    scope = f"test-{uuid.uuid4().hex}"

    def caller():
        limiter = RateLimiter(scope, rate)  # one each, sharing only the cache
        for _ in range(per_thread):
            at = limiter.acquire()
            with lock:
                granted.append(at)

    threads = [threading.Thread(target=caller) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    per_second = Counter(int(at) for at in granted)
    assert len(granted) == 2 * per_thread
    assert max(per_second.values()) <= rate, per_second
    assert len(per_second) >= -(-2 * per_thread // rate)  # it made them wait


@pytest.mark.django_db
def test_every_filter_call_passes_the_limiter(cast, aws, logs, proxy, monkeypatch):
    _put(logs, GROUP, "s", _access_lines(60, start_ms=now_ms() - 60_000))
    source = _source(cast, proxy.url)
    waited = []
    real_acquire = RateLimiter.acquire

    def counted(self):
        waited.append(time.time())
        return real_acquire(self)

    monkeypatch.setattr(RateLimiter, "acquire", counted)
    run, _ = source_import(source=source)
    assert run.imported == 60
    assert len(waited) == proxy.count("POST /") == run.calls == 3
    assert cloudwatch.LogsClient(source).limiter.rate == 100
