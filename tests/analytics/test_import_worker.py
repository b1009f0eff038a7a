"""A real Celery worker killed in the middle of a large upload's import, then a new one:
nothing is lost and nothing is counted twice, in the events or in the rollups."""

import gzip
import json
from collections import Counter

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from analytics.models import ImportRun, LogSource, LogUpload, UsageRollup
from analytics.services import sources
from analytics.tasks import import_upload_task
from tenants.actors import Actor
from tests.workers import Worker, drop_queue, new_queue

from .logs import corpus, hour_of, make_source

LINES = 120_000
PAGE_LINES = 1000
DEADLINE_SECONDS = 180


def _wait_for(condition, what: str, worker: Worker):
    def done():
        value = condition()
        assert value or not LogUpload.objects.filter(state="failed").exists(), worker.log()[-3000:]
        return value

    return worker.wait_for(done, what=what, seconds=DEADLINE_SECONDS, interval=0.05)


@pytest.fixture
def emptied_event_tables():
    yield
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE analytics_requestevent, analytics_functioninvocation")


def _stored(source_id: int) -> tuple[int, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(DISTINCT event_id) FROM analytics_requestevent "
            "WHERE source_id = %s",
            [source_id],
        )
        return cursor.fetchone()


@pytest.mark.worker
def test_a_worker_killed_mid_import_loses_and_doubles_nothing(
    cast, transactional_db, enqueue_for_real, emptied_event_tables, monkeypatch, tmp_path, settings
):
    assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    media = tmp_path / "media"
    settings.MEDIA_ROOT = str(media)  # through the fixture: the storage hears of it
    queue = new_queue("test-import")
    monkeypatch.setattr(
        sources,
        "queue_upload_import",
        lambda upload_id: import_upload_task.apply_async((upload_id,), queue=queue),
    )
    lines = corpus(LINES, seed=99, span_ms=6 * 3_600_000)
    source = make_source(cast.org, name="big")
    data = gzip.compress(b"\n".join(lines) + b"\n", compresslevel=1)
    upload = sources.upload_create(
        source=source, file=ContentFile(data, name="big.log.gz"), actor=Actor.system()
    )
    log_path = tmp_path / "worker.log"
    env = {"MEDIA_ROOT": str(media), "ANALYTICS_PAGE_LINES": str(PAGE_LINES)}
    first = Worker(queue, log_path, env=env).start()
    second = Worker(queue, log_path, env=env)
    try:
        _wait_for(
            lambda: ImportRun.objects.filter(upload=upload, pages__gte=5).exists(),
            "the first pages",
            first,
        )
        first.kill()

        upload.refresh_from_db()
        assert upload.state == LogUpload.State.IMPORTING, "the import ended before the kill"
        assert 5 * PAGE_LINES <= upload.lines_done < LINES
        # Every committed page moved the cursor with its events and rollups, no more.
        assert _stored(source.pk) == (upload.lines_done, upload.lines_done)
        assert (
            UsageRollup.objects.filter(organisation=cast.org).aggregate(n=Sum("calls"))["n"]
            == upload.lines_done
        )
        killed_at = upload.lines_done

        # What the stale-claim timeout and the broker's redelivery do, without the wait.
        LogSource.objects.filter(pk=source.pk).update(
            running_since=timezone.now() - timezone.timedelta(hours=2)
        )
        second.start()
        import_upload_task.apply_async((upload.pk,), queue=queue)
        _wait_for(
            lambda: LogUpload.objects.filter(pk=upload.pk, state="done").exists(),
            "the upload done",
            second,
        )
    finally:
        first.stop()
        second.stop()
        drop_queue(queue)

    upload.refresh_from_db()
    assert upload.lines_done == LINES
    assert _stored(source.pk) == (LINES, LINES)
    last = ImportRun.objects.filter(upload=upload, status="succeeded").get()
    assert (last.imported, last.duplicates) == (LINES - killed_at, 0)

    expected = Counter()
    for line in lines:
        record = json.loads(line)
        hour = hour_of(record["requestTimeEpoch"])
        expected[(hour, "calls")] += 1
        expected[(hour, "c4xx")] += 400 <= record["status"] < 500
        expected[(hour, "c5xx")] += record["status"] >= 500
        expected[(hour, "bytes")] += record["responseLength"]
    got = Counter()
    for hour, calls, c4xx, c5xx, size in UsageRollup.objects.filter(
        organisation=cast.org
    ).values_list("hour", "calls", "c4xx", "c5xx", "bytes"):
        for name, value in (("calls", calls), ("c4xx", c4xx), ("c5xx", c5xx), ("bytes", size)):
            got[(hour, name)] += value
    assert +got == +expected
