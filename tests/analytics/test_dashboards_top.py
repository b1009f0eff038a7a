"""Top-N tables: most calls (or cost) first, ties in a stable order, cut at N."""

import datetime

import pytest

from analytics.dashboards import breakdown, status_counts, top_routes, window_for
from analytics.models import RouteRollup, UsageRollup

from .usage_data import rollup

NOW = datetime.datetime(2026, 6, 10, 14, 37, tzinfo=datetime.UTC)
HOUR = datetime.datetime(2026, 6, 10, 9, tzinfo=datetime.UTC)
WINDOW = window_for("24h", now=NOW, tz=datetime.UTC)


@pytest.mark.django_db
def test_top_applications_by_calls_then_id(cast):
    for app, calls in ((5, 3), (6, 40), (7, 12), (8, 12), (9, 1)):
        rollup(cast.org, HOUR, api=1, app=app, calls=calls)
        rollup(cast.org, HOUR - datetime.timedelta(hours=1), api=1, app=app, calls=1)
    rollup(cast.org, HOUR - datetime.timedelta(days=3), api=1, app=9, calls=500)  # too old
    rows = breakdown(UsageRollup.objects.filter(organisation=cast.org), WINDOW, "application_id")
    assert [(app, point.calls) for app, point in rows] == [
        (6, 41),
        (7, 13),
        (8, 13),
        (5, 4),
        (9, 2),
    ]
    top = breakdown(
        UsageRollup.objects.filter(organisation=cast.org), WINDOW, "application_id", top=2
    )
    assert [app for app, _ in top] == [6, 7]


@pytest.mark.django_db
def test_top_by_cost(cast):
    rollup(cast.org, HOUR, api=1, app=1, calls=100, cost=0.5)
    rollup(cast.org, HOUR, api=1, app=2, calls=2, cost=3.0)
    rows = breakdown(
        UsageRollup.objects.filter(organisation=cast.org), WINDOW, "application_id", order="cost"
    )
    assert [app for app, _ in rows] == [2, 1]


def route(org, hour, method, path, status, calls, latency=10.0):
    return RouteRollup.objects.create(
        organisation=org,
        hour=hour,
        api_id=1,
        api_version_id=1,
        method=method,
        route=path,
        status=status,
        calls=calls,
        latency_sum=latency * calls,
    )


@pytest.mark.django_db
def test_top_routes_and_status_codes(cast):
    route(cast.org, HOUR, "GET", "/pets", 200, 70)
    route(cast.org, HOUR, "GET", "/pets", 500, 10, latency=100.0)
    route(cast.org, HOUR - datetime.timedelta(hours=2), "GET", "/pets", 200, 20)
    route(cast.org, HOUR, "POST", "/pets", 201, 30)
    route(cast.org, HOUR, "GET", "/pets/{id}", 404, 45)
    route(cast.org, HOUR, "GET", "/pets/{id}", 200, 5)
    routes = top_routes(RouteRollup.objects.filter(organisation=cast.org), WINDOW)
    assert [(r.method, r.route, r.calls, r.errors) for r in routes] == [
        ("GET", "/pets", 100, 10),
        ("GET", "/pets/{id}", 50, 45),
        ("POST", "/pets", 30, 0),
    ]
    assert routes[0].error_rate == 10.0
    assert routes[0].mean_latency == pytest.approx((90 * 10 + 10 * 100) / 100)
    statuses = status_counts(RouteRollup.objects.filter(organisation=cast.org), WINDOW)
    assert [(status, calls) for status, calls, _ in statuses] == [
        (200, 95),
        (404, 45),
        (201, 30),
        (500, 10),
    ]
    assert sum(share for _, _, share in statuses) == pytest.approx(100.0)
