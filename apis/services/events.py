"""Events of subscriptions, keys and lifecycles, fanned out to organisation webhooks.

``emit`` runs inside the transaction of the change it reports: it writes one
WebhookDelivery per interested webhook and asks for delivery after commit, so
an event is sent if and only if its change was saved. Each side sees what the
portal shows it: the provider sees the consumer's application, team and
organisation names and nothing else of the consumer.
"""

from django.db import transaction
from django.utils import timezone

from tenants.models import Organisation

from ..models import Subscription, Webhook, WebhookDelivery


def subscription_payload(subscription: Subscription) -> dict:
    application = subscription.application
    api = subscription.api
    return {
        "id": subscription.pk,
        "state": subscription.state,
        "gateway_state": subscription.gateway_state,
        "api": {"organisation": api.organisation.slug, "slug": api.slug, "name": api.name},
        "plan": subscription.plan.name,
        "application": {
            "name": application.name,
            "team": application.team.name,
            "organisation": application.organisation.name,
        },
    }


def _deliver_after_commit(delivery_ids: list[int]) -> None:
    if not delivery_ids:
        return
    from ..tasks import deliver_webhook

    def send():
        for delivery_id in delivery_ids:
            # None made yet: should the sweep also queue one, only one of the two sends.
            deliver_webhook.delay(delivery_id, attempts=0)

    transaction.on_commit(send)


def emit_to(*, organisations: list[Organisation], event: str, data: dict) -> list[int]:
    """Queue ``event`` for every active webhook of ``organisations`` that wants it."""
    body = {"event": event, "occurred_at": timezone.now().isoformat(), "data": data}
    created = []
    for webhook in Webhook.objects.filter(
        organisation__in={o.pk for o in organisations}, is_active=True
    ):
        if webhook.wants(event):
            delivery = WebhookDelivery.objects.create(
                webhook=webhook, organisation=webhook.organisation, event=event, payload=body
            )
            created.append(delivery.pk)
    _deliver_after_commit(created)
    return created


def emit(*, subscription: Subscription, event: str, extra: dict | None = None) -> list[int]:
    data = {"subscription": subscription_payload(subscription), **(extra or {})}
    organisations = [subscription.provider, subscription.organisation]
    return emit_to(organisations=organisations, event=event, data=data)
