"""Sending a failed webhook delivery again from the delivery log: admins only, failed
deliveries only, the row swapped in place through htmx."""

import pytest

from apis.models import Webhook, WebhookDelivery
from apis.services.webhooks import webhook_create
from tenants.actors import Actor
from tenants.models import AuditEvent

from .pages import HTMX, url


def make_webhook(cast, org=None, address="https://hooks.acme.test/in") -> Webhook:
    webhook, _secret = webhook_create(
        organisation=org or cast.org,
        url=address,
        events=["subscription.*"],
        actor=Actor.for_user(cast.owner if org is None else cast.outsider),
    )
    return webhook


def delivery(webhook, state=WebhookDelivery.State.FAILED, event="subscription.approved"):
    failed = state == WebhookDelivery.State.FAILED
    return WebhookDelivery.objects.create(
        webhook=webhook,
        organisation=webhook.organisation,
        event=event,
        payload={"event": event},
        state=state,
        attempts=8 if failed else 1,
        response_status=500 if failed else 204,
        last_error="The receiver answered HTTP 500." if failed else "",
    )


def redeliver_url(d, org="acme") -> str:
    return url("webhook_redeliver", org, webhook=d.webhook_id, pk=d.pk)


def test_the_log_offers_send_again_on_failed_deliveries_only(cast, client_for):
    webhook = make_webhook(cast)
    failed = delivery(webhook)
    sent = delivery(webhook, WebhookDelivery.State.SUCCEEDED, event="subscription.requested")
    page = client_for(cast.admin).get(url("webhook", "acme", pk=webhook.pk)).content.decode()
    assert redeliver_url(failed) in page
    assert redeliver_url(sent) not in page
    assert page.count(">Send again</button>") == 1


def test_an_admin_sends_a_failed_delivery_again_through_htmx(cast, client_for):
    webhook = make_webhook(cast)
    failed = delivery(webhook)
    response = client_for(cast.admin).post(redeliver_url(failed), **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith(f'<tr id="delivery-{failed.pk}"')
    assert "<html" not in body
    assert '<span class="badge badge--pending">Pending</span>' in body
    assert ">Send again</button>" not in body
    assert 'id="messages" aria-live="polite" hx-swap-oob="true"' in body
    assert "The subscription.approved delivery is queued to be sent again." in body
    failed.refresh_from_db()
    assert (failed.state, failed.attempts) == (WebhookDelivery.State.PENDING, 0)
    event = AuditEvent.objects.get(action="webhook.redelivered")
    assert event.actor_user == cast.admin
    assert event.after == {"delivery": failed.pk, "event": "subscription.approved"}


def test_without_htmx_sending_again_returns_to_the_webhook(cast, client_for):
    webhook = make_webhook(cast)
    failed = delivery(webhook)
    response = client_for(cast.owner).post(redeliver_url(failed))
    assert response.status_code == 302
    assert response["Location"] == url("webhook", "acme", pk=webhook.pk)
    failed.refresh_from_db()
    assert failed.state == WebhookDelivery.State.PENDING


def test_only_failed_deliveries_of_an_active_webhook_are_sent_again(cast, client_for):
    webhook = make_webhook(cast)
    sent = delivery(webhook, WebhookDelivery.State.SUCCEEDED)
    client = client_for(cast.admin)
    response = client.post(redeliver_url(sent), **HTMX)
    assert response.status_code == 200
    assert "Only failed deliveries can be sent again." in response.content.decode()
    sent.refresh_from_db()
    assert (sent.state, sent.attempts) == (WebhookDelivery.State.SUCCEEDED, 1)

    failed = delivery(webhook)
    Webhook.objects.filter(pk=webhook.pk).update(is_active=False)
    response = client.post(redeliver_url(failed), follow=True)
    assert "switch it on before sending again" in response.content.decode()
    assert 'disabled title="Switch the webhook on to send again"' in response.content.decode()
    failed.refresh_from_db()
    assert (failed.state, failed.attempts) == (WebhookDelivery.State.FAILED, 8)
    assert not AuditEvent.objects.filter(action="webhook.redelivered").exists()


@pytest.mark.parametrize("who", ["member", "maintainer", "developer"])
def test_below_admin_nothing_is_sent_again(cast, client_for, who):
    failed = delivery(make_webhook(cast))
    client = client_for(getattr(cast, who))
    assert client.post(redeliver_url(failed), **HTMX).status_code == 403
    assert client.post(redeliver_url(failed)).status_code == 403
    failed.refresh_from_db()
    assert failed.state == WebhookDelivery.State.FAILED


def test_another_organisations_deliveries_are_404(cast, client_for):
    ours = make_webhook(cast)
    theirs = delivery(make_webhook(cast, org=cast.other_org, address="https://globex.test/in"))
    client = client_for(cast.admin)
    # Acme's address, Globex's delivery; and Globex's delivery under Acme's own webhook.
    assert client.post(redeliver_url(theirs)).status_code == 404
    crossed = url("webhook_redeliver", "acme", webhook=ours.pk, pk=theirs.pk)
    assert client.post(crossed).status_code == 404
    assert client_for(cast.outsider).post(redeliver_url(delivery(ours))).status_code == 404
    theirs.refresh_from_db()
    assert theirs.state == WebhookDelivery.State.FAILED
    assert client.get(redeliver_url(delivery(ours))).status_code == 405
