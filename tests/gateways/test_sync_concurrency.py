"""One sync per connection at a time: two runs started together, and a claim left
behind by a worker that died."""

import queue
import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connections
from django.utils import timezone

from apis.demo_gateways import api_key_put, usage_plan_put
from apis.models import (
    Api,
    ApiVersion,
    GatewayConnection,
    GatewayDeployment,
    GatewayKey,
    Plan,
    SyncRun,
)
from apis.services.sync import sync_connection

from .aws_fixtures import build_estate, connect


def _sync(connection) -> SyncRun:
    return sync_connection(connection=connection, trigger=SyncRun.Trigger.COMMAND)


def _rows() -> tuple[int, ...]:
    return (
        Api.objects.count(),
        ApiVersion.objects.count(),
        GatewayDeployment.objects.count(),
        Plan.objects.count(),
        GatewayKey.objects.count(),
    )


def test_two_syncs_started_together_run_once(aws, proxy, cast, transactional_db):
    estate = build_estate(aws.url, rest=4, http=0)
    apigw, _ = estate.clients
    plan = usage_plan_put(
        apigw,
        name="Gold",
        stages=[(estate.rest_id(i), "prod") for i in range(4)],
        rate=10.0,
        burst=20,
        quota=1000,
        period="DAY",
    )
    api_key_put(apigw, name="one", value="concurrency-test-key-value-1", plan_ids=[plan])
    connection = connect(cast, proxy.url)
    # The run that claims the connection stops at its first request until released, so
    # the other one surely finds the connection claimed.
    proxy.add(r".", "hold", times=1)
    start = threading.Barrier(2)
    finished: queue.Queue = queue.Queue()

    def worker():
        try:
            start.wait(timeout=10)
            finished.put(_sync(GatewayConnection.objects.get(pk=connection.pk)))
        except Exception as exc:  # surfaced by the assertions below
            finished.put(exc)
        finally:
            connections.close_all()  # this thread's own database connection

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        assert proxy.held.wait(timeout=30)
        first = finished.get(timeout=30)
    finally:
        proxy.release.set()
    second = finished.get(timeout=60)
    for thread in threads:
        thread.join(timeout=30)

    assert first.status == SyncRun.Status.SKIPPED
    assert (first.calls, first.new) == (0, 0)
    assert second.status == SyncRun.Status.SUCCEEDED, second.errors
    assert second.new == len(estate.rest)
    assert sorted(SyncRun.objects.values_list("status", flat=True)) == ["skipped", "succeeded"]
    connection.refresh_from_db()
    assert (connection.running_since, connection.last_run_id) == (None, second.pk)
    # Nothing twice: one row per API, version (stages share their API's spec), stage,
    # plan and key.
    stages = sum(len(shape.stages) for shape, _ in estate.rest)
    assert _rows() == (4, 4, stages, 4, 1)
    assert (
        Api.objects.values("external_id").distinct().count()
        == Api.objects.filter(connection=connection).count()
    )


def test_three_syncs_at_once_add_nothing_twice(aws, cast, transactional_db):
    build_estate(aws.url, rest=4, http=0)
    connection = connect(cast, aws.url)
    _sync(connection)
    rows = _rows()

    results: queue.Queue = queue.Queue()

    def worker():
        try:
            results.put(_sync(GatewayConnection.objects.get(pk=connection.pk)))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    runs = [results.get_nowait() for _ in threads]

    # However the three interleave, each either ran (finding nothing new) or was skipped.
    assert {r.status for r in runs} <= {SyncRun.Status.SUCCEEDED, SyncRun.Status.SKIPPED}
    assert SyncRun.Status.SUCCEEDED in {r.status for r in runs}
    assert all(r.new == 0 for r in runs)
    assert _rows() == rows


@pytest.mark.parametrize(
    ("minutes_later", "status"),
    [(-1, SyncRun.Status.SKIPPED), (+1, SyncRun.Status.SUCCEEDED)],
    ids=["fresh-claim", "stale-claim"],
)
def test_a_stale_claim_can_be_taken_again(aws, cast, settings, minutes_later, status):
    build_estate(aws.url, rest=1, http=0)
    connection = connect(cast, aws.url)
    crashed_at = timezone.now()
    # A worker claimed the connection, then died without letting go.
    GatewayConnection.objects.filter(pk=connection.pk).update(running_since=crashed_at)
    later = crashed_at + timedelta(minutes=settings.GATEWAY_SYNC_STALE_MINUTES + minutes_later)

    with time_machine.travel(later, tick=True):
        run = _sync(connection)

    assert run.status == status
    connection.refresh_from_db()
    if status == SyncRun.Status.SKIPPED:
        assert connection.running_since == crashed_at  # still the other worker's
        assert not Api.objects.exists()
    else:
        assert (connection.running_since, connection.last_run) == (None, run)
        assert Api.objects.filter(connection=connection).count() == 1
