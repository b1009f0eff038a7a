"""The usage query: series, zero-filled buckets, time zones, and who sees which rows."""

import datetime

import pytest

from analytics.models import UsageRollup
from tenants.actors import Actor

from .usage_world import HOUR, UsageWorld, add_route, add_usage, build_usage_world, publish

WINDOW = {"from": "2026-03-18T08:00:00Z", "to": "2026-03-18T11:00:00Z"}
STARTS = ["2026-03-18T08:00:00+00:00", "2026-03-18T09:00:00+00:00", "2026-03-18T10:00:00+00:00"]


def usage_url(org: str) -> str:
    return f"/api/v1/organisations/{org}/usage/"


@pytest.fixture
def traffic(cast) -> UsageWorld:
    """Acme imports its Ledger API's calls: Globex's Storefront 100 (5 failed) this hour,
    Acme's Checkout 40 the hour before, 7 from no known application, and 3 it could not
    match to an API. Globex imports its Catalog API's calls: Acme's Checkout 11, its own
    Storefront 1,000."""
    world = build_usage_world(cast)
    world.catalog = publish(
        organisation=cast.other_org,
        team=cast.other_team,
        actor=Actor.for_user(cast.outsider),
        name="Globex Catalog",
        slug="catalog",
    )
    acme, globex, ledger = world.acme, world.globex, world.api
    add_usage(
        organisation=acme,
        hour=HOUR,
        api=ledger,
        application=world.storefront,
        calls=100,
        c5xx=5,
        latency_ms=50,
    )
    add_usage(
        organisation=acme,
        hour=HOUR - datetime.timedelta(hours=1),
        api=ledger,
        application=world.checkout,
        calls=40,
        c4xx=4,
    )
    add_usage(organisation=acme, hour=HOUR, api=ledger, calls=7)
    add_usage(organisation=acme, hour=HOUR, calls=3)
    add_usage(
        organisation=globex, hour=HOUR, api=world.catalog, application=world.checkout, calls=11
    )
    add_usage(
        organisation=globex, hour=HOUR, api=world.catalog, application=world.storefront, calls=1000
    )
    return world


def series_totals(body: dict) -> dict[str, int]:
    return {series["key"]: series["total"]["calls"] for series in body["series"]}


@pytest.mark.django_db
def test_provider_sees_its_apis_and_its_applications_elsewhere(traffic, cast, api_for):
    response = api_for(cast.owner).get(usage_url("acme"), {**WINDOW, "group_by": "api"})
    assert response.status_code == 200, response.json()
    body = response.json()
    # Its own API (every consumer), the unmatched rows (admins only), and as a consumer
    # only its Checkout's calls to Globex's Catalog, not Storefront's.
    assert series_totals(body) == {"acme/ledger": 147, "globex/catalog": 11, "-": 3}
    ledger = body["series"][0]
    assert ledger["label"] == "Acme Ledger API"
    assert [p["t"] for p in ledger["points"]] == STARTS
    assert [p["calls"] for p in ledger["points"]] == [0, 40, 107]
    assert ledger["points"][0]["p50"] is None  # an empty bucket has no percentiles
    assert ledger["points"][2]["c5xx"] == 5
    assert ledger["total"]["errors"] == 9
    assert ledger["points"][2]["p50"] == pytest.approx(50, rel=0.1)
    assert body["from"] == "2026-03-18T08:00:00+00:00"
    assert body["to"] == "2026-03-18T11:00:00+00:00"
    assert body["truncated"] is False


@pytest.mark.django_db
def test_a_member_does_not_get_unmatched_rows(traffic, cast, api_for):
    body = api_for(cast.member).get(usage_url("acme"), {**WINDOW, "group_by": "api"}).json()
    assert series_totals(body) == {"acme/ledger": 147, "globex/catalog": 11}


@pytest.mark.django_db
def test_consumer_sees_only_its_own_applications_on_others_apis(traffic, cast, api_for):
    body = (
        api_for(cast.outsider)  # Globex's owner
        .get(usage_url("globex"), {**WINDOW, "group_by": "application"})
        .json()
    )
    # Storefront: its 100 calls to Acme's Ledger and its 1,000 to Globex's own Catalog;
    # Checkout (Acme's) as a consumer of Globex's Catalog; nothing else of Acme.
    totals = series_totals(body)
    assert totals == {str(traffic.storefront.pk): 1100, str(traffic.checkout.pk): 11}
    checkout = next(s for s in body["series"] if s["key"] == str(traffic.checkout.pk))
    assert checkout["detail"] == {
        "id": traffic.checkout.pk,
        "team": "Payments Squad",
        "organisation": "Acme Secret Works",
    }
    body = (
        api_for(cast.outsider)
        .get(usage_url("globex"), {**WINDOW, "api": "acme/ledger", "group_by": "api"})
        .json()
    )
    assert series_totals(body) == {"acme/ledger": 100}


@pytest.mark.django_db
def test_an_outsider_organisation_sees_nothing(traffic, api_for):
    client = api_for(traffic.outsider)
    body = client.get(usage_url("initech"), {**WINDOW, "group_by": "api"}).json()
    assert body["series"] == []
    body = client.get(usage_url("initech"), WINDOW).json()
    assert [s["key"] for s in body["series"]] == ["all"]
    assert [p["calls"] for p in body["series"][0]["points"]] == [0, 0, 0]
    assert client.get(usage_url("acme"), WINDOW).status_code == 404
    # Another organisation's application id filters nothing in.
    body = client.get(usage_url("initech"), {**WINDOW, "application": traffic.storefront.pk}).json()
    assert body["series"][0]["total"]["calls"] == 0
    response = client.get(usage_url("initech"), {**WINDOW, "api": "acme/ledger"})
    assert response.status_code == 200  # Ledger is public: visible, with none of its usage
    assert response.json()["series"][0]["total"]["calls"] == 0


@pytest.mark.django_db
def test_status_classes_and_routes(traffic, cast, api_for):
    client = api_for(cast.owner)
    body = client.get(usage_url("acme"), {**WINDOW, "group_by": "status_class"}).json()
    # Ledger's 147, the 3 unmatched and Checkout's 11 elsewhere.
    assert series_totals(body) == {"ok": 152, "4xx": 4, "5xx": 5}
    assert body["series"][0]["points"][0]["p95"] is None
    add_route(
        organisation=traffic.acme,
        hour=HOUR,
        api=traffic.api,
        route="/entries",
        status=200,
        calls=50,
    )
    add_route(
        organisation=traffic.acme, hour=HOUR, api=traffic.api, route="/entries", status=503, calls=5
    )
    add_route(
        organisation=traffic.acme,
        hour=HOUR,
        api=traffic.api,
        method="POST",
        route="/entries",
        status=201,
        calls=20,
        latency_ms=120,
    )
    body = client.get(usage_url("acme"), {**WINDOW, "group_by": "route"}).json()
    assert [(s["label"], s["total"]["calls"], s["total"]["c5xx"]) for s in body["series"]] == [
        ("GET /entries", 55, 5),
        ("POST /entries", 20, 0),
    ]
    assert body["series"][1]["total"]["latency_mean"] == pytest.approx(120)
    assert body["series"][0]["detail"]["api"] == "acme/ledger"
    # Routes carry no application: a consumer sees none of Acme's.
    other = api_for(cast.outsider).get(usage_url("globex"), {**WINDOW, "group_by": "route"})
    assert other.json()["series"] == []


@pytest.mark.django_db
def test_day_buckets_in_a_time_zone(traffic, cast, api_for):
    # 03:00 UTC on the 18th is 23:00 on the 17th in New York (daylight time, UTC-4).
    add_usage(
        organisation=traffic.acme,
        hour=datetime.datetime(2026, 3, 18, 3, tzinfo=datetime.UTC),
        api=traffic.api,
        calls=9,
    )
    response = api_for(cast.owner).get(
        usage_url("acme"),
        {
            "from": "2026-03-17",
            "to": "2026-03-19",
            "interval": "day",
            "tz": "America/New_York",
            "api": "ledger",
        },
    )
    body = response.json()
    points = body["series"][0]["points"]
    assert [(p["t"], p["calls"]) for p in points] == [
        ("2026-03-17T00:00:00-04:00", 9),
        ("2026-03-18T00:00:00-04:00", 147),
    ]
    assert body["tz"] == "America/New_York"


@pytest.mark.django_db
def test_hour_buckets_across_the_end_of_summer_time(usage_world, cast, api_for):
    # London goes back from 02:00 BST to 01:00 GMT at 01:00 UTC on 25 October 2026.
    for hour, calls in ((0, 1), (1, 2), (2, 4)):
        add_usage(
            organisation=usage_world.acme,
            hour=datetime.datetime(2026, 10, 25, hour, tzinfo=datetime.UTC),
            api=usage_world.api,
            calls=calls,
        )
    body = (
        api_for(cast.owner)
        .get(
            usage_url("acme"),
            {"from": "2026-10-25T00:00:00Z", "to": "2026-10-25T03:00:00Z", "tz": "Europe/London"},
        )
        .json()
    )
    assert [(p["t"], p["calls"]) for p in body["series"][0]["points"]] == [
        ("2026-10-25T01:00:00+01:00", 1),
        ("2026-10-25T01:00:00+00:00", 2),
        ("2026-10-25T02:00:00+00:00", 4),
    ]


@pytest.mark.django_db
def test_limit_keeps_the_busiest_series(traffic, cast, api_for):
    body = (
        api_for(cast.owner).get(usage_url("acme"), {**WINDOW, "group_by": "api", "limit": 1}).json()
    )
    assert series_totals(body) == {"acme/ledger": 147}
    assert body["truncated"] is True


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"group_by": "country"}, "group_by", "Give one of api, application, route, status_class."),
        ({"interval": "minute"}, "interval", "Give hour or day."),
        ({"tz": "Mars/Base"}, "tz", "Unknown time zone 'Mars/Base'; give an IANA name."),
        ({"from": "yesterday"}, "from", "Give an ISO 8601 date or date and time."),
        ({"from": "0001-01-01"}, "from", "Give a date between 1970 and 2200."),
        (
            {"from": "2026-03-18T12:00:00Z", "to": "2026-03-18T10:00:00Z"},
            "from",
            "Give a start before the end.",
        ),
        (
            {"from": "2020-01-01", "to": "2026-01-01"},
            "from",
            "That is 52608 hours; ask for at most 2000 (use interval=day for long ranges).",
        ),
        ({"api": "payroll"}, "api", "No API by that name is visible to you."),
        ({"api": "globex/secret"}, "api", "No API by that name is visible to you."),
        ({"application": "x"}, "application", "Give an application's id."),
        (
            {"group_by": "route", "application": "1"},
            "application",
            "Routes are counted per API, not per application.",
        ),
        ({"limit": "0"}, "limit", "Give 1 to 100."),
    ],
)
def test_bad_queries_are_refused_with_the_field(usage_world, cast, api_for, params, field, message):
    response = api_for(cast.member).get(usage_url("acme"), params)
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {field: [message]}
    assert response.json()["error"]["code"] == "invalid"


@pytest.mark.django_db
def test_default_window_is_the_last_24_hours(usage_world, cast, api_for):
    body = api_for(cast.member).get(usage_url("acme")).json()
    points = body["series"][0]["points"]
    assert len(points) in (24, 25)  # 24 whole hours and, unless now is on the hour, this one
    assert body["interval"] == "hour"
    assert not UsageRollup.objects.exists()
