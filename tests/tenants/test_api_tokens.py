"""/api/v1/tokens/ and what a token may do with the rest of the API."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from tenants.models import AccessToken, AuditEvent, Membership, Organisation, Team

TOKENS = "/api/v1/tokens/"
ORGS = "/api/v1/organisations/"
ACME = f"{ORGS}acme/"
GLOBEX = f"{ORGS}globex/"


# --- Create, list, retrieve, revoke ---------------------------------------------


def test_create_shows_the_token_once_and_not_cacheable(cast, api_for, bearer):
    response = api_for(cast.owner).post(
        TOKENS, {"name": "CI deploys", "scope": "write", "organisation": "acme"}, format="json"
    )
    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    plaintext = body["token"]
    assert plaintext.startswith(body["prefix"] + "_")
    assert (body["name"], body["scope"], body["organisation"], body["is_active"]) == (
        "CI deploys",
        "write",
        "acme",
        True,
    )
    # The token works.
    assert bearer(plaintext).get("/api/v1/me/").json()["email"] == "owner@acme.test"


def test_the_plaintext_never_appears_again(cast, api_for, make_token):
    token, plaintext = make_token(cast.owner)
    client = api_for(cast.owner)
    listed = client.get(TOKENS)
    one = client.get(f"{TOKENS}{token.pk}/")
    revoked = client.post(f"{TOKENS}{token.pk}/revoke/")
    for response in (listed, one, revoked):
        assert response.status_code == 200
        assert plaintext not in response.content.decode()
        assert token.secret_digest not in response.content.decode()
        assert "token" not in (
            response.json()["results"][0] if "results" in response.json() else response.json()
        )
    assert listed.json()["results"][0]["prefix"] == token.display_prefix


def test_tokens_are_listed_for_their_owner_only(cast, api_for, make_token):
    mine, _ = make_token(cast.owner, name="mine")
    make_token(cast.admin, name="theirs")
    body = api_for(cast.owner).get(TOKENS).json()
    assert [t["id"] for t in body["results"]] == [mine.pk]


def test_someone_elses_token_is_404(cast, api_for, make_token, api_error):
    theirs, _ = make_token(cast.admin)
    client = api_for(cast.owner)
    api_error(client.get(f"{TOKENS}{theirs.pk}/"), 404, "not_found")
    api_error(client.post(f"{TOKENS}{theirs.pk}/revoke/"), 404, "not_found")
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_revoke_then_revoke_again(cast, api_for, make_token, api_error):
    token, _ = make_token(cast.owner)
    client = api_for(cast.owner)
    response = client.post(f"{TOKENS}{token.pk}/revoke/")
    assert response.status_code == 200
    assert response.json()["is_active"] is False
    assert response.json()["revoked_at"]
    api_error(client.post(f"{TOKENS}{token.pk}/revoke/"), 409, "conflict")


def test_create_ignores_owner_and_secret_fields(cast, api_for):
    response = api_for(cast.owner).post(
        TOKENS,
        {
            "name": "x",
            "user": cast.admin.pk,
            "lookup_id": "AAAAAAAAAAAA",
            "secret_digest": "0" * 64,
            "revoked_at": "2001-01-01T00:00:00Z",
            "last_used_at": "2001-01-01T00:00:00Z",
            "created_at": "2001-01-01T00:00:00Z",
            "is_active": False,
            "id": 99999,
        },
        format="json",
    )
    assert response.status_code == 201
    token = AccessToken.objects.get()
    assert token.user == cast.owner
    assert token.lookup_id != "AAAAAAAAAAAA"
    assert token.secret_digest != "0" * 64
    assert (token.revoked_at, token.last_used_at) == (None, None)
    assert token.created_at.year > 2001
    assert token.is_active
    assert token.scope == "read"  # the default


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x", "scope": "admin"}, "scope"),
        ({"name": "x", "organisation": "globex"}, "organisation"),
        ({"name": "x", "organisation": "no-such-org"}, "organisation"),
        ({"name": "x", "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
        ({"name": "x", "expires_at": "2999-01-01T00:00:00Z"}, "expires_at"),
        ({"name": "x", "expires_at": "tomorrow"}, "expires_at"),
    ],
)
def test_invalid_create_writes_nothing(cast, api_for, api_error, payload, field):
    events = AuditEvent.objects.count()
    error = api_error(api_for(cast.owner).post(TOKENS, payload, format="json"), 400, "invalid")
    assert field in error["fields"]
    assert not AccessToken.objects.exists()
    assert AuditEvent.objects.count() == events


def test_tokens_cannot_be_edited_or_deleted(cast, api_for, make_token, api_error):
    token, _ = make_token(cast.owner)
    client = api_for(cast.owner)
    api_error(client.patch(f"{TOKENS}{token.pk}/", {"scope": "write"}, format="json"), 405)
    api_error(client.delete(f"{TOKENS}{token.pk}/"), 405)
    token.refresh_from_db()
    assert (token.scope, token.revoked_at) == ("write", None)


# --- Authenticating with a token ----------------------------------------------


def test_a_bad_bearer_gets_401_with_the_error_body(cast, bearer, make_token, api_error):
    _, plaintext = make_token(cast.owner)
    index = len(plaintext) - 3
    typo = plaintext[:index] + ("a" if plaintext[index] != "a" else "b") + plaintext[index + 1 :]
    for presented in ("nonsense", typo, plaintext[:-1]):
        error = api_error(bearer(presented).get(ORGS), 401, "authentication_failed")
        assert error["message"] == "The token is not valid, expired or revoked."


def test_an_expired_token_gets_401(cast, bearer, make_token, api_error):
    token, plaintext = make_token(cast.owner)
    with time_machine.travel(token.expires_at + timedelta(seconds=1)):
        api_error(bearer(plaintext).get(ORGS), 401, "authentication_failed")


def test_a_revoked_token_gets_401(cast, api_for, bearer, make_token, api_error):
    token, plaintext = make_token(cast.owner)
    client = bearer(plaintext)
    assert client.get(ORGS).status_code == 200
    api_for(cast.owner).post(f"{TOKENS}{token.pk}/revoke/")
    api_error(client.get(ORGS), 401, "authentication_failed")


def test_using_a_token_records_last_used_at(cast, bearer, make_token):
    token, plaintext = make_token(cast.owner)
    bearer(plaintext).get(ORGS)
    token.refresh_from_db()
    assert timezone.now() - token.last_used_at < timedelta(minutes=1)


def test_a_token_write_is_audited_as_the_token(cast, bearer, make_token):
    token, plaintext = make_token(cast.owner, scope="write")
    response = bearer(plaintext).post(
        f"{ACME}teams/", {"name": "Search", "slug": "search"}, format="json"
    )
    assert response.status_code == 201
    event = AuditEvent.objects.get(action="team.created")
    assert (event.actor_type, event.actor_user, event.actor_label) == (
        "token",
        cast.owner,
        f"owner@acme.test via {token.display_prefix}",
    )


def test_a_token_does_not_need_csrf(cast, bearer, make_token):
    _, plaintext = make_token(cast.owner, scope="write")
    from rest_framework.test import APIClient

    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    response = client.patch(ACME, {"name": "Renamed"}, format="json")
    assert response.status_code == 200


# --- Scope --------------------------------------------------------------------


def test_a_read_token_reads_but_cannot_write(cast, bearer, make_token, api_error):
    _, plaintext = make_token(cast.owner, scope="read")
    client = bearer(plaintext)
    assert client.get(ORGS).status_code == 200
    assert client.get(f"{ACME}teams/payments/").status_code == 200
    assert client.get(f"{ACME}audit-events/").status_code == 200
    before = (Team.objects.count(), AuditEvent.objects.count(), AccessToken.objects.count())

    writes = [
        client.post(f"{ACME}teams/", {"name": "S", "slug": "s"}, format="json"),
        client.patch(f"{ACME}teams/payments/", {"name": "Mine"}, format="json"),
        client.delete(f"{ACME}teams/payments/"),
        client.patch(ACME, {"name": "Mine"}, format="json"),
        client.post(ORGS, {"name": "New", "slug": "brand-new"}, format="json"),
        client.post(TOKENS, {"name": "wider", "scope": "write"}, format="json"),
        client.post(f"{ACME}invitations/", {"email": "x@example.com"}, format="json"),
    ]
    for response in writes:
        error = api_error(response, 403, "permission_denied")
        assert "read-only" in error["message"]
    assert before == (Team.objects.count(), AuditEvent.objects.count(), AccessToken.objects.count())
    cast.org.refresh_from_db()
    assert cast.org.name == "Acme Secret Works"


def test_a_read_token_cannot_revoke_tokens(cast, bearer, make_token, api_error):
    other, _ = make_token(cast.owner, name="other")
    _, plaintext = make_token(cast.owner, scope="read")
    api_error(bearer(plaintext).post(f"{TOKENS}{other.pk}/revoke/"), 403, "permission_denied")
    other.refresh_from_db()
    assert other.revoked_at is None


def test_a_write_token_writes(cast, bearer, make_token):
    _, plaintext = make_token(cast.owner, scope="write")
    response = bearer(plaintext).patch(f"{ACME}teams/payments/", {"name": "P"}, format="json")
    assert response.status_code == 200


# --- Organisation-limited tokens ------------------------------------------------


@pytest.fixture
def in_both(cast):
    """The owner of Acme is also an admin of Globex."""
    Membership.objects.create(organisation=cast.other_org, user=cast.owner, role="admin")
    return cast.owner


def test_a_limited_token_sees_only_its_organisation(cast, in_both, bearer, make_token, api_for):
    _, plaintext = make_token(in_both, organisation=cast.org)
    body = bearer(plaintext).get(ORGS).json()
    assert [o["slug"] for o in body["results"]] == ["acme"]
    # The same user by session sees both.
    assert len(api_for(in_both).get(ORGS).json()["results"]) == 2


@pytest.mark.parametrize(
    "path", ["", "teams/", "teams/globex-team/", "members/", "invitations/", "audit-events/"]
)
def test_a_limited_token_gets_404_on_another_organisation(
    cast, in_both, bearer, make_token, api_error, path
):
    _, plaintext = make_token(in_both, organisation=cast.org, scope="write")
    client = bearer(plaintext)
    api_error(client.get(f"{GLOBEX}{path}"), 404, "not_found")
    assert client.get(f"{ACME}{path.replace('globex-team', 'payments')}").status_code == 200


def test_a_limited_token_cannot_write_to_another_organisation(
    cast, in_both, bearer, make_token, api_error
):
    _, plaintext = make_token(in_both, organisation=cast.org, scope="write")
    client = bearer(plaintext)
    api_error(client.patch(GLOBEX, {"name": "Mine"}, format="json"), 404)
    api_error(client.post(f"{GLOBEX}teams/", {"name": "X", "slug": "x"}, format="json"), 404)
    api_error(client.post(f"{GLOBEX}leave/"), 404)
    assert Membership.objects.filter(organisation=cast.other_org, user=in_both).exists()
    cast.other_org.refresh_from_db()
    assert cast.other_org.name == "Globex"


def test_a_limited_token_cannot_create_organisations_or_wider_tokens(
    cast, in_both, bearer, make_token, api_error
):
    _, plaintext = make_token(in_both, organisation=cast.org, scope="write")
    client = bearer(plaintext)
    body = api_error(
        client.post(ORGS, {"name": "New", "slug": "brand-new"}, format="json"),
        403,
        "permission_denied",
    )
    assert "cannot create organisations" in body["message"]
    assert not Organisation.objects.filter(slug="brand-new").exists()
    api_error(client.post(TOKENS, {"name": "wider"}, format="json"), 403, "permission_denied")
    api_error(
        client.post(TOKENS, {"name": "sideways", "organisation": "globex"}, format="json"),
        403,
        "permission_denied",
    )
    # Managing tokens is account-wide: a limited token may not, even within its organisation.
    api_error(
        client.post(TOKENS, {"name": "same", "organisation": "acme"}, format="json"),
        403,
        "permission_denied",
    )
    api_error(client.get(TOKENS), 403, "permission_denied")
