"""Alert evaluation: measured values, the hysteresis band, one notice per change."""

import datetime
import threading

import pytest
from django.core import mail
from django.db import connection, transaction
from django.utils import timezone

from analytics.models import AlertRule, UsageRollup
from analytics.services.alerts import (
    alert_rule_create,
    alert_rule_evaluate,
    alert_rules_evaluate,
    judge,
    measure,
    quota_period_start,
    reads_raw_events,
    window_start,
)
from apis.models import WebhookDelivery
from apis.services.webhooks import webhook_create
from tenants.actors import Actor
from tenants.models import Notification

from .usage_world import HOUR, NOW, add_usage

OK, FIRING = AlertRule.State.OK, AlertRule.State.FIRING


def api_rule(world, cast, **fields) -> AlertRule:
    # An hour: these tests read the hourly rollups (shorter windows read the raw
    # events; test_alerts_raw_windows.py).
    values = {
        "name": "Ledger errors",
        "metric": "error_rate",
        "threshold": 5.0,
        "window_minutes": 60,
        **fields,
    }
    return alert_rule_create(
        organisation=world.acme, api=world.api, actor=Actor.for_user(cast.owner), **values
    )


def set_error_rate(world, percent: float) -> None:
    """The window holds 1,000 calls of which ``percent`` per cent failed with a 5xx."""
    UsageRollup.objects.all().delete()
    add_usage(
        organisation=world.acme,
        hour=HOUR,
        api=world.api,
        application=world.storefront,
        calls=1000,
        c5xx=round(percent * 10),
    )


@pytest.mark.parametrize(
    ("state", "value", "expected", "changed"),
    [
        (OK, None, OK, False),  # no calls: no verdict
        (OK, 4.0, OK, False),  # below
        (OK, 5.0, OK, False),  # at the threshold is not above it
        (OK, 5.1, FIRING, True),  # above
        (FIRING, 9.0, FIRING, False),  # still above
        (FIRING, 4.5, FIRING, False),  # in the band: below threshold, not below 4.0
        (FIRING, 4.0, FIRING, False),  # at threshold × ratio is not below it
        (FIRING, 3.9, OK, True),  # below the band
        (FIRING, None, FIRING, False),  # silence is not health
        (OK, 4.5, OK, False),  # in the band while ok: stays ok
    ],
)
def test_judge_table(state, value, expected, changed):
    verdict = judge(state=state, value=value, threshold=5.0, clear_ratio=0.8)
    assert (verdict.state, verdict.changed) == (expected, changed)


@pytest.mark.django_db
def test_flapping_values_notify_once_each_way(usage_world, cast):
    world = usage_world
    webhook_create(
        organisation=world.acme,
        url="https://hooks.acme.test/alerts",
        events=["alert.*"],
        actor=Actor.for_user(cast.owner),
    )
    rule = api_rule(world, cast)
    states = []
    for percent in [4.0, 6.0, 4.5, 5.5, 4.2, 6.0, 4.1, 3.5, 4.5, 4.9, 4.2, 3.0]:
        set_error_rate(world, percent)
        alert_rule_evaluate(rule_id=rule.pk, now=NOW)
        rule.refresh_from_db()
        states.append(rule.state)
    assert states == [OK] + [FIRING] * 6 + [OK] * 5
    assert rule.last_value == pytest.approx(3.0)
    # Owner, admin and the API team's maintainer: one notice each, each way.
    for kind in ("alert.firing", "alert.resolved"):
        notices = Notification.objects.filter(kind=kind)
        assert sorted(n.user.email for n in notices) == [
            "admin@acme.test",
            "maintainer@acme.test",
            "owner@acme.test",
        ]
    firing = Notification.objects.get(kind="alert.firing", user=cast.owner)
    assert "Ledger errors" in firing.title
    assert "6.0%" in firing.title
    deliveries = WebhookDelivery.objects.order_by("pk")
    assert [d.event for d in deliveries] == ["alert.firing", "alert.resolved"]
    assert deliveries[0].payload["data"]["state"] == "firing"
    assert deliveries[0].payload["data"]["value"] == pytest.approx(6.0)
    assert deliveries[1].payload["data"]["api"] == {"organisation": "acme", "slug": "ledger"}


@pytest.mark.django_db
def test_firing_mails_the_recipients_after_commit(
    usage_world, cast, django_capture_on_commit_callbacks
):
    world = usage_world
    rule = api_rule(world, cast, notify_webhook=False)
    set_error_rate(world, 50)
    with django_capture_on_commit_callbacks(execute=True):
        alert_rule_evaluate(rule_id=rule.pk, now=NOW)
    assert sorted(m.to[0] for m in mail.outbox) == [
        "admin@acme.test",
        "maintainer@acme.test",
        "owner@acme.test",
    ]
    assert "Ledger errors" in mail.outbox[0].subject
    assert not WebhookDelivery.objects.exists()
    # A second evaluation while still firing sends nothing.
    with django_capture_on_commit_callbacks(execute=True):
        alert_rule_evaluate(rule_id=rule.pk, now=NOW)
    assert len(mail.outbox) == 3


@pytest.mark.django_db
def test_without_email_the_notice_stays_in_the_portal(
    usage_world, cast, django_capture_on_commit_callbacks
):
    rule = api_rule(usage_world, cast, notify_email=False, notify_webhook=False)
    set_error_rate(usage_world, 50)
    with django_capture_on_commit_callbacks(execute=True):
        alert_rule_evaluate(rule_id=rule.pk, now=NOW)
    assert Notification.objects.filter(kind="alert.firing").count() == 3
    assert mail.outbox == []


@pytest.mark.django_db
def test_error_rate_counts_5xx_only_in_the_window(usage_world, cast):
    world = usage_world
    rule = api_rule(world, cast)
    add_usage(organisation=world.acme, hour=HOUR, api=world.api, calls=100, c4xx=50, c5xx=2)
    add_usage(
        organisation=world.acme,
        hour=HOUR - datetime.timedelta(hours=1),
        api=world.api,
        application=world.checkout,
        calls=100,
        c5xx=8,
    )
    # Outside a 60-minute window (two hours back), and another API's traffic.
    add_usage(
        organisation=world.acme, hour=HOUR - datetime.timedelta(hours=2), api=world.api, calls=900
    )
    add_usage(organisation=world.acme, hour=HOUR, calls=1000, c5xx=1000)
    assert measure(rule, now=NOW) == pytest.approx(5.0)  # 10 of 200


@pytest.mark.django_db
def test_application_rule_reads_its_calls_to_any_api(usage_world, cast):
    world = usage_world
    rule = alert_rule_create(
        organisation=world.globex,
        application=world.storefront,
        name="Storefront p95",
        metric="p95_latency",
        threshold=400,
        window_minutes=60,
        actor=Actor.for_user(world.app_developer),
    )
    add_usage(
        organisation=world.acme,
        hour=HOUR,
        api=world.api,
        application=world.storefront,
        calls=90,
        latency_ms=100,
    )
    add_usage(
        organisation=world.acme,
        hour=HOUR,
        api=world.api,
        application=world.storefront,
        calls=10,
        latency_ms=2000,
    )
    add_usage(  # Acme's own application: not Storefront's
        organisation=world.acme,
        hour=HOUR,
        api=world.api,
        application=world.checkout,
        calls=1000,
        latency_ms=9000,
    )
    value = measure(rule, now=NOW)
    assert 1500 < value < 2500
    alert_rule_evaluate(rule_id=rule.pk, now=NOW)
    rule.refresh_from_db()
    assert rule.state == FIRING
    # Globex's owner and the Storefront team's developer and maintainer (Globex's owner
    # again); not the viewer, and nobody at Acme.
    assert sorted(n.user.email for n in Notification.objects.filter(kind="alert.firing")) == [
        "dev@globex.test",
        "outsider@globex.test",
    ]


@pytest.mark.django_db
def test_quota_use_against_the_plan_quota(usage_world, cast):
    world = usage_world  # Storefront's plan: 1,000 calls a day
    rule = alert_rule_create(
        organisation=world.globex,
        application=world.storefront,
        name="Storefront quota",
        metric="quota_use",
        threshold=90,
        window_minutes=15,
        actor=Actor.for_user(world.app_developer),
    )
    for hour, calls in ((0, 400), (5, 300), (10, 250)):
        add_usage(
            organisation=world.acme,
            hour=HOUR.replace(hour=hour),
            api=world.api,
            application=world.storefront,
            calls=calls,
        )
    # Yesterday's calls and another application's calls do not count.
    add_usage(
        organisation=world.acme,
        hour=HOUR - datetime.timedelta(days=1),
        api=world.api,
        application=world.storefront,
        calls=5000,
    )
    add_usage(
        organisation=world.acme, hour=HOUR, api=world.api, application=world.checkout, calls=5000
    )
    assert measure(rule, now=NOW) == pytest.approx(95.0)
    alert_rule_evaluate(rule_id=rule.pk, now=NOW)
    rule.refresh_from_db()
    assert (rule.state, rule.last_value) == (FIRING, pytest.approx(95.0))
    # The provider's API rule sees the highest use among its subscriptions.
    provider_rule = api_rule(world, cast, metric="quota_use", threshold=50)
    assert measure(provider_rule, now=NOW) == pytest.approx(95.0)
    # The next day starts a new quota period.
    assert measure(rule, now=NOW + datetime.timedelta(days=1)) == 0.0


@pytest.mark.django_db
def test_quota_use_without_a_quota_has_no_value(usage_world, cast):
    world = usage_world
    world.plan.quota_limit = None
    world.plan.quota_period = ""
    world.plan.save()
    rule = alert_rule_create(
        organisation=world.globex,
        application=world.storefront,
        name="Storefront quota",
        metric="quota_use",
        threshold=90,
        actor=Actor.for_user(world.app_developer),
    )
    add_usage(
        organisation=world.acme, hour=HOUR, api=world.api, application=world.storefront, calls=10
    )
    assert measure(rule, now=NOW) is None


def test_windows_of_an_hour_or_more_are_read_in_whole_hours():
    assert [reads_raw_events(minutes) for minutes in (5, 15, 59, 60, 61)] == [
        True, True, True, False, False,
    ]  # fmt: skip
    assert window_start(window_minutes=60, now=NOW) == HOUR - datetime.timedelta(hours=1)
    assert window_start(window_minutes=61, now=NOW) == HOUR - datetime.timedelta(hours=2)


def test_quota_periods_start_in_utc():
    assert quota_period_start(period="day", now=NOW) == datetime.datetime(
        2026, 3, 18, tzinfo=datetime.UTC
    )
    assert quota_period_start(period="week", now=NOW) == datetime.datetime(
        2026, 3, 16, tzinfo=datetime.UTC
    )  # the Monday
    assert quota_period_start(period="month", now=NOW) == datetime.datetime(
        2026, 3, 1, tzinfo=datetime.UTC
    )


@pytest.mark.django_db
def test_evaluate_all_skips_disabled_rules_and_counts(usage_world, cast):
    world = usage_world
    firing = api_rule(world, cast)
    quiet = api_rule(world, cast, name="Ledger latency", metric="p95_latency", threshold=1000)
    disabled = api_rule(world, cast, name="Off", enabled=False)
    set_error_rate(world, 20)
    counts = alert_rules_evaluate(now=NOW)
    assert counts == {"evaluated": 2, "fired": 1, "resolved": 0, "failed": 0}
    states = dict(AlertRule.objects.values_list("pk", "state"))
    assert states == {firing.pk: FIRING, quiet.pk: OK, disabled.pk: OK}
    disabled.refresh_from_db()
    assert disabled.last_evaluated_at is None
    assert alert_rules_evaluate(now=NOW)["fired"] == 0


@pytest.mark.django_db
def test_the_beat_task_evaluates_every_minute(usage_world, cast):
    from analytics.tasks import evaluate_alert_rules
    from portal.schedule import PERIODIC_TASKS

    specs = {spec.task: spec.every_seconds for spec in PERIODIC_TASKS}
    assert specs["analytics.tasks.evaluate_alert_rules"] == 60
    rule = api_rule(usage_world, cast)
    add_usage(
        organisation=usage_world.acme,
        hour=timezone.now().replace(minute=0, second=0, microsecond=0),
        api=usage_world.api,
        calls=10,
        c5xx=10,
    )
    evaluate_alert_rules.delay()
    rule.refresh_from_db()
    assert (rule.state, rule.last_value) == (FIRING, 100.0)


@pytest.mark.django_db(transaction=True)
def test_a_rule_being_evaluated_elsewhere_is_skipped(usage_world, cast):
    rule = api_rule(usage_world, cast)
    set_error_rate(usage_world, 50)
    locked, release = threading.Event(), threading.Event()

    def hold_lock():
        try:
            with transaction.atomic():
                AlertRule.objects.select_for_update().get(pk=rule.pk)
                locked.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_lock)
    holder.start()
    try:
        assert locked.wait(timeout=30)
        assert alert_rule_evaluate(rule_id=rule.pk, now=NOW) is None
    finally:
        release.set()
        holder.join()
    rule.refresh_from_db()
    assert (rule.state, rule.last_evaluated_at) == (OK, None)
    assert alert_rule_evaluate(rule_id=rule.pk, now=NOW).state == FIRING
    assert Notification.objects.filter(kind="alert.firing").count() == 3
