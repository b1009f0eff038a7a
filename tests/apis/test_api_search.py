"""/api/v1/search/: APIs you can see, each with the operations that match."""

from apis.models import Api
from apis.services.catalogue import api_create, version_create
from apis.services.lifecycle import version_transition
from tenants.actors import Actor

from .conftest import make_spec

SEARCH = "/api/v1/search/"


def _ops(item) -> list[tuple[str, str]]:
    return [(o["method"], o["path"]) for o in item["operations"]]


def test_search_returns_apis_with_their_matching_operations(published, cast, api_for):
    body = api_for(cast.member).get(SEARCH, {"q": "refunds"}).json()
    assert body["count"] == 1
    (item,) = body["results"]
    assert (item["organisation"], item["slug"]) == ("acme", "payments")
    assert _ops(item) == [("post", "/payments/{id}/refunds")]
    assert item["operations"][0]["summary"] == "Refund a payment"


def test_search_matches_any_word_in_paths_summaries_and_operation_ids(api, cast, api_for):
    raw = make_spec(
        {
            "/r": {
                "post": {"operationId": "issueRefund", "responses": {"200": {"description": "ok"}}}
            },
            "/charges": {
                "get": {"summary": "Charges to refund", "responses": {"200": {"description": "ok"}}}
            },
            "/health": {"get": {"responses": {"200": {"description": "ok"}}}},
        }
    )
    version = version_create(api=api, raw=raw, actor=Actor.for_user(cast.maintainer))
    version_transition(version=version, to_state="published", actor=Actor.system())
    (item,) = api_for(cast.member).get(SEARCH, {"q": "issue"}).json()["results"]
    assert _ops(item) == [("post", "/r")]
    (item,) = api_for(cast.member).get(SEARCH, {"q": "refund"}).json()["results"]
    assert _ops(item) == [("get", "/charges"), ("post", "/r")]


def test_search_caps_operations_at_five_per_api(api, cast, api_for):
    paths = {
        f"/widgets/{n}": {"get": {"responses": {"200": {"description": "ok"}}}} for n in range(8)
    }
    version = version_create(api=api, raw=make_spec(paths), actor=Actor.for_user(cast.maintainer))
    version_transition(version=version, to_state="published", actor=Actor.system())
    (item,) = api_for(cast.member).get(SEARCH, {"q": "widgets"}).json()["results"]
    assert _ops(item) == [("get", f"/widgets/{n}") for n in range(5)]


def test_search_shows_nothing_of_apis_the_caller_cannot_see(published, cast, api_for):
    assert api_for(cast.outsider).get(SEARCH, {"q": "refunds"}).json()["results"] == []


def test_search_of_a_public_api_from_another_organisation(published, cast, api_for):
    Api.objects.filter(pk=published.api_id).update(visibility=Api.Visibility.PUBLIC)
    (item,) = api_for(cast.outsider).get(SEARCH, {"q": "refunds"}).json()["results"]
    assert _ops(item) == [("post", "/payments/{id}/refunds")]


def test_owners_find_a_draft_only_api_with_its_operations(draft, cast, api_for):
    assert api_for(cast.member).get(SEARCH, {"q": "refunds"}).json()["results"] == []
    (item,) = api_for(cast.viewer).get(SEARCH, {"q": "refunds"}).json()["results"]
    assert _ops(item) == [("post", "/payments/{id}/refunds")]


def test_an_api_matching_by_name_only_comes_with_no_operations(cast, api_for):
    api = api_create(
        organisation=cast.org,
        team=cast.team,
        name="Ledger",
        slug="ledger",
        actor=Actor.system(),
    )
    version = version_create(api=api, raw=make_spec(title="Ledger"), actor=Actor.system())
    version_transition(version=version, to_state="published", actor=Actor.system())
    (item,) = api_for(cast.member).get(SEARCH, {"q": "ledger"}).json()["results"]
    assert item["slug"] == "ledger"
    assert item["operations"] == []


def test_search_needs_words(cast, api_for, api_error):
    for params in ({}, {"q": "  "}, {"q": "!!"}):
        error = api_error(api_for(cast.member).get(SEARCH, params), 400, "invalid")
        assert list(error["fields"]) == ["q"]
