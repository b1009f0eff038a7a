"""Webhooks as a receiver sees them: a local server gets each delivery, checks its
signature (with the portal's verify and by recomputing HMAC-SHA256 over "t.body"),
refuses tampered or stale ones; a failing receiver is retried with backoff and then
given up on; private addresses are refused unless allowed."""

import hashlib
import hmac
import json
import time

import pytest

from apis.models import WebhookDelivery
from apis.services import webhooks
from apis.services.subscriptions import subscription_request
from apis.services.webhooks import SIGNATURE_HEADER, DeliveryFailed, delivery_execute, verify
from apis.tasks import deliver_webhook


def ask(world, capture, *, execute=True):
    with capture(execute=execute):
        return subscription_request(
            application=world.application,
            api=world.api,
            plan=world.manual,
            reason="The checkout needs it.",
            actor=world.actor("app_developer"),
        )


def recompute(secret: str, header: str, body: bytes) -> bool:
    """What a receiver written without Portico's code does."""
    parts = dict(item.split("=", 1) for item in header.split(","))
    mac = hmac.new(secret.encode(), parts["t"].encode() + b"." + body, hashlib.sha256)
    return hmac.compare_digest(mac.hexdigest(), parts["v1"])


def test_the_receiver_gets_a_signed_delivery_of_each_event(
    world, hooks, django_capture_on_commit_callbacks
):
    before = int(time.time())
    subscription = ask(world, django_capture_on_commit_callbacks)

    for slug in ("acme", "globex"):
        (delivery,) = hooks.at(f"/{slug}")
        secret = world.hook_secrets[slug]
        header = delivery.header(SIGNATURE_HEADER)
        assert verify(secret, header, delivery.body)
        assert recompute(secret, header, delivery.body)
        timestamp = int(header.split(",")[0].removeprefix("t="))
        assert before <= timestamp <= int(time.time())
        assert delivery.header("Content-Type") == "application/json"
        assert delivery.header("X-Portico-Event") == "subscription.requested"
        row = WebhookDelivery.objects.get(webhook=world.hooks[slug])
        assert delivery.header("X-Portico-Delivery") == str(row.pk)
        body = delivery.json()
        assert body["id"] == row.pk
        assert body["event"] == "subscription.requested"
        assert body["data"]["subscription"]["id"] == subscription.pk
        assert body["data"]["reason"] == "The checkout needs it."
        # The provider sees the consumer's application, team and organisation names only.
        assert body["data"]["subscription"]["application"] == {
            "name": "Storefront",
            "team": "Globex Team",
            "organisation": "Globex",
        }
        assert (row.state, row.attempts, row.response_status) == ("succeeded", 1, 204)
        assert row.delivered_at is not None
    # Each organisation's secret signs only its own deliveries.
    (acme,) = hooks.at("/acme")
    assert not verify(world.hook_secrets["globex"], acme.header(SIGNATURE_HEADER), acme.body)


def test_tampered_stale_or_malformed_deliveries_fail_verification(
    world, hooks, django_capture_on_commit_callbacks
):
    ask(world, django_capture_on_commit_callbacks)
    (delivery,) = hooks.at("/globex")
    secret = world.hook_secrets["globex"]
    header = delivery.header(SIGNATURE_HEADER)
    timestamp = int(header.split(",")[0].removeprefix("t="))

    tampered = delivery.body.replace(b'"Storefront"', b'"Backdoor"')
    assert tampered != delivery.body
    assert not verify(secret, header, tampered)
    assert not recompute(secret, header, tampered)
    assert not verify(secret, header, delivery.body + b" ")
    # Replayed later than the tolerance (five minutes), or dated in the future.
    assert verify(secret, header, delivery.body, now=timestamp + 300)
    assert not verify(secret, header, delivery.body, now=timestamp + 301)
    assert not verify(secret, header, delivery.body, now=timestamp - 301)
    # A re-signed old body with a fresh time needs the secret.
    forged = webhooks.sign("whsec_guess", int(time.time()), delivery.body)
    assert not verify(secret, forged, delivery.body)
    for broken in ("", "t=abc,v1=00", "v1=" + header.split("v1=")[1], "t=1", "garbage"):
        assert not verify(secret, broken, delivery.body), broken


def test_a_failing_receiver_is_retried_then_given_up(
    world, hooks, settings, eager_retries, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_MAX_ATTEMPTS = 4
    hooks.statuses = [500]

    ask(world, django_capture_on_commit_callbacks)

    for slug in ("acme", "globex"):
        got = hooks.at(f"/{slug}")
        assert len(got) == 4
        assert len({d.header("X-Portico-Delivery") for d in got}) == 1
        assert len({d.body for d in got}) == 1  # the same delivery each time
        row = WebhookDelivery.objects.get(webhook=world.hooks[slug])
        assert (row.state, row.attempts, row.response_status) == ("failed", 4, 500)
        assert row.last_error == "The receiver answered HTTP 500."
        assert row.delivered_at is None


def test_a_receiver_that_recovers_gets_the_delivery(
    world, hooks, settings, eager_retries, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_MAX_ATTEMPTS = 5
    subscription = ask(world, django_capture_on_commit_callbacks, execute=False)
    hooks.statuses = [503, 500, 204]
    row = WebhookDelivery.objects.get(webhook=world.hooks["globex"])

    deliver_webhook.delay(row.pk)

    row.refresh_from_db()
    assert (row.state, row.attempts, row.response_status, row.last_error) == (
        "succeeded",
        3,
        204,
        "",
    )
    assert len(hooks.at("/globex")) == 3
    assert subscription.pk == hooks.at("/globex")[-1].json()["data"]["subscription"]["id"]


def test_each_attempt_is_counted_and_the_backoff_grows(
    world, hooks, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    settings.PROVISION_RETRY_BASE_DELAY = 2.0
    ask(world, django_capture_on_commit_callbacks, execute=False)
    row = WebhookDelivery.objects.get(webhook=world.hooks["acme"])
    hooks.statuses = [500]

    for attempt in (1, 2):
        with pytest.raises(DeliveryFailed):
            delivery_execute(row.pk)
        row.refresh_from_db()
        assert (row.state, row.attempts) == ("pending", attempt)
    finished = delivery_execute(row.pk)
    assert (finished.state, finished.attempts) == ("failed", 3)
    assert delivery_execute(row.pk) is None  # a finished delivery is not sent again
    assert len(hooks.at("/acme")) == 3

    # Full jitter under a doubling ceiling, capped at an hour.
    for attempt in range(12):
        delays = [webhooks.retry_delay(attempt) for _ in range(200)]
        ceiling = min(3600.0, 2.0 * 2**attempt)
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling / 2


def test_private_targets_are_refused_unless_allowed(
    world, hooks, settings, django_capture_on_commit_callbacks
):
    ask(world, django_capture_on_commit_callbacks, execute=False)
    row = WebhookDelivery.objects.get(webhook=world.hooks["acme"])
    settings.WEBHOOK_ALLOW_PRIVATE = False
    settings.WEBHOOK_MAX_ATTEMPTS = 2

    with pytest.raises(DeliveryFailed):
        delivery_execute(row.pk)
    row.refresh_from_db()
    assert "private, loopback" in row.last_error
    assert row.response_status is None
    assert hooks.received == []

    settings.WEBHOOK_ALLOW_PRIVATE = True
    assert delivery_execute(row.pk).state == "succeeded"
    assert len(hooks.at("/acme")) == 1


def test_metadata_addresses_are_refused_even_when_private_ones_are_allowed(
    world, hooks, settings, django_capture_on_commit_callbacks
):
    webhook = world.hooks["acme"]
    webhook.url = "http://169.254.169.254/latest/meta-data/"
    webhook.save(update_fields=["url"])
    ask(world, django_capture_on_commit_callbacks, execute=False)
    row = WebhookDelivery.objects.get(webhook=webhook)
    settings.WEBHOOK_MAX_ATTEMPTS = 1

    finished = delivery_execute(row.pk)

    assert finished.state == "failed"
    assert "metadata" in finished.last_error


def test_a_webhook_that_wants_other_events_gets_none(
    world, hooks, django_capture_on_commit_callbacks
):
    webhooks.webhook_update(
        webhook=world.hooks["globex"],
        events=["lifecycle.*"],
        actor=world.actor("consumer_admin"),
    )
    webhooks.webhook_update(
        webhook=world.hooks["acme"], is_active=False, actor=world.actor("provider_admin")
    )
    ask(world, django_capture_on_commit_callbacks)
    assert hooks.received == []
    assert not WebhookDelivery.objects.exists()


def test_the_signing_secret_is_sealed_and_shown_once(world):
    webhook = world.hooks["acme"]
    secret = world.hook_secrets["acme"]
    assert secret.startswith("whsec_")
    assert secret not in webhook.sealed_secret
    assert webhook.secret() == secret
    assert secret not in json.dumps(
        list(world.provider.audit_events.filter(action="webhook.created").values("before", "after"))
    )
