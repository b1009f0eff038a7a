"""Webhook pages for organisation admins: add (the secret shown once), edit, switch off,
delete, and the paginated delivery log."""

from apis.models import Webhook, WebhookDelivery
from apis.services.webhooks import webhook_create
from tenants.actors import Actor
from tenants.sealing import unseal

from .pages import HTMX, url

LIST = url("webhook_list", "acme")


def make_webhook(cast) -> Webhook:
    webhook, _secret = webhook_create(
        organisation=cast.org,
        url="https://hooks.acme.test/in",
        events=["subscription.*"],
        actor=Actor.for_user(cast.owner),
    )
    return webhook


def test_an_admin_adds_a_webhook_and_sees_its_secret_once(cast, client_for):
    client = client_for(cast.admin)
    form = client.get(LIST).content.decode()
    assert 'type="checkbox" name="events" value="subscription.*"' in form
    response = client.post(
        LIST,
        {"url": "https://hooks.acme.test/in", "events": ["subscription.*", "credential.rotated"]},
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    webhook = Webhook.objects.get()
    secret = unseal(webhook.sealed_secret)
    body = response.content.decode()
    assert secret in body
    assert 'data-copy="webhook-secret"' in body
    assert webhook.events == ["credential.rotated", "subscription.*"]
    assert webhook.organisation == cast.org
    assert secret not in client.get(LIST).content.decode()
    assert secret not in client.get(url("webhook", "acme", pk=webhook.pk)).content.decode()


def test_bad_webhooks_answer_400_and_write_nothing(cast, client_for):
    client = client_for(cast.admin)
    for data, message in (
        ({"url": "https://hooks.acme.test/in"}, "This field is required."),
        ({"url": "ftp://hooks.acme.test", "events": ["lifecycle.*"]}, "Give an http(s) URL."),
        ({"url": "https://x.test", "events": ["billing.*"]}, "Select a valid choice."),
    ):
        response = client.post(LIST, data)
        assert response.status_code == 400, data
        assert message in response.content.decode()
    assert not Webhook.objects.exists()


def test_an_admin_edits_and_switches_a_webhook_off(cast, client_for):
    webhook = make_webhook(cast)
    client = client_for(cast.admin)
    edit = url("webhook_edit", "acme", pk=webhook.pk)
    assert "checked" in client.get(edit).content.decode()
    response = client.post(
        edit, {"url": "https://hooks.acme.test/v2", "events": ["lifecycle.*"], "is_active": ""}
    )
    assert response.status_code == 302
    webhook.refresh_from_db()
    assert (webhook.url, webhook.events, webhook.is_active) == (
        "https://hooks.acme.test/v2",
        ["lifecycle.*"],
        False,
    )
    bad = client.post(edit, {"url": "https://hooks.acme.test/v3", "events": []})
    assert bad.status_code == 400
    webhook.refresh_from_db()
    assert webhook.url == "https://hooks.acme.test/v2"


def test_an_admin_deletes_a_webhook(cast, client_for):
    webhook = make_webhook(cast)
    client = client_for(cast.admin)
    delete = url("webhook_delete", "acme", pk=webhook.pk)
    assert "Delete the webhook" in client.get(delete).content.decode()
    response = client.post(delete)
    assert response.status_code == 302
    assert response["Location"] == LIST
    assert not Webhook.objects.exists()


def test_the_delivery_log_is_paginated_and_htmx_gets_the_log_only(cast, client_for):
    webhook = make_webhook(cast)
    for n in range(30):
        WebhookDelivery.objects.create(
            webhook=webhook,
            organisation=cast.org,
            event=f"subscription.e{n:02d}",
            payload={},
            state=WebhookDelivery.State.FAILED if n == 29 else WebhookDelivery.State.SUCCEEDED,
            attempts=8 if n == 29 else 1,
            response_status=500 if n == 29 else 204,
            last_error="The receiver answered HTTP 500." if n == 29 else "",
        )
    client = client_for(cast.admin)
    detail = url("webhook", "acme", pk=webhook.pk)
    first = client.get(detail).content.decode()
    assert "subscription.e29" in first
    assert "The receiver answered HTTP 500." in first
    assert "subscription.e04" not in first
    assert "Page 1 of 2" in first
    second = client.get(detail + "?page=2", **HTMX)
    body = second.content.decode()
    assert "<html" not in body
    assert body.lstrip().startswith('<section class="panel" id="deliveries"')
    assert "subscription.e04" in body
    assert "subscription.e29" not in body


def test_webhooks_are_for_admins(cast, client_for):
    webhook = make_webhook(cast)
    for user in (cast.member, cast.maintainer):
        client = client_for(user)
        assert client.get(LIST).status_code == 403
        assert (
            client.post(LIST, {"url": "https://x.test", "events": ["lifecycle.*"]}).status_code
            == 403
        )
        assert client.get(url("webhook", "acme", pk=webhook.pk)).status_code == 403
    assert client_for(cast.outsider).get(url("webhook", "acme", pk=webhook.pk)).status_code == 404
    assert client_for(cast.outsider).get(url("webhook", "globex", pk=webhook.pk)).status_code == 404
    assert Webhook.objects.count() == 1
