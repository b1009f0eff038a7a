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


@shared_task(bind=True, ignore_result=True, max_retries=None)
def execute_operation(self, operation_id: int) -> None:
    """Carry one outbox operation to its gateway; retries transient faults with backoff."""
    from .gateways import GatewayError
    from .services.provisioning import OperationDeferred, operation_execute, retry_delay

    try:
        operation_execute(operation_id)
    except OperationDeferred:
        raise self.retry(countdown=retry_delay(min(self.request.retries, 6))) from None
    except GatewayError as exc:
        raise self.retry(countdown=retry_delay(self.request.retries), exc=exc) from None


@shared_task(ignore_result=True)
def run_due_operations() -> None:
    """Beat: start outbox operations whose time has come (ends of grace periods, lost runs)."""
    from .services.provisioning import due_operation_ids

    for operation_id in due_operation_ids():
        execute_operation.delay(operation_id)


@shared_task(bind=True, ignore_result=True, max_retries=None)
def deliver_webhook(self, delivery_id: int, attempts: int | None = None) -> None:
    """POST one webhook delivery; retried with backoff until it lands or gives up.

    ``attempts`` (those made before this task was queued) lets a duplicate task drop out.
    """
    from .services.webhooks import DeliveryFailed, delivery_execute

    try:
        delivery_execute(delivery_id, attempts=attempts)
    except DeliveryFailed as failed:
        raise self.retry(
            args=(delivery_id,), kwargs={"attempts": failed.attempts}, countdown=failed.delay
        ) from None


@shared_task(ignore_result=True)
def requeue_stuck_webhook_deliveries() -> None:
    """Beat: queue again the webhook deliveries whose task was lost (a flushed broker)."""
    from .services.webhooks import delivery_requeue_stuck

    for delivery_id, attempts in delivery_requeue_stuck():
        deliver_webhook.delay(delivery_id, attempts=attempts)


@shared_task(ignore_result=True)
def notify_expiring_keys() -> None:
    """Beat, daily: tell consumers about keys that expire soon (once per key)."""
    from .services.expiry import notify_expiring_keys as run

    run()
