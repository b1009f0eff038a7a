"""/api/v1/apis/: list and search, create; /api/v1/apis/<owner>/<api>/: read and change."""

import pytest

from apis.models import Api
from apis.services.catalogue import api_create, version_create
from apis.services.lifecycle import version_transition
from tenants.actors import Actor
from tests.factories import TeamFactory

from .conftest import make_spec

LIST = "/api/v1/apis/"
PAYMENTS = "/api/v1/apis/acme/payments/"


def _published_api(cast, *, slug, visibility, team=None, title="Ledger"):
    api = api_create(
        organisation=cast.org,
        team=team or cast.team,
        name=title,
        slug=slug,
        visibility=visibility,
        tags=["finance"],
        actor=Actor.system(),
    )
    version = version_create(api=api, raw=make_spec(title=title), actor=Actor.system())
    version_transition(version=version, to_state="published", actor=Actor.system())
    return api


# --- List and search ------------------------------------------------------------


def test_list_shows_visible_apis_with_their_fields(published, cast, api_for):
    body = api_for(cast.member).get(LIST).json()
    assert body["count"] == 1
    (item,) = body["results"]
    assert item == {
        "organisation": "acme",
        "team": "payments",
        "slug": "payments",
        "name": "Payments API",
        "summary": "Take and refund card payments.",
        "tags": ["cards", "payments"],
        "visibility": "organisation",
        "kind": "rest",
        "current_version": {"version": "1.0.0", "state": "published"},
        "web_url": "http://127.0.0.1:8000/catalogue/acme/payments/",
        "created_at": item["created_at"],
        "updated_at": item["updated_at"],
    }


def test_list_hides_a_draft_only_api_from_non_owners_but_shows_it_to_the_team(draft, cast, api_for):
    assert api_for(cast.member).get(LIST).json()["count"] == 0
    body = api_for(cast.viewer).get(LIST).json()
    assert [a["current_version"] for a in body["results"]] == [
        {"version": "1.0.0", "state": "draft"}
    ]


def test_list_never_shows_another_organisations_organisation_api(published, cast, api_for):
    assert api_for(cast.outsider).get(LIST).json()["results"] == []


def test_list_shows_a_public_api_to_another_organisation(cast, api_for):
    _published_api(cast, slug="ledger", visibility=Api.Visibility.PUBLIC)
    body = api_for(cast.outsider).get(LIST).json()
    assert [(a["organisation"], a["slug"]) for a in body["results"]] == [("acme", "ledger")]


def test_list_searches_by_text(published, cast, api_for):
    _published_api(cast, slug="ledger", visibility=Api.Visibility.ORGANISATION)
    client = api_for(cast.member)
    assert [a["slug"] for a in client.get(LIST, {"q": "card"}).json()["results"]] == ["payments"]
    assert [a["slug"] for a in client.get(LIST, {"q": "finance"}).json()["results"]] == ["ledger"]
    assert client.get(LIST, {"q": "nothing-like-this"}).json()["results"] == []


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["ledger", "payments", "shared"]),
        ({"tag": "finance"}, ["ledger", "shared"]),
        ({"team": "payments"}, ["ledger", "payments"]),
        ({"visibility": "public"}, ["shared"]),
        ({"kind": "rest"}, ["ledger", "payments", "shared"]),
        ({"kind": "ai"}, []),
        ({"state": "published"}, ["ledger", "payments", "shared"]),
        ({"state": "draft"}, []),
        ({"organisation": "acme"}, ["ledger", "payments", "shared"]),
        ({"organisation": "globex"}, []),
    ],
)
def test_list_filters(published, cast, api_for, params, expected):
    _published_api(cast, slug="ledger", visibility=Api.Visibility.ORGANISATION)
    other_team = TeamFactory(organisation=cast.org, slug="platform")
    _published_api(
        cast, slug="shared", visibility=Api.Visibility.PUBLIC, team=other_team, title="Shared"
    )
    body = api_for(cast.admin).get(LIST, params).json()
    assert sorted(a["slug"] for a in body["results"]) == expected


def test_list_refuses_an_unknown_filter_value(cast, api_for, api_error):
    error = api_error(api_for(cast.member).get(LIST, {"kind": "soap"}), 400, "invalid")
    assert list(error["fields"]) == ["kind"]


def test_list_is_paginated(cast, api_for):
    for n in range(3):
        _published_api(cast, slug=f"api-{n}", visibility=Api.Visibility.ORGANISATION)
    body = api_for(cast.member).get(LIST, {"page_size": 2}).json()
    assert body["count"] == 3
    assert len(body["results"]) == 2
    assert body["next"]


def test_anonymous_callers_get_401(cast, api_error):
    from rest_framework.test import APIClient

    api_error(APIClient().get(LIST), 401, "not_authenticated")


def test_a_token_limited_to_another_organisation_sees_no_acme_api(
    cast, api_for, make_token, bearer
):
    _published_api(cast, slug="ledger", visibility=Api.Visibility.PUBLIC)
    _, plaintext = make_token(cast.outsider, scope="read", organisation=cast.other_org)
    assert bearer(plaintext).get(LIST).json()["results"] == []
    assert bearer(plaintext).get("/api/v1/apis/acme/ledger/").status_code == 404
    _, unlimited = make_token(cast.outsider, scope="read")
    assert [a["slug"] for a in bearer(unlimited).get(LIST).json()["results"]] == ["ledger"]


# --- Create ---------------------------------------------------------------------


def _create_payload(**overrides):
    payload = {
        "organisation": "acme",
        "team": "payments",
        "name": "Ledger",
        "slug": "ledger",
        "summary": "Double-entry bookkeeping.",
        "tags": ["Finance", "ledger"],
        "visibility": "public",
        "kind": "http",
    }
    payload.update(overrides)
    return payload


def test_maintainer_creates_an_api(cast, api_for, new_audit_events):
    since = new_audit_events()
    response = api_for(cast.maintainer).post(LIST, _create_payload(), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["slug"] == "ledger"
    assert body["tags"] == ["finance", "ledger"]
    assert (body["visibility"], body["kind"], body["current_version"]) == ("public", "http", None)
    api = Api.objects.get(slug="ledger")
    assert (api.organisation, api.team) == (cast.org, cast.team)
    events = since()
    assert [(e.action, e.actor_user) for e in events] == [("api.created", cast.maintainer)]


def test_org_admin_creates_an_api_for_any_team(cast, api_for):
    response = api_for(cast.admin).post(LIST, _create_payload(), format="json")
    assert response.status_code == 201


@pytest.mark.parametrize("who", ["developer", "viewer", "member"])
def test_non_maintainers_cannot_create(cast, api_for, api_error, who):
    api_error(
        api_for(getattr(cast, who)).post(LIST, _create_payload(), format="json"),
        403,
        "permission_denied",
    )
    assert not Api.objects.exists()


def test_cannot_create_in_an_organisation_you_do_not_belong_to(cast, api_for, api_error):
    # The outsider maintains a team called globex-team; naming acme must not reach it.
    response = api_for(cast.outsider).post(
        LIST, _create_payload(organisation="acme", team="payments"), format="json"
    )
    error = api_error(response, 400, "invalid")
    assert list(error["fields"]) == ["organisation"]
    assert not Api.objects.exists()


def test_cannot_name_a_team_of_another_organisation(cast, api_for, api_error):
    response = api_for(cast.outsider).post(
        LIST, _create_payload(organisation="globex", team="payments"), format="json"
    )
    assert list(api_error(response, 400, "invalid")["fields"]) == ["team"]
    assert not Api.objects.exists()


def test_a_token_limited_to_one_organisation_cannot_create_in_another(
    cast, make_token, bearer, api_error
):
    from tenants.models import Membership

    Membership.objects.create(organisation=cast.other_org, user=cast.admin, role="owner")
    _, plaintext = make_token(cast.admin, scope="write", organisation=cast.other_org)
    response = bearer(plaintext).post(LIST, _create_payload(), format="json")
    assert list(api_error(response, 400, "invalid")["fields"]) == ["organisation"]
    assert not Api.objects.exists()


def test_a_read_token_cannot_create(cast, make_token, bearer, api_error):
    _, plaintext = make_token(cast.maintainer, scope="read")
    api_error(bearer(plaintext).post(LIST, _create_payload(), format="json"), 403)
    assert not Api.objects.exists()


def test_create_ignores_fields_it_does_not_take(cast, api_for):
    response = api_for(cast.maintainer).post(
        LIST,
        _create_payload(
            current_version=1,
            state="published",
            created_by=cast.owner.pk,
            created_at="2001-01-01T00:00:00Z",
            search_text="injected",
        ),
        format="json",
    )
    assert response.status_code == 201
    api = Api.objects.get(slug="ledger")
    assert api.current_version is None
    assert api.created_at.year > 2001
    assert "injected" not in api.search_text


def test_create_with_a_taken_slug_is_400(api, cast, api_for, api_error):
    response = api_for(cast.maintainer).post(LIST, _create_payload(slug="payments"), format="json")
    assert list(api_error(response, 400, "invalid")["fields"]) == ["slug"]


def test_create_with_missing_fields_says_which(cast, api_for, api_error):
    error = api_error(api_for(cast.maintainer).post(LIST, {}, format="json"), 400, "invalid")
    assert set(error["fields"]) == {"organisation", "team", "name", "slug"}


# --- Retrieve and change ----------------------------------------------------------


def test_retrieve(published, cast, api_for):
    body = api_for(cast.member).get(PAYMENTS).json()
    assert (body["organisation"], body["slug"], body["name"]) == (
        "acme",
        "payments",
        "Payments API",
    )


def test_team_api_is_404_for_a_member_outside_the_team(published, cast, api_for, api_error):
    Api.objects.filter(pk=published.api_id).update(visibility=Api.Visibility.TEAM)
    api_error(api_for(cast.member).get(PAYMENTS), 404, "not_found")
    api_error(api_for(cast.outsider).get(PAYMENTS), 404, "not_found")
    assert api_for(cast.viewer).get(PAYMENTS).status_code == 200


def test_another_team_of_the_same_organisation_gets_404_for_a_team_api(
    published, cast, api_for, api_error
):
    from tests.factories import member_of

    Api.objects.filter(pk=published.api_id).update(visibility=Api.Visibility.TEAM)
    other_team = TeamFactory(organisation=cast.org, slug="platform")
    stranger = member_of(cast.org, team=other_team, team_role="maintainer")
    api_error(api_for(stranger).get(PAYMENTS), 404, "not_found")
    api_error(api_for(stranger).get(PAYMENTS + "versions/"), 404, "not_found")


def test_organisation_api_is_404_for_another_organisation(published, cast, api_for, api_error):
    api_error(api_for(cast.outsider).get(PAYMENTS), 404, "not_found")
    api_error(
        api_for(cast.outsider).patch(PAYMENTS, {"name": "Mine"}, format="json"), 404, "not_found"
    )


def test_maintainer_changes_an_api(published, cast, api_for, new_audit_events):
    since = new_audit_events()
    response = api_for(cast.maintainer).patch(
        PAYMENTS,
        {"name": "Payments", "summary": "New.", "tags": ["cards"], "visibility": "public"},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["name"], body["summary"], body["tags"], body["visibility"]) == (
        "Payments",
        "New.",
        ["cards"],
        "public",
    )
    assert [e.action for e in since()] == ["api.updated"]


def test_admin_hands_an_api_to_another_team(published, cast, api_for):
    TeamFactory(organisation=cast.org, slug="platform")
    response = api_for(cast.admin).patch(PAYMENTS, {"team": "platform"}, format="json")
    assert response.status_code == 200
    assert response.json()["team"] == "platform"


def test_patch_to_a_team_of_another_organisation_is_400(published, cast, api_for, api_error):
    response = api_for(cast.admin).patch(PAYMENTS, {"team": "globex-team"}, format="json")
    assert list(api_error(response, 400, "invalid")["fields"]) == ["team"]
    assert Api.objects.get(pk=published.api_id).team == cast.team


@pytest.mark.parametrize("who", ["developer", "viewer", "member"])
def test_callers_who_see_but_do_not_maintain_get_403_on_patch(
    published, cast, api_for, api_error, who
):
    response = api_for(getattr(cast, who)).patch(PAYMENTS, {"name": "Mine"}, format="json")
    api_error(response, 403, "permission_denied")
    assert Api.objects.get(pk=published.api_id).name == "Payments API"


def test_another_organisation_reading_a_public_api_gets_403_on_patch(
    published, cast, api_for, api_error
):
    Api.objects.filter(pk=published.api_id).update(visibility=Api.Visibility.PUBLIC)
    assert api_for(cast.outsider).get(PAYMENTS).status_code == 200
    api_error(
        api_for(cast.outsider).patch(PAYMENTS, {"name": "Mine"}, format="json"),
        403,
        "permission_denied",
    )


def test_patch_ignores_read_only_fields(published, cast, api_for):
    response = api_for(cast.maintainer).patch(
        PAYMENTS,
        {
            "slug": "renamed",
            "kind": "ai",
            "organisation": "globex",
            "current_version": None,
            "created_at": "2001-01-01T00:00:00Z",
        },
        format="json",
    )
    assert response.status_code == 200
    api = Api.objects.get(pk=published.api_id)
    assert (api.slug, api.kind, api.organisation, api.current_version_id) == (
        "payments",
        "rest",
        cast.org,
        published.pk,
    )


def test_patch_with_too_many_tags_is_400(published, cast, api_for, api_error):
    response = api_for(cast.maintainer).patch(
        PAYMENTS, {"tags": [f"tag-{n}" for n in range(13)]}, format="json"
    )
    assert list(api_error(response, 400, "invalid")["fields"]) == ["tags"]


def test_a_draft_only_api_is_404_for_a_member_outside_the_team(draft, cast, api_for, api_error):
    api_error(api_for(cast.member).get(PAYMENTS), 404, "not_found")
    api_error(api_for(cast.member).get(PAYMENTS + "versions/1.0.0/"), 404, "not_found")
    assert api_for(cast.viewer).get(PAYMENTS + "versions/1.0.0/").status_code == 200
