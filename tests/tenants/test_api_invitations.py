"""/api/v1/organisations/<org>/invitations/ and /api/v1/invitations/accept/."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from rest_framework.test import APIClient

from tenants.actors import Actor
from tenants.models import AuditEvent, Invitation, Membership, TeamMembership
from tenants.services import invitations
from tests.factories import UserFactory

INVITATIONS = "/api/v1/organisations/acme/invitations/"
ACCEPT = "/api/v1/invitations/accept/"
NEWCOMER = "newcomer@example.com"


def _invite(cast, email=NEWCOMER, **kwargs):
    return invitations.invitation_create(
        organisation=cast.org, email=email, actor=Actor.for_user(cast.owner), **kwargs
    )


def _counts():
    return (Invitation.objects.count(), AuditEvent.objects.count())


# --- List and filter ----------------------------------------------------------


def test_admins_list_invitations_without_any_secret(cast, api_for):
    invitation, token = _invite(cast)
    body = api_for(cast.admin).get(INVITATIONS).json()
    (item,) = body["results"]
    assert set(item) == {
        "id",
        "email",
        "role",
        "team",
        "team_role",
        "status",
        "invited_by",
        "created_at",
        "expires_at",
    }
    assert (item["id"], item["status"], item["invited_by"]) == (
        invitation.pk,
        "pending",
        "owner@acme.test",
    )
    assert token not in str(body)
    assert invitation.token_digest not in str(body)


@pytest.mark.parametrize("who", ["member", "maintainer"])
def test_members_cannot_see_invitations(cast, api_for, api_error, who):
    invitation, _ = _invite(cast)
    client = api_for(getattr(cast, who))
    api_error(client.get(INVITATIONS), 403, "permission_denied")
    api_error(client.get(f"{INVITATIONS}{invitation.pk}/"), 403, "permission_denied")


def test_invitations_filter_by_email_role_and_pending(cast, api_for):
    _, token = _invite(cast, "accepted@example.com", role="admin")
    invitations.invitation_accept(token=token, user=UserFactory(email="accepted@example.com"))
    _invite(cast, "pending@example.com")
    withdrawn, _ = _invite(cast, "withdrawn@example.com")
    invitations.invitation_revoke(invitation=withdrawn, actor=Actor.for_user(cast.owner))
    client = api_for(cast.admin)
    emails = lambda query: sorted(  # noqa: E731
        i["email"] for i in client.get(INVITATIONS, query).json()["results"]
    )

    assert emails({"pending": "true"}) == ["pending@example.com"]
    assert emails({"pending": "false"}) == ["accepted@example.com", "withdrawn@example.com"]
    assert emails({"role": "admin"}) == ["accepted@example.com"]
    assert emails({"email": "PEND"}) == ["pending@example.com"]


def test_expired_invitations_are_not_pending(cast, api_for):
    invitation, _ = _invite(cast)
    with time_machine.travel(invitation.expires_at + timedelta(minutes=1)):
        client = api_for(cast.admin)
        assert client.get(INVITATIONS, {"pending": "true"}).json()["results"] == []
        (item,) = client.get(INVITATIONS, {"pending": "false"}).json()["results"]
        assert item["status"] == "expired"


def test_an_invitation_of_another_organisation_is_404(cast, api_for, api_error):
    theirs, _ = invitations.invitation_create(
        organisation=cast.other_org, email=NEWCOMER, actor=Actor.for_user(cast.outsider)
    )
    client = api_for(cast.owner)
    api_error(client.get(f"{INVITATIONS}{theirs.pk}/"), 404, "not_found")
    api_error(client.post(f"{INVITATIONS}{theirs.pk}/revoke/"), 404, "not_found")
    theirs.refresh_from_db()
    assert theirs.status == "pending"


# --- Create -------------------------------------------------------------------


def test_admins_invite_with_a_team_and_the_email_goes_out_after_commit(
    cast, api_for, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_for(cast.admin).post(
            INVITATIONS,
            {"email": NEWCOMER, "role": "admin", "team": "payments", "team_role": "viewer"},
            format="json",
        )
    assert response.status_code == 201
    body = response.json()
    assert (body["email"], body["role"], body["team"], body["team_role"], body["status"]) == (
        NEWCOMER,
        "admin",
        "payments",
        "viewer",
        "pending",
    )
    assert "token" not in body
    (message,) = mail.outbox
    assert message.to == [NEWCOMER]
    assert "/invitations/" in message.body
    invitation = Invitation.objects.get(pk=body["id"])
    assert AuditEvent.objects.filter(action="invitation.created", target_id=str(invitation.pk))


def test_create_ignores_state_and_ownership_fields(cast, api_for):
    response = api_for(cast.admin).post(
        INVITATIONS,
        {
            "email": NEWCOMER,
            "status": "accepted",
            "accepted_at": "2001-01-01T00:00:00Z",
            "revoked_at": "2001-01-01T00:00:00Z",
            "expires_at": "2099-01-01T00:00:00Z",
            "invited_by": "owner@acme.test",
            "organisation": cast.other_org.pk,
            "token_digest": "0" * 64,
            "id": 99999,
        },
        format="json",
    )
    assert response.status_code == 201
    invitation = Invitation.objects.get()
    assert invitation.status == "pending"
    assert (invitation.organisation, invitation.invited_by) == (cast.org, cast.admin)
    assert invitation.expires_at.year < 2099
    assert invitation.token_digest != "0" * 64
    assert invitation.pk != 99999


@pytest.mark.parametrize(
    ("payload", "status", "field"),
    [
        ({"email": "not-an-address"}, 400, "email"),
        ({}, 400, "email"),
        ({"email": NEWCOMER, "role": "emperor"}, 400, "role"),
        ({"email": NEWCOMER, "team": "no-such-team", "team_role": "viewer"}, 400, "team"),
        ({"email": NEWCOMER, "team": "globex-team", "team_role": "viewer"}, 400, "team"),
        ({"email": NEWCOMER, "team": "payments"}, 400, "team_role"),
        ({"email": NEWCOMER, "team": "payments", "team_role": "owner"}, 400, "team_role"),
        ({"email": "member@acme.test"}, 400, "email"),
        ({"email": NEWCOMER, "role": "owner"}, 403, None),  # admins do not make owners
    ],
)
def test_invalid_invitations_write_and_send_nothing(
    cast, api_for, api_error, django_capture_on_commit_callbacks, payload, status, field
):
    before = _counts()
    with django_capture_on_commit_callbacks(execute=True):
        response = api_for(cast.admin).post(INVITATIONS, payload, format="json")
    error = api_error(response, status)
    if field:
        assert field in error["fields"]
    assert _counts() == before
    assert mail.outbox == []


def test_owners_may_invite_owners(cast, api_for):
    response = api_for(cast.owner).post(
        INVITATIONS, {"email": NEWCOMER, "role": "owner"}, format="json"
    )
    assert response.status_code == 201


def test_members_cannot_invite(cast, api_for, api_error):
    api_error(
        api_for(cast.member).post(INVITATIONS, {"email": NEWCOMER}, format="json"),
        403,
        "permission_denied",
    )
    assert not Invitation.objects.exists()


def test_inviting_again_replaces_the_pending_invitation(cast, api_for):
    client = api_for(cast.admin)
    first = client.post(INVITATIONS, {"email": NEWCOMER}, format="json").json()
    second = client.post(INVITATIONS, {"email": NEWCOMER, "role": "admin"}, format="json").json()
    statuses = {i["id"]: i["status"] for i in client.get(INVITATIONS).json()["results"]}
    assert statuses == {first["id"]: "revoked", second["id"]: "pending"}


def test_invitations_cannot_be_edited_or_deleted(cast, api_for, api_error):
    invitation, _ = _invite(cast)
    client = api_for(cast.owner)
    url = f"{INVITATIONS}{invitation.pk}/"
    api_error(client.patch(url, {"role": "owner"}, format="json"), 405, "method_not_allowed")
    api_error(client.put(url, {"email": NEWCOMER}, format="json"), 405)
    api_error(client.delete(url), 405)
    invitation.refresh_from_db()
    assert invitation.role == "member"


# --- Revoke -------------------------------------------------------------------


def test_revoke_then_revoke_again(cast, api_for, api_error):
    invitation, _ = _invite(cast)
    client = api_for(cast.admin)
    response = client.post(f"{INVITATIONS}{invitation.pk}/revoke/")
    assert response.status_code == 200
    assert response.json()["status"] == "revoked"
    api_error(client.post(f"{INVITATIONS}{invitation.pk}/revoke/"), 409, "conflict")
    assert AuditEvent.objects.filter(action="invitation.revoked").count() == 1


def test_members_cannot_revoke(cast, api_for, api_error):
    invitation, _ = _invite(cast)
    api_error(api_for(cast.member).post(f"{INVITATIONS}{invitation.pk}/revoke/"), 403)
    invitation.refresh_from_db()
    assert invitation.status == "pending"


# --- Accept -------------------------------------------------------------------


def test_accept_joins_the_organisation_and_team(cast, api_for):
    _, token = _invite(cast, role="admin", team=cast.team, team_role="maintainer")
    newcomer = UserFactory(email=NEWCOMER)
    response = api_for(newcomer).post(ACCEPT, {"token": token}, format="json")
    assert response.status_code == 200
    assert (response.json()["slug"], response.json()["role"]) == ("acme", "admin")
    assert Membership.objects.get(user=newcomer).role == "admin"
    assert TeamMembership.objects.get(user=newcomer).role == "maintainer"


def test_accept_twice_is_a_conflict(cast, api_for, api_error):
    _, token = _invite(cast)
    client = api_for(UserFactory(email=NEWCOMER))
    assert client.post(ACCEPT, {"token": token}, format="json").status_code == 200
    api_error(client.post(ACCEPT, {"token": token}, format="json"), 409, "conflict")


def test_accept_with_an_unknown_token_is_404(cast, api_for, api_error):
    _invite(cast)
    api_error(
        api_for(UserFactory(email=NEWCOMER)).post(ACCEPT, {"token": "nope"}, format="json"),
        404,
        "not_found",
    )
    assert not Membership.objects.filter(user__email=NEWCOMER).exists()


def test_accept_by_the_wrong_person_is_403(cast, api_for, api_error):
    _, token = _invite(cast)
    api_error(
        api_for(cast.outsider).post(ACCEPT, {"token": token}, format="json"),
        403,
        "permission_denied",
    )
    assert not Membership.objects.filter(organisation=cast.org, user=cast.outsider).exists()


def test_accept_needs_a_token(cast, api_for, api_error):
    error = api_error(api_for(cast.outsider).post(ACCEPT, {}, format="json"), 400, "invalid")
    assert "token" in error["fields"]


def test_accept_needs_a_signed_in_user(cast, api_error):
    _, token = _invite(cast)
    api_error(APIClient().post(ACCEPT, {"token": token}, format="json"), 401)
    assert Invitation.objects.get().status == "pending"


def test_accept_of_an_expired_invitation_is_a_conflict(cast, api_for, api_error):
    invitation, token = _invite(cast)
    client = api_for(UserFactory(email=NEWCOMER))
    with time_machine.travel(invitation.expires_at + timedelta(seconds=1)):
        error = api_error(client.post(ACCEPT, {"token": token}, format="json"), 409, "conflict")
    assert "expired" in error["message"]


def test_retrieve_an_invitation(cast, api_for):
    invitation, token = _invite(cast, team=cast.team, team_role="developer")
    response = api_for(cast.admin).get(f"{INVITATIONS}{invitation.pk}/")
    assert response.status_code == 200
    body = response.json()
    assert (body["email"], body["team"], body["team_role"], body["status"]) == (
        NEWCOMER,
        "payments",
        "developer",
        "pending",
    )
    assert token not in response.content.decode()
