"""Windows shorter than an hour are read from the raw events of exactly their last
minutes, not from whole rollup hours: a 15-minute spike fires a 15-minute rule,
errors 40 minutes old do not, and the rule resolves once the spike has left the
window. Events are stored as an import stores them (rolled up too), so the hourly
rollups hold the same calls."""

import datetime

import pytest

from analytics.models import AlertRule
from analytics.services.alerts import alert_rule_create, alert_rule_evaluate, measure
from analytics.storage import insert_requests
from tenants.actors import Actor
from tenants.models import Notification

from .usage_world import NOW

OK, FIRING = AlertRule.State.OK, AlertRule.State.FIRING
_serial = iter(range(1, 10**9))


def store(world, *, minutes_ago: float, calls: int, errors: int = 0, latency: float = 50.0,
          api=None, application=None, at=NOW) -> None:  # fmt: skip
    """``calls`` events ``minutes_ago`` before ``at`` to the world's API from Storefront,
    the first ``errors`` of them 500s."""
    api = api or world.api
    application = application or world.storefront
    ts = at - datetime.timedelta(minutes=minutes_ago)
    rows = [
        (ts, 1, f"e{next(_serial)}", api.organisation_id, api.pk, api.current_version_id or 0,
         application.pk, 0, "GET", "/ledger", 500 if index < errors else 200, latency, None, 100,
         "", None, None, None, "", "")
        for index in range(calls)
    ]  # fmt: skip
    assert insert_requests(rows) == calls


def rule(world, cast, **fields) -> AlertRule:
    values = {"name": "Ledger errors", "metric": "error_rate", "threshold": 5.0, **fields}
    return alert_rule_create(
        organisation=world.acme, api=world.api, actor=Actor.for_user(cast.owner), **values
    )


@pytest.mark.django_db
def test_a_fifteen_minute_spike_fires_a_fifteen_minute_rule(usage_world, cast):
    world = usage_world
    store(world, minutes_ago=50, calls=2000)  # healthy calls earlier in the rollup hours
    store(world, minutes_ago=10, calls=100, errors=20)
    fifteen = rule(world, cast, window_minutes=15)
    hourly = rule(world, cast, name="hourly", window_minutes=60)

    assert measure(fifteen, now=NOW) == pytest.approx(20.0)
    # The same calls in whole rollup hours: the spike diluted below the threshold.
    assert measure(hourly, now=NOW) == pytest.approx(100 * 20 / 2100)
    assert alert_rule_evaluate(rule_id=fifteen.pk, now=NOW).state == FIRING
    assert alert_rule_evaluate(rule_id=hourly.pk, now=NOW).state == OK
    notice = Notification.objects.filter(kind="alert.firing").first()
    assert "Measured over the calls of the last 15 minutes." in notice.body

    # Twenty minutes on, healthy calls only in the window: resolved, once.
    later = NOW + datetime.timedelta(minutes=20)
    store(world, minutes_ago=5, calls=100, at=later)
    assert measure(fifteen, now=later) == 0.0
    verdict = alert_rule_evaluate(rule_id=fifteen.pk, now=later)
    assert (verdict.state, verdict.changed) == (OK, True)
    assert Notification.objects.filter(kind="alert.resolved").count() == 3  # each recipient


@pytest.mark.django_db
def test_errors_forty_minutes_ago_do_not_fire_a_fifteen_minute_rule(usage_world, cast):
    world = usage_world
    store(world, minutes_ago=40, calls=100, errors=100)
    store(world, minutes_ago=15, calls=10, errors=10)  # exactly 15 minutes: outside
    store(world, minutes_ago=14.9, calls=100)
    store(world, minutes_ago=0, calls=100)  # at this very moment: inside
    fifteen = rule(world, cast, window_minutes=15)

    assert measure(fifteen, now=NOW) == 0.0
    verdict = alert_rule_evaluate(rule_id=fifteen.pk, now=NOW)
    assert (verdict.state, verdict.changed) == (OK, False)
    # A window of an hour or more still reads the rollup hours, which hold them.
    assert measure(rule(world, cast, name="hourly", window_minutes=60), now=NOW) == (
        pytest.approx(100 * 110 / 310)
    )
    # And nothing at all in the last 15 minutes is no value, not health.
    assert measure(fifteen, now=NOW + datetime.timedelta(minutes=16)) is None


@pytest.mark.django_db
def test_hysteresis_is_the_same_on_raw_windows(usage_world, cast):
    world = usage_world
    fifteen = rule(world, cast, window_minutes=15, clear_ratio=0.8)
    store(world, minutes_ago=5, calls=100, errors=10)
    assert alert_rule_evaluate(rule_id=fifteen.pk, now=NOW).state == FIRING
    # 4.5 %: under the threshold, inside the band (not under 4.0): still firing.
    later = NOW + datetime.timedelta(minutes=15)
    store(world, minutes_ago=1, calls=200, errors=9, at=later)
    assert measure(fifteen, now=later) == pytest.approx(4.5)
    assert alert_rule_evaluate(rule_id=fifteen.pk, now=later).changed is False
    fifteen.refresh_from_db()
    assert fifteen.state == FIRING


@pytest.mark.django_db
def test_raw_p95_and_application_rules_read_only_their_own_calls(usage_world, cast):
    world = usage_world
    store(world, minutes_ago=3, calls=90, latency=100.0)
    store(world, minutes_ago=3, calls=10, latency=2000.0)
    # Acme's own application's calls, and older slow calls: not in Storefront's window.
    store(world, minutes_ago=3, calls=1000, latency=9000.0, application=world.checkout)
    store(world, minutes_ago=30, calls=1000, latency=9000.0)
    storefront = alert_rule_create(
        organisation=world.globex,
        application=world.storefront,
        name="Storefront p95",
        metric="p95_latency",
        threshold=400,
        window_minutes=10,
        actor=Actor.for_user(world.app_developer),
    )
    assert 1500 < measure(storefront, now=NOW) < 2500
    # The provider's API rule sees every consumer's calls of the window.
    api_p95 = rule(world, cast, metric="p95_latency", threshold=400, window_minutes=10)
    assert measure(api_p95, now=NOW) > 8000
