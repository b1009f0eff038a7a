"""The REST API's common behaviour: one error body for every failure, pagination, /me."""

import pytest
from rest_framework.test import APIClient

from tenants.models import AuditEvent, Team
from tests.factories import TeamFactory

ORG = "/api/v1/organisations/acme/"


def test_me_answers_with_the_signed_in_user(cast, api_for):
    body = api_for(cast.member).get("/api/v1/me/").json()
    assert body["id"] == cast.member.pk
    assert body["email"] == "member@acme.test"
    assert set(body) == {"id", "email", "first_name", "last_name"}


@pytest.mark.parametrize(
    "url", ["/api/v1/me/", "/api/v1/organisations/", f"{ORG}teams/", "/api/v1/tokens/"]
)
def test_anonymous_requests_get_401_with_the_error_body(cast, api_error, url):
    response = APIClient().get(url)
    error = api_error(response, 401, "not_authenticated")
    assert error["fields"] == {}
    assert response["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "header",
    [
        "Bearer not-a-token",
        "Bearer pat_AAAAAAAAAAAA_" + "A" * 46,
        "Bearer a b",
        "Bearer",
        "bearer pat_",
    ],
)
def test_a_bad_bearer_header_gets_401_with_the_error_body(cast, api_error, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get("/api/v1/organisations/")
    error = api_error(response, 401, "authentication_failed")
    assert "token" in error["message"].lower()


def test_a_bad_bearer_is_refused_even_with_a_session(cast, api_for, api_error):
    client = api_for(cast.owner)
    client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    api_error(client.get("/api/v1/organisations/"), 401, "authentication_failed")


def test_unknown_api_urls_answer_404_with_the_error_body(cast, api_for, api_error):
    api_error(api_for(cast.owner).get("/api/v1/nothing-here/"), 404, "not_found")


def test_an_organisation_you_do_not_belong_to_is_404(cast, api_for, api_error):
    client = api_for(cast.outsider)
    for url in (ORG, f"{ORG}teams/", f"{ORG}members/", f"{ORG}teams/payments/members/"):
        api_error(client.get(url), 404, "not_found")
    api_error(api_for(cast.owner).get("/api/v1/organisations/no-such-org/"), 404, "not_found")


def test_a_method_not_offered_is_405_with_the_error_body(cast, api_for, api_error):
    client = api_for(cast.owner)
    api_error(client.put(ORG, {"name": "x"}, format="json"), 405, "method_not_allowed")
    api_error(client.delete(ORG), 405, "method_not_allowed")
    api_error(client.post(f"{ORG}members/", {}, format="json"), 405, "method_not_allowed")
    api_error(client.delete("/api/v1/me/"), 405, "method_not_allowed")


def test_invalid_input_is_400_with_fields(cast, api_for, api_error):
    response = api_for(cast.owner).post(
        f"{ORG}teams/", {"name": "", "slug": "not a slug"}, format="json"
    )
    error = api_error(response, 400, "invalid")
    assert set(error["fields"]) == {"name", "slug"}
    assert all(isinstance(m, str) for ms in error["fields"].values() for m in ms)
    assert "slug" in error["message"]


def test_malformed_json_is_400_with_the_error_body(cast, api_for, api_error):
    response = api_for(cast.owner).post(
        f"{ORG}teams/", data="{not json", content_type="application/json"
    )
    api_error(response, 400, "parse_error")
    assert not Team.objects.filter(organisation=cast.org).exclude(slug="payments").exists()


def test_a_role_too_low_is_403_with_the_error_body(cast, api_for, api_error):
    error = api_error(
        api_for(cast.member).post(f"{ORG}teams/", {"name": "X", "slug": "x"}, format="json"),
        403,
        "permission_denied",
    )
    assert "owners and admins" in error["message"]


def test_a_state_conflict_is_409_with_the_error_body(cast, api_for, api_error):
    error = api_error(api_for(cast.owner).post(f"{ORG}leave/"), 409, "conflict")
    assert "owner" in error["message"]


def test_every_response_carries_a_request_id(cast, api_for):
    response = api_for(cast.owner).get(ORG, HTTP_X_REQUEST_ID="client-chosen-id-42")
    assert response["X-Request-ID"] == "client-chosen-id-42"
    assert APIClient().get(ORG)["X-Request-ID"]


def test_the_request_id_reaches_the_audit_event(cast, api_for):
    api_for(cast.owner).patch(
        ORG, {"name": "Renamed"}, format="json", HTTP_X_REQUEST_ID="rename-request-0001"
    )
    event = AuditEvent.objects.get(action="organisation.updated")
    assert event.request_id == "rename-request-0001"


def test_an_ill_formed_request_id_is_replaced(cast, api_for):
    api_for(cast.owner).patch(
        ORG, {"name": "Renamed"}, format="json", HTTP_X_REQUEST_ID="bad id; drop table"
    )
    event = AuditEvent.objects.get(action="organisation.updated")
    assert event.request_id
    assert event.request_id != "bad id; drop table"


# --- Pagination ---------------------------------------------------------------


@pytest.fixture
def five_more_teams(cast):
    for n in range(5):
        TeamFactory(organisation=cast.org, name=f"Team {n}", slug=f"team-{n}")


def test_lists_are_paginated_with_count_and_links(cast, api_for, five_more_teams):
    body = api_for(cast.member).get(f"{ORG}teams/", {"page_size": 2}).json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 6
    assert len(body["results"]) == 2
    assert body["previous"] is None
    assert "page=2" in body["next"]
    last = api_for(cast.member).get(f"{ORG}teams/", {"page_size": 2, "page": 3}).json()
    assert last["next"] is None
    assert len(last["results"]) == 2
    seen = [t["slug"] for t in body["results"]] + [t["slug"] for t in last["results"]]
    assert len(set(seen)) == 4


def test_page_size_is_capped_by_the_setting(cast, api_for, five_more_teams, settings):
    settings.API_MAX_PAGE_SIZE = 4
    body = api_for(cast.member).get(f"{ORG}teams/", {"page_size": 1000}).json()
    assert len(body["results"]) == 4
    assert body["count"] == 6


def test_the_default_cap_is_two_hundred(settings):
    from portal.api.pagination import Pagination

    assert settings.API_MAX_PAGE_SIZE == 200
    assert Pagination().max_page_size == 200


def test_a_page_past_the_end_is_404_with_the_error_body(cast, api_for, api_error):
    api_error(api_for(cast.member).get(f"{ORG}teams/", {"page": 99}), 404, "not_found")


def test_the_schema_documents_the_error_body(cast, api_for):
    response = api_for(cast.owner).get("/api/schema/", {"format": "json"})
    schema = response.json()
    assert schema["components"]["schemas"]["Error"]["required"] == ["error"]
    operation = schema["paths"]["/api/v1/organisations/{org}/teams/"]["post"]
    for status in ("400", "401", "403", "404", "409"):
        ref = operation["responses"][status]["content"]["application/json"]["schema"]["$ref"]
        assert ref == "#/components/schemas/Error"


def test_a_session_write_without_csrf_is_403_with_the_error_body(cast, api_error):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(cast.owner)
    error = api_error(client.patch(ORG, {"name": "Forged"}, format="json"), 403)
    assert "CSRF" in error["message"]
    cast.org.refresh_from_db()
    assert cast.org.name == "Acme Secret Works"
