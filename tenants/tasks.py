"""Celery tasks of the tenants app."""

import logging

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail

from .models import Notification

logger = logging.getLogger(__name__)


@shared_task(
    ignore_result=True,
    autoretry_for=(OSError,),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=5,
)
def send_notification_emails(notification_ids: list[int]) -> None:
    """Mail each notification to its user, with a link back to the portal."""
    for notification in Notification.objects.select_related("user").filter(
        pk__in=notification_ids, user__is_active=True
    ):
        link = settings.PORTICO_BASE_URL + notification.url if notification.url else ""
        body = "\n\n".join(part for part in (notification.body, link) if part)
        send_mail(
            subject=f"[Portico] {notification.title}",
            message=body or notification.title,
            from_email=None,
            recipient_list=[notification.user.email],
        )
        logger.info("mailed notification %s", notification.pk)
