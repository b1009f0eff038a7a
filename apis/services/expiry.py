"""Telling consumers, once, that a key expires soon."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tenants.services.notifications import notify

from ..models import Credential, Subscription
from .events import emit
from .subscription_notices import consumers


def notify_expiring_keys() -> int:
    now = timezone.now()
    horizon = now + timedelta(days=settings.SUBSCRIPTION_KEY_EXPIRY_NOTICE_DAYS)
    due = Credential.objects.filter(
        revoked_at__isnull=True,
        replaced_at__isnull=True,
        expiry_notified_at__isnull=True,
        expires_at__gt=now,
        expires_at__lte=horizon,
        subscription__state=Subscription.State.APPROVED,
    ).select_related("subscription__application", "subscription__api", "subscription__plan")
    count = 0
    for credential in due:
        with transaction.atomic():
            # The conditional update makes the notice once-only, even with two workers.
            if not Credential.objects.filter(
                pk=credential.pk, expiry_notified_at__isnull=True
            ).update(expiry_notified_at=now):
                continue
            subscription = credential.subscription
            notify(
                users=consumers(subscription),
                organisation=subscription.organisation,
                kind="credential.expiring",
                title=f"{subscription.api.name}: key {credential.display_prefix}… of "
                f"{subscription.application.name} expires on "
                f"{credential.expires_at:%Y-%m-%d}",
                body="Rotate it before then to keep calling the API.",
                url=subscription.get_absolute_url(),
                email=True,
            )
            emit(
                subscription=subscription,
                event="credential.expiring",
                extra={
                    "prefix": credential.display_prefix,
                    "expires_at": credential.expires_at.isoformat(),
                },
            )
            count += 1
    return count
