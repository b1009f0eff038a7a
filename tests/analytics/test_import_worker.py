"""A real Celery worker killed in the middle of a large upload's import, then a new one:
nothing is lost and nothing is counted twice, in the events or in the rollups."""

import gzip
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from urllib.parse import quote

import pytest
from django.conf import settings as django_settings
from django.core.files.base import ContentFile
from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from analytics.models import ImportRun, LogSource, LogUpload, UsageRollup
from analytics.services import sources
from analytics.tasks import import_upload_task
from portal.celery import app as celery_app
from tenants.actors import Actor

from .logs import corpus, hour_of, make_source

LINES = 120_000
PAGE_LINES = 1000
DEADLINE_SECONDS = 180


def _database_url() -> str:
    db = django_settings.DATABASES["default"]
    user = quote(db["USER"] or "", safe="")
    password = quote(db["PASSWORD"] or "", safe="")
    credentials = f"{user}:{password}@" if password else f"{user}@"
    return f"postgres://{credentials}{db['HOST']}:{db['PORT']}/{quote(db['NAME'], safe='')}"


@pytest.fixture
def enqueue_for_real():
    original = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    yield
    celery_app.conf.task_always_eager = original


class Worker:
    def __init__(self, queue: str, media: str, log_path):
        self.queue, self.media, self.log_path = queue, media, log_path
        self.process: subprocess.Popen | None = None

    def start(self) -> "Worker":
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "PORTICO_ENV": "development",
            "DATABASE_URL": _database_url(),
            "CELERY_BROKER_URL": celery_app.conf.broker_url,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "MEDIA_ROOT": self.media,
            "ANALYTICS_PAGE_LINES": str(PAGE_LINES),
            "LOG_LEVEL": "WARNING",
        }
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool=solo",
                 "--without-mingle", "--without-gossip", "--loglevel=WARNING",
                 "-Q", self.queue, "-n", f"{self.queue}-{uuid.uuid4().hex[:4]}@%h"],
                cwd=django_settings.BASE_DIR,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=20)

    def stop(self) -> None:
        if self.alive():
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _wait_for(condition, what: str, worker: Worker):
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        value = condition()
        if value:
            return value
        log = worker.log_path.read_text()[-3000:]
        assert worker.alive(), f"the worker exited:\n{log}"
        assert time.monotonic() < deadline, f"{what}: not within {DEADLINE_SECONDS} s\n{log}"
        assert not LogUpload.objects.filter(state="failed").exists(), log
        time.sleep(0.05)


def _drop_queue(queue: str) -> None:
    """The queue, and the message the killed worker left unacknowledged for it."""
    with celery_app.connection_for_write() as conn:
        channel = conn.default_channel
        channel.queue_delete(queue)
        client = getattr(channel, "client", None)
        if client is None:
            return
        for tag, payload in client.hgetall("unacked").items():
            try:
                _, _, routing_key = json.loads(payload)
            except (ValueError, TypeError):
                continue
            if routing_key == queue:
                client.hdel("unacked", tag)
                client.zrem("unacked_index", tag)


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
    queue = f"test-import-{uuid.uuid4().hex[:12]}"
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
    first = Worker(queue, str(media), log_path).start()
    second = Worker(queue, str(media), log_path)
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
        _drop_queue(queue)

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
