"""What subscribers hear when a version they rely on moves: deprecating (with its sunset
date), retiring or blocking it tells each live subscription's consumer team in the portal
and by e-mail, and sends a ``lifecycle.*`` webhook to the consumer organisations and the
owner; an organisation without a live subscription hears nothing."""

import datetime

import pytest
from django.core import mail
from django.utils import timezone

from apis.models import Subscription, WebhookDelivery
from apis.services.applications import application_create
from apis.services.lifecycle import version_transition
from apis.services.subscriptions import subscription_act, subscription_request
from apis.services.webhooks import webhook_create
from tenants.models import Notification
from tenants.roles import TeamRole
from tests.factories import TeamFactory, member_of

SUNSET = timezone.localdate() + datetime.timedelta(days=60)
STOREFRONT = {"dev@globex.test", "lead@globex.test", "outsider@globex.test"}
MOBILE = {"dev@mobile.acme.test", "lead@mobile.acme.test", "dual@acme.test"}
# The API's other maintainers (the one who moves the version is not told).
MAINTAINERS = {"second@acme.test", "dual@acme.test"}


@pytest.fixture
def subscribed(world, hooks, django_capture_on_commit_callbacks):
    """Globex's Storefront and Acme's Mobile app hold approved subscriptions; Initech has
    an application whose subscription was cancelled, and a webhook of its own."""
    capture = django_capture_on_commit_callbacks
    initech_team = TeamFactory(organisation=world.third, name="Initech Apps", slug="apps")
    member_of(
        world.third, team=initech_team, team_role=TeamRole.DEVELOPER, email="dev@initech.test"
    )
    initech_app = application_create(
        team=initech_team, name="Reports", actor=world.actor("outsider")
    )
    with capture(execute=True):
        for application, asker in (
            (world.application, "app_developer"),
            (world.local_application, "local_developer"),
        ):
            subscription = subscription_request(
                application=application, api=world.api, plan=world.manual, actor=world.actor(asker)
            )
            subscription_act(
                subscription=subscription, action="approve", actor=world.actor("api_maintainer")
            )
        ended = subscription_request(
            application=initech_app, api=world.api, plan=world.manual, actor=world.actor("outsider")
        )
        subscription_act(subscription=ended, action="cancel", actor=world.actor("outsider"))
        webhook_create(
            organisation=world.third,
            url=f"{hooks.url}/initech",
            events=["lifecycle.*"],
            actor=world.actor("outsider"),
        )
    Notification.objects.all().delete()
    WebhookDelivery.objects.all().delete()
    mail.outbox.clear()
    hooks.clear()
    return world


def move(world, capture, to_state, **extra):
    version = world.api.versions.get()
    with capture(execute=True):
        version_transition(
            version=version, to_state=to_state, actor=world.actor("api_maintainer"), **extra
        )


def notified(kind: str, organisation) -> set[str]:
    return set(
        Notification.objects.filter(kind=kind, organisation=organisation).values_list(
            "user__email", flat=True
        )
    )


def assert_subscribers_heard(world, hooks, state: str, *, body_has: str) -> None:
    kind = f"lifecycle.{state}"
    storefront = Subscription.objects.get(application=world.application)
    mobile = Subscription.objects.get(application=world.local_application)

    # In the portal: each subscription's consumer team, pointed at its subscription.
    version_url = world.api.versions.get().get_absolute_url()
    consumer_rows = Notification.objects.filter(kind=kind).exclude(url=version_url)
    assert notified(kind, world.consumer) == STOREFRONT
    by_url = {}
    for row in consumer_rows:
        by_url.setdefault(row.url, set()).add(row.user.email)
        assert body_has in row.body
    assert by_url == {
        storefront.get_absolute_url(): STOREFRONT,
        mobile.get_absolute_url(): MOBILE,
    }
    assert {r.title for r in consumer_rows} == {
        f"Payments API 1.0.0 is now {state} (used by Storefront)",
        f"Payments API 1.0.0 is now {state} (used by Mobile app)",
    }
    # The API's maintainers hear too, in the portal only.
    maintainer_rows = Notification.objects.filter(kind=kind, url=version_url)
    assert {r.user.email for r in maintainer_rows} == MAINTAINERS

    # By e-mail: the consumers, once per subscription they are told about.
    lifecycle_mail = [m for m in mail.outbox if f"is now {state}" in m.subject]
    recipients = sorted(m.to[0] for m in lifecycle_mail)
    assert recipients == sorted([*STOREFRONT, *MOBILE])
    assert all(body_has in m.body for m in lifecycle_mail)
    assert not any(m.to[0].endswith("@initech.test") for m in mail.outbox)

    # By webhook: the owner (Acme, also a consumer, once) and Globex; not Initech.
    for slug in ("acme", "globex"):
        deliveries = [d for d in hooks.at(f"/{slug}") if d.header("X-Portico-Event") == kind]
        assert len(deliveries) == 1, slug
        data = deliveries[0].json()["data"]
        assert data["api"]["slug"] == "payments"
        assert (data["version"], data["to"]) == ("1.0.0", state)
    assert hooks.at("/initech") == []
    assert not WebhookDelivery.objects.filter(organisation=world.third).exists()
    # Nobody outside the subscribing teams and the API's team is told.
    assert not Notification.objects.filter(kind=kind, organisation=world.third).exists()
    assert notified(kind, world.provider) == MOBILE | MAINTAINERS


def test_deprecation_with_a_sunset_tells_each_subscriber(
    subscribed, hooks, django_capture_on_commit_callbacks
):
    world = subscribed
    move(
        world,
        django_capture_on_commit_callbacks,
        "deprecated",
        reason="v2 replaces it.",
        sunset_at=SUNSET,
    )

    assert_subscribers_heard(world, hooks, "deprecated", body_has=f"Sunset on {SUNSET:%Y-%m-%d}")
    (delivery,) = hooks.at("/globex")
    assert delivery.json()["data"]["sunset_at"] == SUNSET.isoformat()
    assert delivery.json()["data"]["reason"] == "v2 replaces it."
    # A deprecation warns; the subscriptions and their keys keep working.
    assert set(Subscription.objects.values_list("state", flat=True)) == {
        "approved",
        "cancelled",
    }


def test_retirement_tells_each_subscriber_before_their_subscriptions_end(
    subscribed, hooks, django_capture_on_commit_callbacks
):
    world = subscribed
    move(
        world,
        django_capture_on_commit_callbacks,
        "deprecated",
        reason="v2 replaces it.",
        sunset_at=SUNSET,
    )
    Notification.objects.all().delete()
    mail.outbox.clear()
    hooks.clear()

    move(world, django_capture_on_commit_callbacks, "retired", reason="Sunset reached.")

    assert_subscribers_heard(world, hooks, "retired", body_has="Sunset reached.")
    # The last usable version is gone: the subscriptions end, and say so too.
    for application in (world.application, world.local_application):
        assert Subscription.objects.get(application=application).state == "revoked"
    assert [d.header("X-Portico-Event") for d in hooks.at("/globex")].count(
        "subscription.revoked"
    ) == 1


def test_blocking_tells_each_subscriber(subscribed, hooks, django_capture_on_commit_callbacks):
    world = subscribed
    move(world, django_capture_on_commit_callbacks, "blocked", reason="A data leak.")

    assert_subscribers_heard(world, hooks, "blocked", body_has="A data leak.")


def test_an_api_without_subscribers_tells_only_its_maintainers(
    world, hooks, django_capture_on_commit_callbacks
):
    move(
        world,
        django_capture_on_commit_callbacks,
        "deprecated",
        reason="v2 replaces it.",
        sunset_at=SUNSET,
    )

    rows = Notification.objects.filter(kind="lifecycle.deprecated")
    assert {r.user.email for r in rows} == MAINTAINERS
    assert mail.outbox == []
    # The owner's webhook hears of its own API; Globex, with no subscription, does not.
    assert [d.header("X-Portico-Event") for d in hooks.at("/acme")] == ["lifecycle.deprecated"]
    assert hooks.at("/globex") == []
