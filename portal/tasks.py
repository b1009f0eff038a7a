"""Operational tasks of the portal itself."""

import logging

from celery import shared_task
from django.utils import timezone

from .models import WorkerHeartbeat
from .observability import current_request_id

logger = logging.getLogger(__name__)


@shared_task(bind=True, ignore_result=True)
def heartbeat(self) -> None:
    """Record that this worker is alive and consuming; scheduled every minute."""
    name = self.request.hostname or "unknown"
    now = timezone.now()
    WorkerHeartbeat.objects.update_or_create(
        name=name, defaults={"last_seen": now, "request_id": current_request_id()[:64]}
    )
    logger.info("heartbeat from %s", name)
