"""The catalogue's HTML pages: the list's filters and pages (full page and htmx partial),
search ranking, the lifecycle history, the compare page and the spec that try-it reads."""

import datetime
import json
import re

import pytest
from django.urls import reverse

from apis.models import Api
from apis.services.catalogue import api_create, version_create
from apis.services.lifecycle import version_transition
from tenants.actors import Actor
from tests.factories import OrganisationFactory, TeamFactory, member_of

from .conftest import make_spec

CATALOGUE = reverse("apis:catalogue")
PARTIAL = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "catalogue-results"}


def _op(summary: str) -> dict:
    return {"get": {"summary": summary, "responses": {"200": {"description": "ok"}}}}


def _add(cast, *, name, slug, team=None, paths=None, state="published", **fields) -> Api:
    """An API of Acme with one version in ``state`` (draft: never moved)."""
    actor = Actor.for_user(cast.owner)
    fields.setdefault("visibility", Api.Visibility.ORGANISATION)
    api = api_create(
        organisation=cast.org, team=team or cast.team, name=name, slug=slug, actor=actor, **fields
    )
    version = version_create(api=api, raw=make_spec(paths, title=name), actor=actor)
    if state in ("published", "deprecated"):
        version_transition(version=version, to_state="published", actor=actor)
    if state == "deprecated":
        version_transition(
            version=version,
            to_state="deprecated",
            actor=actor,
            reason="Use the next one.",
            sunset_at=datetime.date(2030, 1, 1),
        )
    if state == "prototype":
        version_transition(version=version, to_state="prototype", actor=actor)
    return api


def _names(html: str) -> list[str]:
    """The API names the results list, in order."""
    return re.findall(r'class="api-card__name" href="[^"]*">([^<]+)</a>', html)


@pytest.fixture
def shelf(cast):
    """Four Acme APIs differing in team, tags, kind, state and visibility."""
    platform = TeamFactory(organisation=cast.org, name="Platform Crew", slug="platform")
    return {
        "payments": _add(cast, name="Payments API", slug="payments", tags=["payments", "cards"]),
        "ledger": _add(
            cast,
            name="Ledger API",
            slug="ledger",
            team=platform,
            tags=["finance"],
            kind=Api.Kind.HTTP,
            visibility=Api.Visibility.PUBLIC,
            state="deprecated",
        ),
        "assistant": _add(
            cast,
            name="Assistant Model",
            slug="assistant",
            team=platform,
            tags=["finance", "ai"],
            kind=Api.Kind.AI,
            visibility=Api.Visibility.TEAM,
            state="prototype",
        ),
        "drafts": _add(cast, name="Drafted API", slug="drafted", state="draft"),
    }


EVERYTHING = ["Assistant Model", "Drafted API", "Ledger API", "Payments API"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, EVERYTHING),
        ({"team": "acme/platform"}, ["Assistant Model", "Ledger API"]),
        ({"team": "acme/payments"}, ["Drafted API", "Payments API"]),
        ({"tag": "finance"}, ["Assistant Model", "Ledger API"]),
        ({"tag": "cards"}, ["Payments API"]),
        ({"kind": "http"}, ["Ledger API"]),
        ({"kind": "rest"}, ["Drafted API", "Payments API"]),
        ({"state": "deprecated"}, ["Ledger API"]),
        ({"state": "draft"}, ["Drafted API"]),
        ({"state": "prototype"}, ["Assistant Model"]),
        ({"visibility": "public"}, ["Ledger API"]),
        ({"visibility": "team"}, ["Assistant Model"]),
        ({"tag": "finance", "kind": "ai", "team": "acme/platform"}, ["Assistant Model"]),
        ({"tag": "cards", "state": "deprecated"}, []),
    ],
)
def test_filters_in_the_page_and_in_the_partial(shelf, cast, client_for, params, expected):
    client = client_for(cast.owner)  # an owner sees every API of Acme, drafts included
    page = client.get(CATALOGUE, params)
    assert page.status_code == 200
    assert _names(page.content.decode()) == expected

    partial = client.get(CATALOGUE, params, **PARTIAL)
    assert partial.status_code == 200
    body = partial.content.decode()
    assert "<html" not in body
    assert 'id="catalogue-results"' in body
    assert _names(body) == expected
    count = len(expected)
    assert f"{count} API{'' if count == 1 else 's'}" in body


def test_the_page_keeps_the_chosen_filters_selected(shelf, cast, client_for):
    body = (
        client_for(cast.owner)
        .get(
            CATALOGUE,
            {
                "team": "acme/platform",
                "tag": "finance",
                "kind": "ai",
                "state": "prototype",
                "visibility": "team",
            },
        )
        .content.decode()
    )
    assert '<option value="acme/platform" selected>' in body
    assert '<option value="finance" selected>' in body
    assert '<option value="ai" selected>' in body
    assert '<option value="prototype" selected>' in body
    assert '<option value="team" selected>' in body


def test_team_filter_names_one_organisations_team(shelf, cast, client_for):
    """Team slugs repeat across organisations: Acme's "payments" is not Globex's."""
    globex = OrganisationFactory(name="Globex Corp", slug="globex-corp")
    globex_payments = TeamFactory(organisation=globex, name="Globex Payments", slug="payments")
    globex_owner = member_of(globex, role="owner", email="owner@globex-corp.test")
    api_create(
        organisation=globex,
        team=globex_payments,
        name="Globex Payments API",
        slug="globex-payments",
        visibility=Api.Visibility.PUBLIC,
        actor=Actor.for_user(globex_owner),
    )
    api = Api.objects.get(slug="globex-payments")
    version = version_create(api=api, raw=make_spec(), actor=Actor.for_user(globex_owner))
    version_transition(version=version, to_state="published", actor=Actor.for_user(globex_owner))

    client = client_for(cast.owner)
    assert _names(client.get(CATALOGUE, {"team": "acme/payments"}).content.decode()) == [
        "Drafted API",
        "Payments API",
    ]
    assert _names(client.get(CATALOGUE, {"team": "globex-corp/payments"}).content.decode()) == [
        "Globex Payments API"
    ]


def test_filters_show_a_member_only_what_the_audience_may_see(shelf, cast, client_for):
    client = client_for(cast.member)  # in Acme, in no team
    assert _names(client.get(CATALOGUE).content.decode()) == ["Ledger API", "Payments API"]
    assert _names(client.get(CATALOGUE, {"state": "draft"}).content.decode()) == []
    assert _names(client.get(CATALOGUE, {"visibility": "team"}).content.decode()) == []
    assert _names(client.get(CATALOGUE, {"tag": "finance"}, **PARTIAL).content.decode()) == [
        "Ledger API"
    ]


def test_the_tag_filter_offers_the_tags_of_apis_the_viewer_may_see(shelf, cast, client_for):
    # "ai" is on the team-only Assistant Model alone; "cards" on the organisation's
    # Payments API; "finance" on the public Ledger API too.
    member = client_for(cast.member)  # in Acme, in no team
    assert member.get(CATALOGUE).context["tags"] == ["cards", "finance", "payments"]
    outsider = member_of(OrganisationFactory(slug="initech"), email="peter@initech.test")
    assert client_for(outsider).get(CATALOGUE).context["tags"] == ["finance"]
    assert client_for(cast.owner).get(CATALOGUE).context["tags"] == [
        "ai",
        "cards",
        "finance",
        "payments",
    ]


def test_pages_in_the_page_and_in_the_partial(shelf, cast, client_for):
    client = client_for(cast.owner)
    first = client.get(CATALOGUE, {"page_size": 3}).content.decode()
    assert _names(first) == EVERYTHING[:3]
    assert "Page 1 of 2" in first
    assert "Previous</a>" not in first
    assert 'href="?page_size=3&amp;page=2">Next</a>' in first

    second = client.get(CATALOGUE, {"page_size": 3, "page": 2}, **PARTIAL).content.decode()
    assert _names(second) == EVERYTHING[3:]
    assert "Page 2 of 2" in second
    assert 'href="?page_size=3&amp;page=1">Previous</a>' in second
    assert "Next</a>" not in second

    # The pager keeps the filters; past the last page is the last page.
    filtered = client.get(
        CATALOGUE, {"kind": "rest", "page_size": 1, "page": 9}, **PARTIAL
    ).content.decode()
    assert _names(filtered) == ["Payments API"]
    assert "Page 2 of 2" in filtered
    assert 'href="?kind=rest&amp;page_size=1&amp;page=1">Previous</a>' in filtered

    # One page: no pager.
    assert "Page 1 of" not in client.get(CATALOGUE).content.decode()


def test_search_ranks_a_name_above_a_summary_above_an_operation(cast, client_for):
    # Alphabetical order is the reverse of the ranking, so ranking alone decides.
    _add(cast, name="Alpha Billing", slug="alpha", paths={"/invoices/refunds": _op("Refund")})
    _add(
        cast,
        name="Beta Billing",
        slug="beta",
        summary="Card refunds and chargebacks.",
        paths={"/invoices": _op("List invoices")},
    )
    _add(cast, name="Zulu Refunds", slug="zulu", paths={"/invoices": _op("List invoices")})
    _add(cast, name="Other", slug="other", paths={"/invoices": _op("List invoices")})

    client = client_for(cast.member)
    expected = ["Zulu Refunds", "Beta Billing", "Alpha Billing"]
    assert _names(client.get(CATALOGUE, {"q": "refunds"}).content.decode()) == expected
    assert _names(client.get(CATALOGUE, {"q": "refu"}, **PARTIAL).content.decode()) == expected
    # Equal ranks fall back to the name.
    assert _names(client.get(CATALOGUE, {"q": "invoices"}).content.decode()) == [
        "Alpha Billing",
        "Beta Billing",
        "Other",
        "Zulu Refunds",
    ]


def test_search_combines_with_filters(shelf, cast, client_for):
    client = client_for(cast.owner)
    assert _names(client.get(CATALOGUE, {"q": "refunds"}).content.decode()) == EVERYTHING
    assert _names(client.get(CATALOGUE, {"q": "refunds", "tag": "finance"}).content.decode()) == [
        "Assistant Model",
        "Ledger API",
    ]


def test_api_page_shows_the_lifecycle_history_with_reasons_and_actors(published, cast, client_for):
    version_transition(
        version=published,
        to_state="blocked",
        actor=Actor.for_user(cast.owner),
        reason="Leaks card numbers in errors.",
    )
    version_transition(
        version=published, to_state="published", actor=Actor.for_user(cast.maintainer)
    )

    body = (
        client_for(cast.developer)
        .get(reverse("apis:api", kwargs={"owner": "acme", "api": "payments"}))
        .content.decode()
    )
    history = body[body.index("<h2>History</h2>") :]
    items = re.findall(r"<li>(.*?)</li>", history, re.S)
    assert len(items) == 3
    newest, blocked, first = items
    assert "badge--published" in newest
    assert "by maintainer@acme.test" in newest
    assert "badge--blocked" in blocked
    assert "by owner@acme.test" in blocked
    assert "Leaks card numbers in errors." in blocked
    assert "badge--published" in first
    assert "by maintainer@acme.test" in first


def test_a_version_never_moved_says_so(draft, cast, client_for):
    body = (
        client_for(cast.maintainer)
        .get(
            reverse("apis:version", kwargs={"owner": "acme", "api": "payments", "version": "1.0.0"})
        )
        .content.decode()
    )
    assert "no changes of state yet" in body


def test_compare_page_shows_breaking_changes_and_additions(published, cast, client_for):
    paths = json.loads(make_spec())["paths"]
    del paths["/payments"]["post"]  # createPayment removed: breaking
    paths["/payments/search"] = _op("Search payments")  # a new path: an addition
    paths["/payments"]["delete"] = {"responses": {"204": {"description": "gone"}}}  # added
    version_create(
        api=published.api,
        raw=make_spec(paths, version="2.0.0"),
        actor=Actor.for_user(cast.maintainer),
    )
    url = reverse("apis:compare", kwargs={"owner": "acme", "api": "payments"})
    body = client_for(cast.maintainer).get(url, {"from": "1.0.0", "to": "2.0.0"}).content.decode()
    breaking, additions = re.findall(r'<ul class="changes">(.*?)</ul>', body, re.S)
    assert "1 breaking change<" in body
    assert "<code>POST /payments</code> — operation removed" in breaking
    assert "2 additions" in body
    assert "<code>/payments/search</code> — new path" in additions
    assert "<code>DELETE /payments</code> — new operation" in additions
    assert "POST /payments" not in additions

    # The other way round the removed operation is an addition and the additions break.
    back = client_for(cast.maintainer).get(url, {"from": "2.0.0", "to": "1.0.0"}).content.decode()
    assert "2 breaking changes" in back
    assert "<code>/payments/search</code> — path removed" in back
    assert "<code>POST /payments</code> — new operation" in back

    same = client_for(cast.maintainer).get(url, {"from": "1.0.0", "to": "1.0.0"}).content.decode()
    assert "Choose two different versions." in same


def test_compare_page_hides_versions_the_viewer_may_not_see(published, cast, client_for):
    version_create(
        api=published.api, raw=make_spec({}, version="2.0.0"), actor=Actor.for_user(cast.maintainer)
    )
    url = reverse("apis:compare", kwargs={"owner": "acme", "api": "payments"})
    body = client_for(cast.member).get(url, {"from": "1.0.0", "to": "2.0.0"}).content.decode()
    assert "2.0.0" not in body
    assert "breaking change" not in body


def _spec(client, version: str) -> dict:
    url = reverse("apis:spec", kwargs={"owner": "acme", "api": "payments", "version": version})
    response = client.get(url)
    assert response.status_code == 200
    return response.json()


def test_try_it_uses_the_version_base_url_for_openapi_3(api, cast, client_for):
    actor = Actor.for_user(cast.maintainer)
    version_create(api=api, raw=make_spec(), actor=actor)
    version_create(
        api=api,
        raw=make_spec(version="2.0.0"),
        base_url="https://gateway.acme.test/prod/payments",
        actor=actor,
    )
    client = client_for(cast.maintainer)
    assert _spec(client, "1.0.0")["servers"] == [{"url": "https://api.acme.test/v1"}]
    moved = _spec(client, "2.0.0")
    assert moved["servers"] == [{"url": "https://gateway.acme.test/prod/payments"}]
    assert moved["openapi"] == "3.0.3"
    assert set(moved["paths"]) == {"/payments", "/payments/{id}/refunds"}


SWAGGER = {
    "swagger": "2.0",
    "info": {"title": "Payments", "version": "1.0.0"},
    "host": "legacy.acme.test",
    "basePath": "/v1",
    "schemes": ["https"],
    "paths": {
        "/payments": {
            "get": {"operationId": "listPayments", "responses": {"200": {"description": "ok"}}}
        }
    },
}


def test_try_it_uses_the_version_base_url_for_swagger_2(api, cast, client_for):
    actor = Actor.for_user(cast.maintainer)
    raw = json.dumps(SWAGGER).encode()
    version_create(api=api, raw=raw, actor=actor)
    version_create(
        api=api,
        raw=raw,
        version="1.1.0",
        base_url="http://staging.acme.test:8080/gw/payments",
        actor=actor,
    )
    version_create(
        api=api, raw=raw, version="1.2.0", base_url="https://edge.acme.test", actor=actor
    )

    client = client_for(cast.maintainer)
    kept = _spec(client, "1.0.0")
    assert (kept["host"], kept["basePath"], kept["schemes"]) == (
        "legacy.acme.test",
        "/v1",
        ["https"],
    )
    assert "servers" not in kept

    staging = _spec(client, "1.1.0")
    assert staging["host"] == "staging.acme.test:8080"
    assert staging["basePath"] == "/gw/payments"
    assert staging["schemes"] == ["http"]
    assert staging["swagger"] == "2.0"
    assert "servers" not in staging
    assert set(staging["paths"]) == {"/payments"}

    edge = _spec(client, "1.2.0")
    assert (edge["host"], edge["basePath"], edge["schemes"]) == ("edge.acme.test", "/", ["https"])


def test_spec_of_an_invisible_version_is_not_found(draft, cast, client_for):
    url = reverse("apis:spec", kwargs={"owner": "acme", "api": "payments", "version": "1.0.0"})
    assert client_for(cast.member).get(url).status_code == 404
    assert client_for(cast.outsider).get(url).status_code == 404
