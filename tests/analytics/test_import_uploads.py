"""Uploads: checked before they are read, stored, imported by a task from their line
cursor (pending -> importing -> done or failed), continued when a task runs out of
time, picked up again when their worker is lost."""

import datetime
import gzip
import io

import pytest
from django.core.cache import cache
from django.core.files.base import ContentFile, File
from django.utils import timezone

from analytics.models import ImportRun, LogSource, LogUpload
from analytics.services.sources import imports_due, source_delete, upload_create, upload_import
from tenants.actors import Actor
from tenants.errors import NotAllowed, ValidationFailed
from tenants.models import AuditEvent

from .logs import corpus, events, make_source


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


@pytest.fixture
def source(cast):
    return make_source(cast.org, name="uploads")


def _upload(source, data: bytes, *, name="access.log", actor=None, capture=None):
    actor = actor or Actor.system()
    if capture is None:
        return upload_create(source=source, file=ContentFile(data, name=name), actor=actor)
    with capture(execute=True):
        return upload_create(source=source, file=ContentFile(data, name=name), actor=actor)


@pytest.mark.django_db
def test_an_upload_is_stored_and_its_task_imports_it(
    source, cast, django_capture_on_commit_callbacks
):
    lines = corpus(50, seed=8)
    upload = _upload(
        source,
        gzip.compress(b"\n".join(lines) + b"\n"),
        name="access.log.gz",
        actor=Actor.for_user(cast.admin),
        capture=django_capture_on_commit_callbacks,
    )
    upload.refresh_from_db()
    assert upload.state == LogUpload.State.DONE
    assert upload.lines_done == 50
    assert upload.name == "access.log.gz"
    assert upload.file.name.startswith("log-uploads/")
    run = ImportRun.objects.get(upload=upload)
    assert (run.status, run.trigger, run.imported) == ("succeeded", "upload", 50)
    assert len(events(source.pk)) == 50
    assert AuditEvent.objects.filter(action="log_upload.created", actor_user=cast.admin).exists()


@pytest.mark.django_db
def test_a_new_upload_waits_as_pending_until_its_task_runs(source):
    upload = _upload(source, b"\n".join(corpus(3)))
    assert upload.state == LogUpload.State.PENDING
    assert upload.lines_done == 0


class _Unreadable(File):
    """A file that claims a size and must not be read."""

    def __init__(self, size: int):
        super().__init__(io.BytesIO(), name="huge.log")
        self._claimed = size

    @property
    def size(self):
        return self._claimed

    def read(self, *args):
        raise AssertionError("read before its size was checked")


@pytest.mark.django_db
def test_the_size_is_checked_before_a_byte_is_read(source, settings):
    settings.ANALYTICS_UPLOAD_MAX_BYTES = 2_000_000_000
    with pytest.raises(ValidationFailed) as refused:
        upload_create(source=source, file=_Unreadable(2_500_000_000), actor=Actor.system())
    assert refused.value.message == "This file is 2.5 GB; the limit is 2.0 GB."
    assert not LogUpload.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty."),
        (b"PK\x03\x04zipped", "This file is a zip archive; give plain text lines or gzip."),
        (b"BZh91AY&SY", "This file is bzip2; give plain text lines or gzip."),
        (b"\x00\x01\x02binary\x00", "This file is neither plain text lines nor gzip."),
    ],
)
def test_files_that_are_not_lines_or_gzip_are_refused(source, data, message, tmp_path):
    with pytest.raises(ValidationFailed) as refused:
        _upload(source, data)
    assert refused.value.message == message
    assert not LogUpload.objects.exists()
    assert not list(tmp_path.rglob("*.log"))


@pytest.mark.django_db
def test_only_organisation_admins_upload_and_only_to_upload_sources(source, cast):
    with pytest.raises(NotAllowed):
        _upload(source, b"x\n", actor=Actor.for_user(cast.member))
    with pytest.raises(NotAllowed):
        _upload(source, b"x\n", actor=Actor.for_user(cast.outsider))
    push = make_source(cast.org, name="push", kind="push")
    with pytest.raises(ValidationFailed):
        _upload(push, b"x\n")


@pytest.mark.django_db
def test_a_task_out_of_time_queues_its_continuation(
    source, settings, django_capture_on_commit_callbacks
):
    settings.ANALYTICS_PAGE_LINES = 10
    settings.ANALYTICS_TASK_BUDGET_SECONDS = 0  # one page a task
    upload = _upload(
        source, b"\n".join(corpus(35)) + b"\n", capture=django_capture_on_commit_callbacks
    )
    upload.refresh_from_db()
    assert upload.state == LogUpload.State.DONE
    runs = list(ImportRun.objects.filter(upload=upload).order_by("pk"))
    assert [run.pages for run in runs] == [1, 1, 1, 1, 0]  # the last finds nothing left
    assert sum(run.imported for run in runs) == 35


@pytest.mark.django_db
def test_an_upload_whose_source_is_busy_is_left_for_later(source):
    upload = _upload(source, b"\n".join(corpus(5)))
    LogSource.objects.filter(pk=source.pk).update(running_since=timezone.now())
    run, more = upload_import(upload=upload)
    assert (run.status, more) == ("skipped", True)
    upload.refresh_from_db()
    assert upload.state == LogUpload.State.PENDING
    assert events(source.pk) == []


@pytest.mark.django_db
def test_an_upload_whose_file_is_gone_fails(source):
    upload = _upload(source, b"\n".join(corpus(5)))
    upload.file.storage.delete(upload.file.name)
    with pytest.raises(OSError):
        upload_import(upload=upload)
    upload.refresh_from_db()
    assert upload.state == LogUpload.State.FAILED
    assert ImportRun.objects.get(upload=upload).status == "failed"


@pytest.mark.django_db
def test_deleting_a_source_deletes_its_files_after_the_commit(
    source, tmp_path, django_capture_on_commit_callbacks
):
    _upload(source, b"\n".join(corpus(2)))
    assert list(tmp_path.rglob("*.log"))
    with django_capture_on_commit_callbacks(execute=True):
        source_delete(source=source, actor=Actor.system())
    assert not LogSource.objects.filter(pk=source.pk).exists()
    assert not list(tmp_path.rglob("*.log"))
    assert AuditEvent.objects.filter(action="log_source.deleted").exists()


@pytest.mark.django_db
def test_due_imports_are_cloudwatch_sources_past_their_interval_and_lost_uploads(
    cast, source, settings
):
    settings.ANALYTICS_IMPORT_STALE_MINUTES = 30
    now = timezone.now()

    def cloudwatch(name, **fields):
        made = make_source(
            cast.org, name=name, kind="cloudwatch", config={"log_group": "/g"}, **fields
        )
        return made

    never_run = cloudwatch("never")
    recent = cloudwatch("recent", interval_minutes=10)
    ImportRun.objects.create(source=recent, organisation=cast.org, started_at=now)
    overdue = cloudwatch("overdue", interval_minutes=10)
    ImportRun.objects.create(
        source=overdue, organisation=cast.org, started_at=now - datetime.timedelta(minutes=11)
    )
    running = cloudwatch("running")
    LogSource.objects.filter(pk=running.pk).update(running_since=now)
    cloudwatch("off", enabled=False)

    fresh = _upload(source, b"a\n")
    lost = _upload(source, b"b\n")
    LogUpload.objects.filter(pk=lost.pk).update(
        state=LogUpload.State.IMPORTING, created_at=now - datetime.timedelta(hours=2)
    )
    ImportRun.objects.create(
        source=source,
        organisation=cast.org,
        upload=lost,
        started_at=now - datetime.timedelta(minutes=45),
    )

    sources, uploads = imports_due(now=now)
    assert sorted(sources) == sorted([never_run.pk, overdue.pk])
    assert uploads == [lost.pk]
    assert fresh.pk not in uploads
    # Handed out once: a second sweep a minute later does not queue them again.
    assert imports_due(now=now + datetime.timedelta(minutes=1)) == ([], [])
    cache.clear()
    assert sorted(imports_due(now=now)[0]) == sorted([never_run.pk, overdue.pk])
