"""Celery tasks of the analytics app: thin wrappers that re-read rows and call services.

An import task works for a bounded time and queues its own continuation on the
queue it came from; a source another run holds is tried again a little later.
"""

import logging

from celery import shared_task
from django.utils import timezone

from .models import LogSource, LogUpload

logger = logging.getLogger(__name__)

BUSY_RETRY_SECONDS = 30


def _again(task, args: tuple, countdown: int = 0) -> None:
    queue = (task.request.delivery_info or {}).get("routing_key") or None
    task.apply_async(args, countdown=countdown, queue=queue)


@shared_task(bind=True, ignore_result=True)
def import_source_task(self, source_id: int, trigger: str = "schedule") -> None:
    """Pull a CloudWatch source from its cursor."""
    from .services.sources import source_import

    source = (
        LogSource.objects.select_related("organisation", "connection", "api")
        .filter(pk=source_id, kind=LogSource.Kind.CLOUDWATCH, organisation__is_active=True)
        .first()
    )
    if source is None or (trigger == "schedule" and not source.enabled):
        logger.info("import of source %s skipped: gone or disabled", source_id)
        return
    _, more = source_import(source=source, trigger=trigger)
    if more:
        _again(self, (source_id, trigger))


@shared_task(bind=True, ignore_result=True)
def import_upload_task(self, upload_id: int) -> None:
    """Import an uploaded file from its line cursor."""
    from .models import ImportRun
    from .services.sources import upload_import

    upload = (
        LogUpload.objects.select_related("source__organisation", "source__api")
        .filter(pk=upload_id, organisation__is_active=True)
        .first()
    )
    if upload is None:
        logger.info("import of upload %s skipped: gone", upload_id)
        return
    run, more = upload_import(upload=upload)
    if not more:
        return
    busy = run is not None and run.status == ImportRun.Status.SKIPPED
    if busy and self.request.is_eager:
        return  # run in place, a retry would only spin; the due-imports sweep comes back
    _again(self, (upload_id,), countdown=BUSY_RETRY_SECONDS if busy else 0)


@shared_task(ignore_result=True)
def queue_due_imports() -> None:
    """Beat, every minute: fail the runs a lost worker left running, then queue
    CloudWatch sources whose interval has passed and uploads whose worker was lost."""
    from .services.sources import import_runs_fail_stale, imports_due

    import_runs_fail_stale()
    sources, uploads = imports_due()
    for source_id in sources:
        import_source_task.delay(source_id, "schedule")
    for upload_id in uploads:
        import_upload_task.delay(upload_id)


@shared_task(ignore_result=True)
def ensure_partitions() -> None:
    """Beat, daily: the event tables' monthly partitions, made ahead of need."""
    from .partitions import ensure_ahead

    ensure_ahead(today=timezone.now().date())


@shared_task(ignore_result=True)
def purge_old_analytics() -> None:
    """Beat, nightly: raw events past each organisation's retention, old rollups."""
    from .services.retention import purge

    purge()


@shared_task(ignore_result=True)
def evaluate_alert_rules() -> None:
    """Beat, every minute: measure every enabled alert rule; notify on changes of state."""
    from .services.alerts import alert_rules_evaluate

    counts = alert_rules_evaluate()
    logger.info("alert rules: %s", counts)
