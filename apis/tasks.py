"""Celery tasks of the apis app: thin wrappers that re-read rows and call services."""

import logging

from celery import shared_task
from django.utils import timezone

from .models import GatewayConnection, SyncRun
from .services.sync import sync_connection as run_sync

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def sync_connection(connection_id: int, trigger: str = "schedule", run_id: int | None = None):
    connection = (
        GatewayConnection.objects.select_related("organisation", "team")
        .filter(pk=connection_id, organisation__is_active=True)
        .first()
    )
    run = None
    if run_id is not None:
        # A conditional update: of two deliveries of this task, only one takes the run.
        taken = SyncRun.objects.filter(
            pk=run_id, connection_id=connection_id, status=SyncRun.Status.QUEUED
        ).update(status=SyncRun.Status.RUNNING, started_at=timezone.now())
        if not taken:
            return
        run = SyncRun.objects.get(pk=run_id)
    if connection is None or (trigger == SyncRun.Trigger.SCHEDULE and not connection.enabled):
        logger.info("sync of connection %s skipped: gone or disabled", connection_id)
        if run is not None:
            SyncRun.objects.filter(pk=run.pk).update(status=SyncRun.Status.SKIPPED)
        return
    run_sync(connection=connection, trigger=trigger, run=run)
