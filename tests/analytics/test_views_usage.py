"""The usage pages: who sees which usage, ranges and zones from the query string, htmx
partials, a bounded number of queries, quotas, and "who still calls"."""

import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from analytics import selectors
from analytics.models import UsageRollup
from analytics.storage import insert_invocations
from apis.models import ApiVersion

from .usage_data import make_api, make_application, make_version, rollup, subscribe

NOW = datetime.datetime(2026, 6, 10, 14, 37, tzinfo=datetime.UTC)
HOUR = datetime.datetime(2026, 6, 10, 13, tzinfo=datetime.UTC)
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def market(cast):
    """Acme provides Ledger (public) and Vault (its team only); Globex provides Maps.
    Acme's Checkout calls Ledger and Maps; Globex's Shop calls Ledger; Globex's own
    Internal calls Maps."""
    ledger = make_api(cast.org, cast.team, name="Ledger", slug="ledger", visibility="public")
    vault = make_api(cast.org, cast.team, name="Vault", slug="vault", visibility="team")
    maps = make_api(cast.other_org, cast.other_team, name="Maps", slug="maps", visibility="public")
    checkout = make_application(cast.team, "Acme Checkout")
    shop = make_application(cast.other_team, "Globex Shop")
    internal = make_application(cast.other_team, "Globex Internal")
    rollup(cast.org, HOUR, api=ledger, version=ledger.current_version, app=checkout, calls=10)
    rollup(cast.org, HOUR, api=ledger, version=ledger.current_version, app=shop, calls=20, c5xx=2)
    rollup(cast.org, HOUR, api=vault, version=vault.current_version, app=checkout, calls=7)
    rollup(cast.other_org, HOUR, api=maps, version=maps.current_version, app=checkout, calls=300)
    rollup(cast.other_org, HOUR, api=maps, version=maps.current_version, app=internal, calls=4000)
    return {
        "ledger": ledger,
        "vault": vault,
        "maps": maps,
        "checkout": checkout,
        "shop": shop,
        "internal": internal,
    }


def get(client, path, headers=None, **params):
    return client.get(path, {"range": "24h", **params}, headers=headers)


def test_the_provider_sees_every_consumer_of_its_api(cast, market, client_for):
    response = get(client_for(cast.member), "/o/acme/usage/apis/ledger/")
    assert response.status_code == 200
    assert response.context["total"].calls == 30
    consumers = {
        (c.name, c.team, c.organisation): p.calls for c, p in response.context["top_applications"]
    }
    assert consumers == {
        ("Globex Shop", "Globex Team", "Globex"): 20,
        ("Acme Checkout", "Payments Squad", "Acme Secret Works"): 10,
    }
    assert b"Globex Internal" not in response.content


def test_the_consumer_sees_only_its_own_applications_usage(cast, market, client_for):
    globex = client_for(cast.outsider)
    response = get(globex, f"/o/globex/usage/applications/{market['shop'].pk}/")
    assert response.status_code == 200
    assert [(api.name, p.calls) for api, p in response.context["per_api"]] == [("Ledger", 20)]
    assert response.context["total"].calls == 20
    assert b"Acme Checkout" not in response.content
    # Its overview lists its own applications, whoever's APIs they call.
    response = get(globex, "/o/globex/usage/")
    own = {name: p.calls for _, name, _, p in response.context["applications"]}
    assert own == {"Globex Internal": 4000, "Globex Shop": 20}
    # As Maps' provider it sees Acme's application by name, team and organisation.
    response = get(globex, "/o/globex/usage/apis/maps/")
    consumers = {c.name: (c.organisation, p.calls) for c, p in response.context["top_applications"]}
    assert consumers == {
        "Globex Internal": ("Globex", 4000),
        "Acme Checkout": ("Acme Secret Works", 300),
    }


def test_acme_overview_and_its_application(cast, market, client_for):
    acme = client_for(cast.member)
    response = get(acme, "/o/acme/usage/")
    # A member outside the team does not see the team-only Vault, nor its calls.
    assert [(api.name, p.calls) for api, p in response.context["top_apis"]] == [("Ledger", 30)]
    assert response.context["total"].calls == 30
    own = {name: p.calls for _, name, _, p in response.context["applications"]}
    assert own == {"Acme Checkout": 317}
    response = get(acme, f"/o/acme/usage/applications/{market['checkout'].pk}/")
    per_api = {api.name: p.calls for api, p in response.context["per_api"]}
    assert per_api == {"Maps": 300, "Ledger": 10, "Vault": 7}
    maintainer = get(client_for(cast.maintainer), "/o/acme/usage/")
    assert maintainer.context["total"].calls == 37


@pytest.mark.parametrize(
    ("who", "path"),
    [
        ("owner", "/o/acme/usage/apis/maps/"),  # another organisation's API
        ("owner", "/o/acme/usage/apis/missing/"),
        ("member", "/o/acme/usage/apis/vault/"),  # team only
        ("owner", "/o/acme/usage/applications/{shop}/"),  # another organisation's app
        ("outsider", "/o/acme/usage/"),
        ("outsider", "/o/acme/usage/apis/ledger/"),
        ("outsider", "/o/acme/usage/applications/{checkout}/"),
        ("outsider", "/o/acme/usage/ai/"),
        ("outsider", "/o/acme/usage/lambda/"),
        ("outsider", "/o/globex/usage/applications/{checkout}/"),
    ],
)
def test_not_yours_is_404(cast, market, client_for, who, path):
    path = path.format(shop=market["shop"].pk, checkout=market["checkout"].pk)
    response = get(client_for(getattr(cast, who)), path)
    assert response.status_code == 404
    assert b"Acme Checkout" not in response.content
    assert b"Globex Shop" not in response.content


def test_the_team_sees_its_team_only_api(cast, market, client_for):
    response = get(client_for(cast.viewer), "/o/acme/usage/apis/vault/")
    assert response.status_code == 200
    assert response.context["total"].calls == 7


def test_consumer_rollups_are_the_organisations_applications_only(cast, market):
    rows = selectors.consumer_rollups(organisation=cast.other_org)
    assert {row.application_id for row in rows} == {market["shop"].pk, market["internal"].pk}
    assert sum(row.calls for row in rows) == 4020


def test_api_page_queries_do_not_grow_with_the_data(cast, client_for):
    ledger = make_api(cast.org, cast.team, name="Ledger", slug="ledger")
    client = client_for(cast.maintainer)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/o/acme/usage/apis/ledger/", {"range": "30d"})
        assert response.status_code == 200
        sql = [query["sql"] for query in captured.captured_queries]
        # The series; applications and versions together; routes and status codes together.
        assert sum('FROM "analytics_' in statement for statement in sql) == 3
        return len(sql)

    def add(count: int, start: int) -> None:
        for n in range(start, start + count):
            app = make_application(cast.other_team, f"Shop {n}")
            version = make_version(ledger, f"2.{n}")
            for days in (0, 3, 9):
                rollup(
                    cast.org,
                    HOUR - datetime.timedelta(days=days),
                    api=ledger,
                    version=version,
                    app=app,
                    calls=n + 1,
                )

    add(2, 0)
    queries()  # the first visit also stores the organisation in the session
    few = queries()
    add(12, 2)
    many = queries()
    assert many == few


def test_htmx_gets_the_body_alone(cast, market, client_for):
    response = get(
        client_for(cast.member),
        "/o/acme/usage/apis/ledger/",
        tz="Europe/London",
        headers={"HX-Request": "true", "HX-Target": "usage-body"},
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<div id="usage-body"')
    assert "<html" not in body
    assert 'id="usage-charts" type="application/json"' in body
    assert "Europe/London" in body


def test_the_range_and_zone_come_from_the_query(cast, market, client_for):
    client = client_for(cast.member)
    response = client.get(
        "/o/acme/usage/apis/ledger/",
        {"range": "custom", "from": "2026-06-01", "to": "2026-06-10", "tz": "America/New_York"},
    )
    window = response.context["window"]
    assert (window.step, len(window.buckets()), window.tz.key) == ("day", 10, "America/New_York")
    assert response.context["total"].calls == 30
    assert response.context["query"] == {
        "range": "custom",
        "tz": "America/New_York",
        "from": "2026-06-01",
        "to": "2026-06-10",
    }


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"tz": "Mars/Olympus_Mons"}, "is not a time zone"),
        ({"tz": "../../etc/passwd"}, "is not a time zone"),
        ({"range": "custom", "from": "2026-06-10", "to": "2026-06-01"}, "comes before"),
        ({"range": "custom", "from": "2026-06-10"}, "needs both"),
        ({"range": "custom", "from": "2024-01-01", "to": "2026-06-01"}, "the longest range"),
        ({"range": "forever"}, "Select a valid choice"),
    ],
)
def test_a_bad_range_is_refused_with_the_default_shown(cast, market, client_for, params, message):
    response = client_for(cast.member).get("/o/acme/usage/apis/ledger/", params)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert response.context["window"].key == "7d"
    assert response.context["total"].calls == 30


def test_quota_use_in_the_current_period(cast, client_for):
    ledger = make_api(cast.org, cast.team, name="Ledger", slug="ledger")
    maps = make_api(cast.other_org, cast.other_team, name="Maps", slug="maps")
    free = make_api(cast.other_org, cast.other_team, name="Free", slug="free")
    app = make_application(cast.team, "Acme Checkout")
    subscribe(app, ledger, quota=100, period="day")
    subscribe(app, maps, quota=1000, period="month")
    subscribe(app, free)
    other = make_application(cast.team, "Acme Other")
    rollup(cast.org, HOUR, api=ledger, app=app, calls=85)
    rollup(cast.org, HOUR - datetime.timedelta(days=1), api=ledger, app=app, calls=50)
    rollup(cast.org, HOUR, api=ledger, app=other, calls=999)  # another application
    rollup(cast.other_org, HOUR - datetime.timedelta(days=8), api=maps, app=app, calls=600)
    rollup(
        cast.other_org,
        datetime.datetime(2026, 5, 31, 23, tzinfo=datetime.UTC),
        api=maps,
        app=app,
        calls=900,
    )
    response = client_for(cast.member).get(f"/o/acme/usage/applications/{app.pk}/")
    quotas = {
        q.subscription.api.name: (q.used, q.limit, q.level) for q in response.context["quotas"]
    }
    assert quotas == {
        "Ledger": (85, 100, "warning"),
        "Maps": (600, 1000, "ok"),
        "Free": (0, None, "ok"),
    }
    assert b'<meter class="usage-meter" min="0" max="100"' in response.content
    assert b"nearing quota" in response.content


def deprecate(version):
    version.state = ApiVersion.State.DEPRECATED
    version.sunset_at = datetime.date(2026, 9, 1)
    version.save()


@pytest.fixture
def old_version(cast):
    ledger = make_api(cast.org, cast.team, name="Ledger", slug="ledger", visibility="public")
    old = ledger.current_version
    deprecate(old)
    shop = make_application(cast.other_team, "Globex Shop")
    checkout = make_application(cast.team, "Acme Checkout")
    gone = make_application(cast.other_team, "Globex Gone")
    rollup(cast.org, HOUR - datetime.timedelta(days=2), api=ledger, version=old, app=shop, calls=40)
    rollup(cast.org, HOUR - datetime.timedelta(days=5), api=ledger, version=old, app=shop, calls=2)
    rollup(
        cast.org, HOUR - datetime.timedelta(days=1), api=ledger, version=old, app=checkout, calls=3
    )
    rollup(
        cast.org, HOUR - datetime.timedelta(days=45), api=ledger, version=old, app=gone, calls=99
    )
    new = make_version(ledger, "2.0.0")
    rollup(cast.org, HOUR, api=ledger, version=new, app=gone, calls=5)
    return old


def version_page(client, version):
    return client.get(version.get_absolute_url())


def test_owners_see_who_still_calls_a_deprecated_version(cast, old_version, client_for):
    response = version_page(client_for(cast.maintainer), old_version)
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="who-still-calls"' in body
    section = body[body.index('data-testid="who-still-calls"') :]
    assert section.index("Globex Shop") < section.index("Acme Checkout")
    assert "42" in section
    assert (HOUR - datetime.timedelta(days=2)).strftime("%Y-%m-%d %H:00") in section
    assert "Globex Gone" not in section  # only the last 30 days, only this version
    admin = version_page(client_for(cast.admin), old_version)
    assert b'data-testid="who-still-calls"' in admin.content


@pytest.mark.parametrize("who", ["member", "outsider"])
def test_others_do_not_see_who_still_calls(cast, old_version, client_for, who):
    response = version_page(client_for(getattr(cast, who)), old_version)
    assert response.status_code == 200
    assert b"who-still-calls" not in response.content
    assert b"Globex Shop" not in response.content


def test_who_still_calls_is_only_for_deprecated_versions(cast, old_version, client_for):
    old_version.state = ApiVersion.State.PUBLISHED
    old_version.save()
    response = version_page(client_for(cast.maintainer), old_version)
    assert b"who-still-calls" not in response.content
    assert (
        selectors.version_caller_list(user=cast.maintainer, version=old_version, since=HOUR) is None
    )


def test_who_still_calls_reads_rollups_by_version(cast, old_version, settings):
    settings.USAGE_WHO_STILL_CALLS_DAYS = 3
    from analytics.views import who_still_calls_since

    callers = selectors.version_caller_list(
        user=cast.maintainer, version=old_version, since=who_still_calls_since(NOW)
    )
    assert [(c.consumer.name, c.calls) for c in callers] == [
        ("Globex Shop", 40),
        ("Acme Checkout", 3),
    ]
    assert UsageRollup.objects.filter(api_version_id=old_version.pk).count() == 4


def test_lambda_page_shows_the_right_sizing_hint(cast, client_for):
    insert_invocations(
        [
            (
                NOW - datetime.timedelta(minutes=n),
                1,
                f"r{n}",
                cast.org.pk,
                "orders",
                "",
                9.0,
                10.0,
                1024,
                420,
                None,
            )
            for n in range(30)
        ]
        + [(NOW, 1, "g1", cast.other_org.pk, "globex-secret-fn", "", 9.0, 10.0, 128, 100, None)]
    )
    response = client_for(cast.member).get("/o/acme/usage/lambda/", {"range": "24h"})
    assert response.status_code == 200
    assert b"Uses at most 41 % of 1024 MB: try 512 MB." in response.content
    assert b"globex-secret-fn" not in response.content
    (chart,) = response.context["charts"]
    assert sum(chart.series[0].values) == 30
