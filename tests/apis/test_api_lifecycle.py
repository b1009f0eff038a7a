"""/api/v1/apis/<owner>/<api>/versions/<version>/transition(s)/ and .../compare/."""

import datetime

import pytest
from django.utils import timezone

from apis.models import Api, ApiVersion, LifecycleTransition
from apis.services.catalogue import version_create
from tenants.actors import Actor

from .conftest import make_spec

VERSION = "/api/v1/apis/acme/payments/versions/1.0.0/"
COMPARE = "/api/v1/apis/acme/payments/compare/"


def _future(days=90) -> str:
    return (timezone.localdate() + datetime.timedelta(days=days)).isoformat()


def _state(version) -> str:
    return ApiVersion.objects.get(pk=version.pk).state


# --- Transition -----------------------------------------------------------------


def test_maintainer_publishes_a_draft(draft, cast, api_for, new_audit_events):
    since = new_audit_events()
    response = api_for(cast.maintainer).post(
        VERSION + "transition/", {"to_state": "published"}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["from_state"], body["to_state"], body["actor"], body["reason"]) == (
        "draft",
        "published",
        "maintainer@acme.test",
        "",
    )
    assert _state(draft) == "published"
    assert [e.action for e in since()] == ["api_version.publish"]


def test_deprecate_needs_and_records_reason_and_sunset(published, cast, api_for):
    sunset = _future()
    response = api_for(cast.admin).post(
        VERSION + "transition/",
        {"to_state": "deprecated", "reason": "Use 2.0.", "sunset_at": sunset},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert (response.json()["reason"], response.json()["sunset_at"]) == ("Use 2.0.", sunset)
    detail = api_for(cast.member).get(VERSION).json()
    assert (detail["state"], detail["sunset_at"]) == ("deprecated", sunset)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"to_state": "deprecated", "sunset_at": "2999-01-01"}, "reason"),
        ({"to_state": "deprecated", "reason": "Use 2.0."}, "sunset_at"),
        ({"to_state": "deprecated", "reason": "Old.", "sunset_at": "2001-01-01"}, "sunset_at"),
        ({"to_state": "blocked"}, "reason"),
        ({"to_state": "frozen"}, "to_state"),
        ({"to_state": "deprecated", "reason": "x", "sunset_at": "soon"}, "sunset_at"),
        ({}, "to_state"),
    ],
)
def test_missing_or_bad_reason_or_sunset_is_400(
    published, cast, api_for, api_error, payload, field
):
    response = api_for(cast.maintainer).post(VERSION + "transition/", payload, format="json")
    error = api_error(response, 400, "invalid")
    assert field in error["fields"]
    assert _state(published) == "published"
    assert not LifecycleTransition.objects.filter(api_version=published).exclude(
        to_state="published"
    )


def test_a_transition_the_table_refuses_is_409(draft, cast, api_for, api_error):
    response = api_for(cast.maintainer).post(
        VERSION + "transition/", {"to_state": "retired", "reason": "x"}, format="json"
    )
    error = api_error(response, 409, "conflict")
    assert error["message"] == "A draft version cannot become retired."
    assert _state(draft) == "draft"


@pytest.mark.parametrize("who", ["developer", "viewer"])
def test_team_members_who_see_a_draft_but_do_not_maintain_get_403(
    draft, cast, api_for, api_error, who
):
    response = api_for(getattr(cast, who)).post(
        VERSION + "transition/", {"to_state": "published"}, format="json"
    )
    api_error(response, 403, "permission_denied")
    assert _state(draft) == "draft"


def test_a_member_who_sees_the_published_version_gets_403(published, cast, api_for, api_error):
    response = api_for(cast.member).post(
        VERSION + "transition/", {"to_state": "blocked", "reason": "no"}, format="json"
    )
    api_error(response, 403, "permission_denied")
    assert _state(published) == "published"


def test_a_member_who_cannot_see_the_draft_gets_404(draft, cast, api_for, api_error):
    response = api_for(cast.member).post(
        VERSION + "transition/", {"to_state": "published"}, format="json"
    )
    api_error(response, 404, "not_found")
    assert _state(draft) == "draft"


def test_another_organisation_gets_404_for_an_organisation_api(published, cast, api_for, api_error):
    response = api_for(cast.outsider).post(
        VERSION + "transition/", {"to_state": "blocked", "reason": "x"}, format="json"
    )
    api_error(response, 404, "not_found")
    assert _state(published) == "published"


def test_another_organisation_reading_a_public_api_gets_403_on_transition(
    published, cast, api_for, api_error
):
    Api.objects.filter(pk=published.api_id).update(visibility=Api.Visibility.PUBLIC)
    client = api_for(cast.outsider)
    assert client.get(VERSION).status_code == 200
    response = client.post(
        VERSION + "transition/", {"to_state": "blocked", "reason": "x"}, format="json"
    )
    api_error(response, 403, "permission_denied")
    assert _state(published) == "published"


def test_transition_ignores_fields_it_does_not_take(draft, cast, api_for):
    response = api_for(cast.maintainer).post(
        VERSION + "transition/",
        {
            "to_state": "published",
            "from_state": "blocked",
            "actor": "someone@else.test",
            "created_at": "2001-01-01T00:00:00Z",
            "spec_hash": "0" * 64,
        },
        format="json",
    )
    assert response.status_code == 200
    transition = LifecycleTransition.objects.get(api_version=draft)
    assert (transition.from_state, transition.actor_label) == ("draft", "maintainer@acme.test")
    assert transition.created_at.year > 2001
    assert ApiVersion.objects.get(pk=draft.pk).spec_hash == draft.spec_hash


def test_transitions_lists_the_history_newest_first(published, cast, api_for):
    client = api_for(cast.maintainer)
    client.post(VERSION + "transition/", {"to_state": "blocked", "reason": "Abuse."}, format="json")
    body = client.get(VERSION + "transitions/").json()
    assert [(t["from_state"], t["to_state"], t["reason"]) for t in body["results"]] == [
        ("published", "blocked", "Abuse."),
        ("draft", "published", ""),
    ]


# --- Compare ----------------------------------------------------------------------


@pytest.fixture
def second(published, cast):
    raw = make_spec(
        {
            "/payments": {
                "get": {"responses": {"200": {"description": "ok"}}},
            },
            "/payouts": {"get": {"responses": {"200": {"description": "ok"}}}},
        },
        version="2.0.0",
    )
    return version_create(api=published.api, raw=raw, actor=Actor.for_user(cast.maintainer))


def test_compare_defaults_to_the_newest_and_the_one_before(second, cast, api_for):
    body = api_for(cast.maintainer).get(COMPARE).json()
    assert (body["from_version"], body["to_version"]) == ("1.0.0", "2.0.0")
    assert {c["kind"] for c in body["breaking"]} == {"path_removed", "operation_removed"}
    assert body["additions"] == [{"kind": "path_added", "where": "/payouts", "detail": "new path"}]


def test_compare_takes_explicit_versions_both_ways(second, cast, api_for):
    body = api_for(cast.maintainer).get(COMPARE, {"from": "2.0.0", "to": "1.0.0"}).json()
    assert (body["from_version"], body["to_version"]) == ("2.0.0", "1.0.0")
    assert body["breaking"]


def test_compare_does_not_reach_a_draft_a_reader_cannot_see(second, cast, api_for, api_error):
    client = api_for(cast.member)
    error = api_error(client.get(COMPARE, {"from": "1.0.0", "to": "2.0.0"}), 400, "invalid")
    assert list(error["fields"]) == ["to"]
    error = api_error(client.get(COMPARE), 400, "invalid")
    assert error["fields"] == {
        "from": ["Version 1.0.0 has no version before it; say which to compare."]
    }


def test_compare_of_an_unknown_version_is_400(published, cast, api_for, api_error):
    error = api_error(api_for(cast.maintainer).get(COMPARE, {"from": "0.1"}), 400, "invalid")
    assert list(error["fields"]) == ["from"]


def test_compare_is_404_for_another_organisation(second, cast, api_for, api_error):
    api_error(api_for(cast.outsider).get(COMPARE), 404, "not_found")
