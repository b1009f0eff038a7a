"""Import runs a killed worker left "running" are failed by the per-minute sweep once
they are older than ANALYTICS_IMPORT_STALE_MINUTES; finished and recent runs stay."""

import datetime

import pytest
from django.utils import timezone

from analytics.models import ImportRun
from analytics.services.sources import STALE_RUN_ERROR, import_runs_fail_stale
from analytics.tasks import queue_due_imports

from .logs import make_source

Status = ImportRun.Status


def run(source, *, minutes_ago: float, now, status=Status.RUNNING, **fields) -> ImportRun:
    return ImportRun.objects.create(
        source=source,
        organisation=source.organisation,
        status=status,
        started_at=now - datetime.timedelta(minutes=minutes_ago),
        **fields,
    )


@pytest.fixture
def source(cast):
    return make_source(cast.org, name="uploads")


def test_runs_running_past_the_stale_time_are_failed(source, settings):
    settings.ANALYTICS_IMPORT_STALE_MINUTES = 30
    now = timezone.now()
    lost = run(source, minutes_ago=31, now=now, pages=4, read=4000, imported=3990)
    recent = run(source, minutes_ago=29, now=now)
    finished = run(source, minutes_ago=90, now=now, status=Status.SUCCEEDED, finished_at=now)
    failed = run(source, minutes_ago=90, now=now, status=Status.FAILED, error="Bad mapping.")
    skipped = run(source, minutes_ago=90, now=now, status=Status.SKIPPED)

    assert import_runs_fail_stale(now=now) == 1

    lost.refresh_from_db()
    assert (lost.status, lost.error, lost.finished_at) == (Status.FAILED, STALE_RUN_ERROR, now)
    assert STALE_RUN_ERROR == "The worker stopped before the run finished."
    # What the run did before its worker died is kept.
    assert (lost.pages, lost.read, lost.imported) == (4, 4000, 3990)
    recent.refresh_from_db()
    assert (recent.status, recent.error, recent.finished_at) == (Status.RUNNING, "", None)
    for kept, status, error in (
        (finished, Status.SUCCEEDED, ""),
        (failed, Status.FAILED, "Bad mapping."),
        (skipped, Status.SKIPPED, ""),
    ):
        kept.refresh_from_db()
        assert (kept.status, kept.error) == (status, error)
    # Done once: the next sweep finds nothing more to fail.
    assert import_runs_fail_stale(now=now + datetime.timedelta(minutes=1)) == 0


def test_the_stale_time_comes_from_the_setting(source, settings):
    settings.ANALYTICS_IMPORT_STALE_MINUTES = 5
    now = timezone.now()
    lost = run(source, minutes_ago=6, now=now)
    assert import_runs_fail_stale(now=now) == 1
    lost.refresh_from_db()
    assert lost.status == Status.FAILED


def test_the_per_minute_sweep_fails_them(source, settings):
    settings.ANALYTICS_IMPORT_STALE_MINUTES = 30
    lost = run(source, minutes_ago=45, now=timezone.now())
    queue_due_imports()
    lost.refresh_from_db()
    assert (lost.status, lost.error) == (Status.FAILED, STALE_RUN_ERROR)
    assert lost.finished_at is not None
