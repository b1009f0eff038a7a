"""Every way a key is issued, rotated or revoked sends its ``credential.*`` event once, to
the provider's and the consumer's webhooks, in the transaction of the change and naming
the key by its prefix only: the consumer's own moves on keys, and those made by a
subscription's approval, revocation or ending, and by the API's retirement."""

import datetime
import json

import pytest
from django.db import transaction
from django.utils import timezone

from apis.models import Subscription, WebhookDelivery
from apis.services import keys
from apis.services.lifecycle import version_transition
from apis.services.subscriptions import subscription_act, subscription_request

ORGS = ("acme", "globex")


def credential_events(world) -> list[tuple[str, str, str]]:
    """(organisation, event, prefix) of each credential delivery, oldest first."""
    rows = WebhookDelivery.objects.filter(event__startswith="credential.").order_by("pk")
    slugs = {world.provider.pk: "acme", world.consumer.pk: "globex"}
    return [(slugs[r.organisation_id], r.event, r.payload["data"]["prefix"]) for r in rows]


def each_org(event: str, *prefixes: str) -> list[tuple[str, str, str]]:
    """What one event per key looks like: one delivery to each organisation's webhook."""
    return sorted((org, event, prefix) for prefix in prefixes for org in ORGS)


def ask(world, plan=None) -> Subscription:
    return subscription_request(
        application=world.application,
        api=world.api,
        plan=plan or world.manual,
        actor=world.actor("app_developer"),
    )


def act(world, subscription, action, by="api_maintainer", reason="Stated reason."):
    return subscription_act(
        subscription=subscription, action=action, actor=world.actor(by), reason=reason
    )


@pytest.fixture
def approved(world):
    """An approved subscription with its first key; events so far forgotten."""
    subscription = act(world, ask(world), "approve", reason="")
    WebhookDelivery.objects.all().delete()
    return subscription


def test_approval_sends_the_issued_key_s_event_after_commit(
    world, hooks, django_capture_on_commit_callbacks
):
    subscription = ask(world)
    with django_capture_on_commit_callbacks(execute=True):
        subscription = act(world, subscription, "approve", reason="")

    credential = subscription.credentials.get()
    assert sorted(credential_events(world)) == each_org("credential.issued", credential.prefix)
    for org in ORGS:
        [delivery] = [
            d for d in hooks.at(f"/{org}") if d.header("X-Portico-Event").startswith("credential.")
        ]
        body = delivery.json()
        assert body["event"] == "credential.issued"
        assert body["data"]["prefix"] == credential.prefix
        assert body["data"]["subscription"]["id"] == subscription.pk


def test_an_automatic_plan_issues_one_key_and_one_event(world):
    subscription = ask(world, plan=world.automatic)

    credential = subscription.credentials.get()
    assert sorted(credential_events(world)) == each_org("credential.issued", credential.prefix)


def test_the_consumer_s_own_issue_rotate_and_revoke_each_send_one_event(world, approved):
    developer = world.actor("app_developer")
    first = approved.credentials.get()

    second, _ = keys.credential_rotate(credential=first, actor=developer)
    assert sorted(credential_events(world)) == each_org("credential.rotated", second.prefix)
    rotated = WebhookDelivery.objects.filter(event="credential.rotated").first()
    assert rotated.payload["data"]["previous_prefix"] == first.prefix

    WebhookDelivery.objects.all().delete()
    keys.credential_revoke(credential=second, actor=developer)
    assert sorted(credential_events(world)) == each_org("credential.revoked", second.prefix)

    WebhookDelivery.objects.all().delete()
    third, _ = keys.credential_issue(subscription=approved, actor=developer)
    assert sorted(credential_events(world)) == each_org("credential.issued", third.prefix)


@pytest.mark.parametrize(
    ("action", "by"), [("revoke", "api_maintainer"), ("unsubscribe", "app_developer")]
)
def test_ending_a_subscription_sends_one_revoked_event_per_key(world, approved, action, by):
    old = approved.credentials.get()
    new, _ = keys.credential_rotate(credential=old, actor=world.actor("app_developer"))
    WebhookDelivery.objects.all().delete()

    act(world, approved, action, by=by)

    # The rotated key still in its grace ends too, and says so once.
    assert sorted(credential_events(world)) == each_org(
        "credential.revoked", old.prefix, new.prefix
    )
    assert WebhookDelivery.objects.filter(event__startswith="subscription.").count() == 2


def test_suspending_and_resuming_revoke_no_key(world, approved):
    act(world, approved, "suspend")
    act(world, approved, "resume", reason="")

    assert credential_events(world) == []
    assert approved.credentials.get().revoked_at is None


def test_retiring_the_last_version_sends_one_revoked_event_per_key(world, approved):
    maintainer = world.actor("api_maintainer")
    version = world.api.versions.get()
    version_transition(
        version=version,
        to_state="deprecated",
        actor=maintainer,
        reason="v2.",
        sunset_at=timezone.localdate() + datetime.timedelta(days=10),
    )
    version.refresh_from_db()
    version_transition(version=version, to_state="retired", actor=maintainer, reason="Sunset.")

    credential = approved.credentials.get()
    assert sorted(credential_events(world)) == each_org("credential.revoked", credential.prefix)


def test_an_event_is_sent_only_if_its_change_is_saved(
    world, hooks, django_capture_on_commit_callbacks
):
    subscription = ask(world)
    WebhookDelivery.objects.all().delete()

    class Abandon(Exception):
        pass

    @transaction.atomic
    def approve_then_fail():
        act(world, subscription, "approve", reason="")
        raise Abandon

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(Abandon):
        approve_then_fail()

    subscription.refresh_from_db()
    assert subscription.state == "pending"
    assert not subscription.credentials.exists()
    assert not WebhookDelivery.objects.exists()
    assert hooks.received == []


def test_no_event_carries_a_key_s_value(world, approved):
    developer = world.actor("app_developer")
    first = approved.credentials.get()
    values = [keys.credential_reveal(credential=first, actor=developer)]
    second, value = keys.credential_rotate(credential=first, actor=developer)
    values.append(value)
    act(world, approved, "revoke")

    payloads = json.dumps(list(WebhookDelivery.objects.values_list("payload", flat=True)))
    assert {"credential.rotated", "credential.revoked"} <= set(
        WebhookDelivery.objects.values_list("event", flat=True)
    )
    assert second.prefix in payloads
    for value in values:
        assert value not in payloads
        assert value[len(second.prefix) :] not in payloads
