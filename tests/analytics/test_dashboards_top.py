"""Top-N tables: most calls (or cost) first, ties in a stable order, cut at N."""

import datetime

import pytest

from analytics.dashboards import breakdown, breakdowns, route_summary, window_for
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
    routes, statuses = route_summary(RouteRollup.objects.filter(organisation=cast.org), WINDOW)
    assert [(r.method, r.route, r.calls, r.errors) for r in routes] == [
        ("GET", "/pets", 100, 10),
        ("GET", "/pets/{id}", 50, 45),
        ("POST", "/pets", 30, 0),
    ]
    assert routes[0].error_rate == 10.0
    assert routes[0].mean_latency == pytest.approx((90 * 10 + 10 * 100) / 100)
    assert [(status, calls) for status, calls, _ in statuses] == [
        (200, 95),
        (404, 45),
        (201, 30),
        (500, 10),
    ]
    assert sum(share for _, _, share in statuses) == pytest.approx(100.0)


@pytest.mark.django_db
def test_route_summary_cuts_routes_and_statuses_apart(cast):
    for i in range(4):
        route(cast.org, HOUR, "GET", f"/r{i}", 200 + i, 10 - i)
    routes, statuses = route_summary(
        RouteRollup.objects.filter(organisation=cast.org), WINDOW, top=2, top_statuses=3
    )
    assert [r.route for r in routes] == ["/r0", "/r1"]
    assert [status for status, _, _ in statuses] == [200, 201, 202]
    # Shares are of the statuses shown.
    assert sum(share for _, _, share in statuses) == pytest.approx(100.0)


@pytest.mark.django_db
def test_breakdowns_by_several_columns_equal_one_breakdown_each(cast):
    for app, version, calls in ((5, 1, 3), (6, 1, 40), (6, 2, 7), (7, 2, 12), (8, 1, 12)):
        rollup(cast.org, HOUR, api=1, app=app, version=version, calls=calls)
    rollup(cast.org, HOUR - datetime.timedelta(hours=1), api=2, app=5, version=3, calls=1)
    rollups = UsageRollup.objects.filter(organisation=cast.org)
    both = breakdowns(rollups, WINDOW, ("application_id", "api_version_id"), top=3)

    def summed(rows):
        return [(ident, point.calls, point.c4xx, point.bytes) for ident, point in rows]

    for by in ("application_id", "api_version_id"):
        assert summed(both[by]) == summed(breakdown(rollups, WINDOW, by, top=3))
    assert [app for app, _ in both["application_id"]] == [6, 7, 8]
    assert [(version, point.calls) for version, point in both["api_version_id"]] == [
        (1, 55),
        (2, 19),
        (3, 1),
    ]
