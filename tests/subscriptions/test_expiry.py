"""Keys that expire soon: one notice per key (in the portal, by e-mail and by webhook),
sent once the key is within SUBSCRIPTION_KEY_EXPIRY_NOTICE_DAYS of its end, never twice."""

import datetime

import pytest
import time_machine
from django.core import mail

from apis.models import Credential, WebhookDelivery
from apis.services import keys
from apis.services.expiry import notify_expiring_keys
from apis.services.subscriptions import subscription_act, subscription_request
from apis.tasks import notify_expiring_keys as notify_task
from tenants.models import Notification

from .test_concurrency import race

START = datetime.datetime(2026, 1, 5, 12, 0, tzinfo=datetime.UTC)
DAY = datetime.timedelta(days=1)
SECOND = datetime.timedelta(seconds=1)


@pytest.fixture
def lifetimes(settings):
    settings.SUBSCRIPTION_KEY_LIFETIME_DAYS = 30
    settings.SUBSCRIPTION_KEY_EXPIRY_NOTICE_DAYS = 14


def approved(world, application=None, by="app_developer"):
    subscription = subscription_request(
        application=application or world.application,
        api=world.api,
        plan=world.manual,
        actor=world.actor(by),
    )
    return subscription_act(
        subscription=subscription, action="approve", actor=world.actor("api_maintainer")
    )


def notices():
    return list(Notification.objects.filter(kind="credential.expiring").select_related("user"))


def test_one_notice_when_a_key_enters_the_notice_window(
    world, hooks, lifetimes, django_capture_on_commit_callbacks
):
    with time_machine.travel(START, tick=False) as traveller:
        subscription = approved(world)
        credential = subscription.credentials.get()
        assert credential.expires_at == START + 30 * DAY

        traveller.move_to(credential.expires_at - 14 * DAY - SECOND)
        with django_capture_on_commit_callbacks(execute=True):
            assert notify_expiring_keys() == 0
        assert notices() == []

        traveller.move_to(credential.expires_at - 14 * DAY)
        mail.outbox.clear()
        hooks.clear()
        with django_capture_on_commit_callbacks(execute=True):
            notify_task.delay()

        told = notices()
        assert {n.user.email for n in told} == {
            "dev@globex.test",
            "lead@globex.test",
            "outsider@globex.test",
        }
        assert all(credential.prefix in n.title for n in told)
        assert all("2026-02-04" in n.title for n in told)
        assert {n.organisation for n in told} == {world.consumer}
        assert sorted(m.to[0] for m in mail.outbox) == sorted(n.user.email for n in told)
        deliveries = WebhookDelivery.objects.filter(event="credential.expiring")
        assert sorted(d.webhook.organisation.slug for d in deliveries) == ["acme", "globex"]
        (sent,) = hooks.at("/globex")
        data = sent.json()["data"]
        assert data["prefix"] == credential.prefix
        assert data["expires_at"] == credential.expires_at.isoformat()
        credential.refresh_from_db()
        assert credential.expiry_notified_at == credential.expires_at - 14 * DAY

        # Never twice: not the same day, not the next one, not on the last.
        for later in (SECOND, DAY, 13 * DAY):
            traveller.move_to(credential.expires_at - 14 * DAY + later)
            with django_capture_on_commit_callbacks(execute=True):
                assert notify_expiring_keys() == 0
        assert len(notices()) == 3
        assert WebhookDelivery.objects.filter(event="credential.expiring").count() == 2


def test_keys_that_are_replaced_revoked_expired_or_suspended_get_no_notice(
    world, lifetimes, django_capture_on_commit_callbacks
):
    developer = world.actor("app_developer")
    with time_machine.travel(START, tick=False) as traveller:
        rotated = approved(world)
        old = rotated.credentials.get()
        keys.credential_rotate(credential=old, actor=developer)  # the new key lives 30 days
        revoked = approved(world, world.local_application, by="local_developer")
        keys.credential_revoke(
            credential=revoked.credentials.get(), actor=world.actor("local_developer")
        )
        traveller.move_to(START + 2 * DAY)
        other_app = world.application.team.applications.create(
            organisation=world.consumer, name="Kiosk"
        )
        suspended = approved(world, other_app)
        subscription_act(
            subscription=suspended,
            action="suspend",
            reason="Abuse.",
            actor=world.actor("api_maintainer"),
        )

        traveller.move_to(START + 20 * DAY)
        with django_capture_on_commit_callbacks(execute=True):
            # Only the rotated subscription's new key: the old one was replaced, the other
            # subscription's key revoked, the third one's subscription is suspended.
            assert notify_expiring_keys() == 1
        (credential,) = Credential.objects.exclude(expiry_notified_at=None)
        assert credential.subscription == rotated
        assert credential.replaced_at is None

        traveller.move_to(START + 40 * DAY)  # everything has expired by now
        with django_capture_on_commit_callbacks(execute=True):
            assert notify_expiring_keys() == 0


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_send_one_notice(world, lifetimes):
    with time_machine.travel(START, tick=False) as traveller:
        subscription = approved(world)
        credential = subscription.credentials.get()
        traveller.move_to(credential.expires_at - 3 * DAY)

        results = race(notify_expiring_keys, notify_expiring_keys)

    assert sorted(results) == [0, 1]
    assert Notification.objects.filter(kind="credential.expiring").count() == 3
    assert WebhookDelivery.objects.filter(event="credential.expiring").count() == 2
