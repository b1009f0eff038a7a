"""Log sources: create, change and delete them, the push token, uploads, and the
imports the tasks run.

A push source authenticates its sender with a token from the one secret
generator (``plt_<lookup id>_<random><checksum>``), shown once; only its digest
is kept. An uploaded file is checked for size before a byte is read, stored, and
imported by a task a page at a time. Import tasks work for a bounded time
(ANALYTICS_TASK_BUDGET_SECONDS) and say whether more remains, so a large upload
or a CloudWatch backfill goes on in a fresh task instead of meeting Celery's
time limit.
"""

import logging
import re
import time
from collections.abc import Iterator
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from apis.models import Api, GatewayConnection
from tenants import keys as secret_keys
from tenants.actors import Actor
from tenants.errors import ValidationFailed
from tenants.models import Organisation
from tenants.services.audit import audit_record
from tenants.services.organisations import require_org_admin
from tenants.services.unique import save_unique

from ..models import ImportRun, LogSource, LogUpload
from ..parsers import MappingError, custom_json_parser
from .imports import Page, import_source

logger = logging.getLogger(__name__)

PUSH_PREFIX = "plt"
STALE_RUN_ERROR = "The worker stopped before the run finished."
MIN_INTERVAL, MAX_INTERVAL = 1, 24 * 60
AWS_KINDS = (GatewayConnection.Kind.AWS_REST, GatewayConnection.Kind.AWS_HTTP)
# What each kind reads from ``config`` besides a custom_json "mapping".
CONFIG_FIELDS: dict[str, dict[str, bool]] = {
    LogSource.Kind.CLOUDWATCH: {
        "log_group": True,
        "stream_prefix": False,
        "filter_pattern": False,
        "region": False,
    },
    LogSource.Kind.UPLOAD: {},
    LogSource.Kind.PUSH: {},
}
_LOG_GROUP = re.compile(r"[\w\-./#]{1,512}")
# A Lambda function's name as AWS allows it. Files hold no log group to take it from.
_FUNCTION = re.compile(r"[A-Za-z0-9_-]{1,64}")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d")
# Formats told by their first bytes that are not what an upload may be.
_OTHER_FORMATS = {
    b"PK\x03\x04": "a zip archive",
    b"BZh": "bzip2",
    b"\xfd7zXZ": "xz",
    b"\x28\xb5\x2f\xfd": "zstd",
    b"%PDF": "a PDF document",
}
GZIP_MAGIC = b"\x1f\x8b"
# Room for the multipart framing and the name field around an uploaded file itself.
MULTIPART_ALLOWANCE = 1024 * 1024


# --- Sources ------------------------------------------------------------------------


def _format_fields(kind: str, format: str) -> set[str]:
    """Settings of a format rather than a kind: a custom_json mapping; the function
    of an upload source's Lambda REPORT lines."""
    if format == LogSource.Format.CUSTOM_JSON:
        return {"mapping"}
    if format == LogSource.Format.LAMBDA_REPORT and kind == LogSource.Kind.UPLOAD:
        return {"function"}
    return set()


def _clean_config(kind: str, format: str, config: dict) -> dict:
    fields = CONFIG_FIELDS[kind]
    allowed = set(fields) | _format_fields(kind, format)
    unknown = sorted(set(config) - allowed)
    if unknown:
        raise ValidationFailed(
            "Unknown settings.", fields={"config": [f"Not a setting of this source: {unknown}."]}
        )
    cleaned = {
        name: str(value).strip()
        for name, value in config.items()
        if name != "mapping" and value not in (None, "")
    }
    missing = [name for name, required in fields.items() if required and not cleaned.get(name)]
    if missing:
        raise ValidationFailed(
            "Settings missing.", fields={name: ["This setting is required."] for name in missing}
        )
    if "log_group" in cleaned and not _LOG_GROUP.fullmatch(cleaned["log_group"]):
        raise ValidationFailed(
            "Bad log group name.",
            fields={"log_group": ["Letters, digits and . _ - / # only, up to 512."]},
        )
    if "region" in cleaned and not _REGION.fullmatch(cleaned["region"]):
        raise ValidationFailed("Bad region.", fields={"region": ["Like eu-west-1."]})
    if "function" in cleaned and not _FUNCTION.fullmatch(cleaned["function"]):
        message = "A Lambda function name is letters, digits, - and _, up to 64."
        raise ValidationFailed(message, fields={"function": [message]})
    if format == LogSource.Format.CUSTOM_JSON:
        mapping = config.get("mapping")
        if not isinstance(mapping, dict):
            raise ValidationFailed(
                "A mapping is needed.",
                fields={"mapping": ["Map record fields to paths in your JSON lines."]},
            )
        try:
            custom_json_parser(mapping)
        except MappingError as exc:
            raise ValidationFailed(str(exc), fields={"mapping": [str(exc)]}) from exc
        cleaned["mapping"] = mapping
    return cleaned


def _check_links(
    organisation: Organisation, kind: str, connection: GatewayConnection | None, api: Api | None
) -> None:
    if connection is not None:
        if connection.organisation_id != organisation.pk:
            raise ValidationFailed("Unknown connection.", fields={"connection": ["Not here."]})
        if connection.kind not in AWS_KINDS:
            raise ValidationFailed(
                "Not an AWS connection.",
                fields={"connection": ["CloudWatch sources read through an AWS connection."]},
            )
    if api is not None and api.organisation_id != organisation.pk:
        raise ValidationFailed("Unknown API.", fields={"api": ["No such API here."]})


def _check_interval(minutes: int) -> None:
    if not MIN_INTERVAL <= minutes <= MAX_INTERVAL:
        raise ValidationFailed(
            "Interval out of range.",
            fields={"interval_minutes": [f"Between {MIN_INTERVAL} minute and a day."]},
        )


def _public_state(source: LogSource) -> dict:
    return {
        "name": source.name,
        "kind": source.kind,
        "format": source.format,
        "config": {k: v for k, v in source.config.items() if k != "mapping"},
        "connection": source.connection_id,
        "api": source.api_id,
        "interval_minutes": source.interval_minutes,
        "enabled": source.enabled,
    }


def _save(source: LogSource) -> None:
    save_unique(source, field="name", message="A log source with this name exists.")


@transaction.atomic
def source_create(
    *,
    organisation: Organisation,
    name: str,
    kind: str,
    format: str,
    actor: Actor,
    config: dict | None = None,
    connection: GatewayConnection | None = None,
    api: Api | None = None,
    interval_minutes: int = 5,
    enabled: bool = True,
) -> tuple[LogSource, str]:
    """A new source, and for a push source its token (shown once; "" for the others)."""
    require_org_admin(actor=actor, organisation=organisation)
    if kind not in LogSource.Kind.values:
        raise ValidationFailed("Unknown kind.", fields={"kind": [f"'{kind}' is not a kind."]})
    if format not in LogSource.Format.values:
        raise ValidationFailed("Unknown format.", fields={"format": [f"'{format}' is unknown."]})
    name = (name or "").strip()
    if not name:
        raise ValidationFailed("A name is needed.", fields={"name": ["This field is required."]})
    _check_links(organisation, kind, connection, api)
    _check_interval(interval_minutes)
    source = LogSource(
        organisation=organisation,
        name=name[:100],
        kind=kind,
        format=format,
        config=_clean_config(kind, format, config or {}),
        connection=connection if kind == LogSource.Kind.CLOUDWATCH else None,
        api=api,
        interval_minutes=interval_minutes,
        enabled=enabled,
    )
    token = ""
    if kind == LogSource.Kind.PUSH:
        token = _set_push_token(source)
    _save(source)
    audit_record(
        actor=actor,
        organisation=organisation,
        action="log_source.created",
        target=source,
        after=_public_state(source),
    )
    return source, token


@transaction.atomic
def source_update(
    *,
    source: LogSource,
    actor: Actor,
    name: str | None = None,
    format: str | None = None,
    config: dict | None = None,
    connection: GatewayConnection | None = None,
    api: Api | None = None,
    clear_api: bool = False,
    interval_minutes: int | None = None,
    enabled: bool | None = None,
) -> LogSource:
    """Change what is given. The cursor stays: a changed log group reads on from it."""
    require_org_admin(actor=actor, organisation=source.organisation)
    before = _public_state(source)
    if format is not None:
        if format not in LogSource.Format.values:
            raise ValidationFailed("Unknown format.", fields={"format": [f"'{format}'?"]})
        source.format = format
    if config is not None or format is not None:
        source.config = _clean_config(
            source.kind, source.format, source.config if config is None else config
        )
    _check_links(source.organisation, source.kind, connection, api)
    if connection is not None and source.kind == LogSource.Kind.CLOUDWATCH:
        source.connection = connection
    if api is not None:
        source.api = api
    elif clear_api:
        source.api = None
    if interval_minutes is not None:
        _check_interval(interval_minutes)
        source.interval_minutes = interval_minutes
    if name is not None:
        if not name.strip():
            raise ValidationFailed("A name is needed.", fields={"name": ["Required."]})
        source.name = name.strip()[:100]
    if enabled is not None:
        source.enabled = enabled
    _save(source)
    audit_record(
        actor=actor,
        organisation=source.organisation,
        action="log_source.updated",
        target=source,
        before=before,
        after=_public_state(source),
    )
    return source


@transaction.atomic
def source_delete(*, source: LogSource, actor: Actor) -> None:
    """Delete the source, its runs and its uploaded files. Its events stay until the
    raw retention removes them; the rollups they made stay with the rollups."""
    require_org_admin(actor=actor, organisation=source.organisation)
    audit_record(
        actor=actor,
        organisation=source.organisation,
        action="log_source.deleted",
        target=source,
        before=_public_state(source),
    )
    files = [upload.file for upload in source.uploads.all() if upload.file]
    source.delete()
    transaction.on_commit(lambda: _delete_files(files))


def _delete_files(files) -> None:
    for stored in files:
        stored.storage.delete(stored.name)


def _set_push_token(source: LogSource) -> str:
    secret = secret_keys.issue(PUSH_PREFIX)
    source.push_lookup_id = secret.lookup_id
    source.push_digest = secret.digest
    return secret.plaintext


@transaction.atomic
def push_token_rotate(*, source: LogSource, actor: Actor) -> str:
    """A new token for a push source, shown once; the old one stops working now."""
    require_org_admin(actor=actor, organisation=source.organisation)
    if source.kind != LogSource.Kind.PUSH:
        raise ValidationFailed("Only push sources have a token.")
    token = _set_push_token(source)
    source.save(update_fields=["push_lookup_id", "push_digest"])
    audit_record(
        actor=actor,
        organisation=source.organisation,
        action="log_source.push_token_rotated",
        target=source,
        after={"lookup_id": source.push_lookup_id},
    )
    return token


def push_source_for_token(token: str) -> LogSource | None:
    """The enabled push source a presented token belongs to, or None."""
    try:
        presented = secret_keys.parse(PUSH_PREFIX, token)
    except secret_keys.MalformedSecret:
        return None
    source = (
        LogSource.objects.select_related("organisation")
        .filter(
            kind=LogSource.Kind.PUSH,
            push_lookup_id=presented.lookup_id,
            organisation__is_active=True,
        )
        .first()
    )
    if source is None or not secret_keys.matches(source.push_digest, presented):
        return None
    return source


# --- Uploads ------------------------------------------------------------------------


def size_text(size: int) -> str:
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"


def _check_upload_head(stream) -> None:
    head = stream.read(4096)
    stream.seek(0)
    if not head:
        raise ValidationFailed("The file is empty.", fields={"file": ["The file is empty."]})
    if head.startswith(GZIP_MAGIC):
        return
    for magic, what in _OTHER_FORMATS.items():
        if head.startswith(magic):
            message = f"This file is {what}; give plain text lines or gzip."
            raise ValidationFailed(message, fields={"file": [message]})
    if b"\x00" in head:
        message = "This file is neither plain text lines nor gzip."
        raise ValidationFailed(message, fields={"file": [message]})


class UploadTooLarge(ValidationFailed):
    status = 413
    code = "too_large"

    def __init__(self, message: str):
        super().__init__(message, fields={"file": [message]})


def upload_length_check(declared: str | None) -> None:
    """Refuse an upload request by its Content-Length as sent, before its body (and so
    the file) is read: UploadTooLarge when it cannot hold a file within the limit. A
    missing or malformed length passes: Django then reads no body either."""
    length = int(declared) if declared and declared.isdigit() else 0
    limit = settings.ANALYTICS_UPLOAD_MAX_BYTES
    if length > limit + MULTIPART_ALLOWANCE:
        message = f"This upload is {size_text(length)}; the limit is {size_text(limit)}."
        raise UploadTooLarge(message)


def upload_create(*, source: LogSource, file, actor: Actor, name: str = "") -> LogUpload:
    """Store a log file (plain or gzip) for an upload source and queue its import."""
    require_org_admin(actor=actor, organisation=source.organisation)
    if source.kind != LogSource.Kind.UPLOAD:
        message = "Files go to upload sources."
        raise ValidationFailed(message, fields={"source": [message]})
    size = file.size
    limit = settings.ANALYTICS_UPLOAD_MAX_BYTES
    if size is None or size > limit:
        shown = "too large" if size is None else size_text(size)
        raise UploadTooLarge(f"This file is {shown}; the limit is {size_text(limit)}.")
    _check_upload_head(file)
    display = (name or getattr(file, "name", "") or "upload").rsplit("/", 1)[-1][:200]
    upload = LogUpload(
        source=source, organisation=source.organisation, name=display, size_bytes=size
    )
    # Stored before the transaction opens: a large file is not copied inside one.
    upload.file.save(display, file, save=False)
    try:
        with transaction.atomic():
            upload.save()
            audit_record(
                actor=actor,
                organisation=source.organisation,
                action="log_upload.created",
                target=upload,
                after={"source": source.pk, "name": upload.name, "size_bytes": size},
            )
            transaction.on_commit(lambda: queue_upload_import(upload.pk))
    except BaseException:
        upload.file.storage.delete(upload.file.name)
        raise
    return upload


def queue_upload_import(upload_id: int) -> None:
    from ..tasks import import_upload_task

    import_upload_task.delay(upload_id)


def queue_source_import(source_id: int, trigger: str = "schedule") -> None:
    from ..tasks import import_source_task

    import_source_task.delay(source_id, trigger)


@transaction.atomic
def import_trigger(*, source: LogSource, actor: Actor) -> None:
    """Import now: a CloudWatch source reads on; an upload source's unfinished files
    are queued again. Push sources import as they receive."""
    require_org_admin(actor=actor, organisation=source.organisation)
    if source.kind == LogSource.Kind.PUSH:
        raise ValidationFailed("A push source imports what it receives; nothing to start.")
    audit_record(
        actor=actor,
        organisation=source.organisation,
        action="log_source.import_requested",
        target=source,
    )
    if source.kind == LogSource.Kind.CLOUDWATCH:
        transaction.on_commit(lambda: queue_source_import(source.pk, "manual"))
        return
    pending = list(
        source.uploads.filter(
            state__in=[LogUpload.State.PENDING, LogUpload.State.IMPORTING]
        ).values_list("pk", flat=True)
    )
    transaction.on_commit(lambda: [queue_upload_import(pk) for pk in pending])


# --- Imports the tasks run --------------------------------------------------------


class _Budget:
    """Pages until the deadline passes; ``more`` says whether it cut the reading short."""

    def __init__(self, seconds: float | None = None):
        seconds = settings.ANALYTICS_TASK_BUDGET_SECONDS if seconds is None else seconds
        self.deadline = time.monotonic() + seconds
        self.more = False

    def pages(self, pages: Iterator[Page]) -> Iterator[Page]:
        try:
            for page in pages:
                yield page  # imported before the generator resumes
                if time.monotonic() >= self.deadline:
                    self.more = True
                    return
        finally:
            pages.close()


def source_import(*, source: LogSource, trigger: str = "schedule") -> tuple[ImportRun, bool]:
    """One budgeted run of a CloudWatch source; True when it stopped mid-way."""
    from ..readers.cloudwatch import cloudwatch_pages

    if source.kind != LogSource.Kind.CLOUDWATCH:
        raise ValidationFailed("Only CloudWatch sources are pulled.")
    budget = _Budget()
    run = import_source(
        source=source, pages=lambda s: budget.pages(cloudwatch_pages(s)), trigger=trigger
    )
    if not budget.more or run.status != ImportRun.Status.SUCCEEDED:
        return run, False
    # Out of time: more to read only inside an unfinished window (a token is kept);
    # a closed one waits for the next interval.
    cursor = LogSource.objects.values_list("cursor", flat=True).get(pk=source.pk) or {}
    return run, bool(cursor.get("token"))


def upload_import(*, upload: LogUpload) -> tuple[ImportRun | None, bool]:
    """One budgeted run of an uploaded file from its line cursor; True when there is
    more to do (the budget ran out, or another run holds the source)."""
    from ..readers.files import upload_pages

    if upload.state in (LogUpload.State.DONE, LogUpload.State.FAILED):
        return None, False
    budget = _Budget()
    try:
        run = import_source(
            source=upload.source,
            pages=lambda s: budget.pages(upload_pages(upload)),
            trigger="upload",
            upload=upload,
        )
    except OSError:  # the stored file is gone or unreadable
        LogUpload.objects.filter(pk=upload.pk).update(state=LogUpload.State.FAILED)
        raise
    if run.status == ImportRun.Status.SKIPPED:
        return run, True
    if run.status == ImportRun.Status.FAILED:
        LogUpload.objects.filter(pk=upload.pk).update(state=LogUpload.State.FAILED)
        return run, False
    if budget.more:
        return run, True
    LogUpload.objects.filter(pk=upload.pk).update(state=LogUpload.State.DONE)
    return run, False


def imports_due(*, now=None) -> tuple[list[int], list[int]]:
    """(CloudWatch source ids, upload ids) to queue now: sources whose interval has
    passed since their last run, and unfinished uploads nobody has touched for the
    stale time (their worker died). Each is handed out once per wait, so a backlog
    of queued tasks does not grow while workers are busy."""
    now = now or timezone.now()
    stale = now - timedelta(minutes=settings.ANALYTICS_IMPORT_STALE_MINUTES)
    free = Q(running_since__isnull=True) | Q(running_since__lt=stale)
    sources = []
    for pk, interval, last in (
        LogSource.objects.filter(free, kind=LogSource.Kind.CLOUDWATCH, enabled=True)
        .filter(organisation__is_active=True)
        .annotate(last=Max("runs__started_at"))
        .values_list("pk", "interval_minutes", "last")
    ):
        if last is not None and last + timedelta(minutes=interval) > now:
            continue
        if cache.add(f"analytics:due:source:{pk}", 1, timeout=interval * 60):
            sources.append(pk)
    uploads = []
    for pk, created, last in (
        LogUpload.objects.filter(state__in=[LogUpload.State.PENDING, LogUpload.State.IMPORTING])
        .filter(source__in=LogSource.objects.filter(free, enabled=True))
        .filter(organisation__is_active=True)
        .annotate(last=Max("importrun__started_at"))
        .values_list("pk", "created_at", "last")
    ):
        if (last or created) > stale:
            continue
        timeout = settings.ANALYTICS_IMPORT_STALE_MINUTES * 60
        if cache.add(f"analytics:due:upload:{pk}", 1, timeout=timeout):
            uploads.append(pk)
    return sources, uploads


def import_runs_fail_stale(*, now=None) -> int:
    """Mark failed the runs still "running" past the stale time: their worker died
    (a run works for minutes, and its source's claim has lapsed by then). The UPDATE
    matches only runs still running, so one that ended meanwhile keeps its ending."""
    now = now or timezone.now()
    stale = now - timedelta(minutes=settings.ANALYTICS_IMPORT_STALE_MINUTES)
    failed = ImportRun.objects.filter(status=ImportRun.Status.RUNNING, started_at__lt=stale).update(
        status=ImportRun.Status.FAILED, error=STALE_RUN_ERROR, finished_at=now
    )
    if failed:
        logger.warning("%s import runs left running by a stopped worker marked failed", failed)
    return failed
