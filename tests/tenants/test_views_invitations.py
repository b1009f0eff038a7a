"""Invitation pages: invite, withdraw, and accept by link."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse

from tenants.actors import Actor
from tenants.models import AuditEvent, Invitation, Membership, TeamMembership
from tenants.services import invitations
from tests.factories import UserFactory

INVITATIONS = reverse("tenants:invitation_list", kwargs={"org": "acme"})
NEWCOMER = "newcomer@example.com"


def _invite(cast, **kwargs):
    return invitations.invitation_create(
        organisation=cast.org, email=NEWCOMER, actor=Actor.for_user(cast.owner), **kwargs
    )


def accept_url(token):
    return reverse("tenants:invitation_accept", kwargs={"token": token})


def _counts():
    return (Invitation.objects.count(), AuditEvent.objects.count())


# --- The list and the form ----------------------------------------------------


def test_admins_see_the_invitations(cast, client_for):
    _invite(cast)
    response = client_for(cast.admin).get(INVITATIONS)
    assert response.status_code == 200
    assert NEWCOMER in response.content.decode()
    assert b"Withdraw" in response.content


@pytest.mark.parametrize("who", ["member", "maintainer"])
def test_members_get_403(cast, client_for, who):
    client = client_for(getattr(cast, who))
    assert client.get(INVITATIONS).status_code == 403
    assert client.post(INVITATIONS, {"email": NEWCOMER, "role": "member"}).status_code == 403
    assert not Invitation.objects.exists()


def test_invite_sends_the_email_after_commit_and_shows_the_link(
    cast, client_for, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(cast.admin).post(
            INVITATIONS,
            {"email": NEWCOMER, "role": "member", "team": cast.team.pk, "team_role": "viewer"},
        )
    assert response.status_code == 200
    html = response.content.decode()
    assert f"Invitation sent to {NEWCOMER}." in html
    link = html.split('data-testid="invitation-link">')[1].split("</code>")[0]
    (message,) = mail.outbox
    assert link in message.body
    invitation = Invitation.objects.get()
    assert (invitation.team, invitation.team_role) == (cast.team, "viewer")
    # The form is empty again for the next one.
    assert f'value="{NEWCOMER}"' not in html


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"email": "nope", "role": "member"}, "Enter a valid email address."),
        ({"email": NEWCOMER, "role": "emperor"}, "Select a valid choice."),
        ({"email": NEWCOMER, "role": "member", "team": "payments"}, "Select a valid choice."),
        ({"email": NEWCOMER, "role": "member", "team": "team"}, "Choose the role in the team."),
        ({"email": "member@acme.test", "role": "member"}, "is already a member."),
        ({"email": NEWCOMER, "role": "owner"}, "Only owners may invite owners."),
    ],
)
def test_invalid_invitations_answer_400_and_write_and_send_nothing(
    cast, client_for, django_capture_on_commit_callbacks, data, message
):
    if data.get("team") == "team":
        data = {**data, "team": cast.team.pk}
    before = _counts()
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(cast.admin).post(INVITATIONS, data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert _counts() == before
    assert mail.outbox == []


def test_a_team_of_another_organisation_is_not_a_choice(cast, client_for):
    response = client_for(cast.owner).post(
        INVITATIONS,
        {"email": NEWCOMER, "role": "member", "team": cast.other_team.pk, "team_role": "viewer"},
    )
    assert response.status_code == 400
    assert not Invitation.objects.exists()


def test_owners_may_invite_owners(cast, client_for):
    response = client_for(cast.owner).post(INVITATIONS, {"email": NEWCOMER, "role": "owner"})
    assert response.status_code == 200
    assert Invitation.objects.get().role == "owner"


# --- Withdraw -----------------------------------------------------------------


def test_admins_withdraw(cast, client_for):
    invitation, _ = _invite(cast)
    revoke = reverse("tenants:invitation_revoke", kwargs={"org": "acme", "pk": invitation.pk})
    response = client_for(cast.admin).post(revoke, follow=True)
    assert response.redirect_chain == [(INVITATIONS, 302)]
    assert f"Invitation of {NEWCOMER} withdrawn." in response.content.decode()
    invitation.refresh_from_db()
    assert invitation.status == "revoked"


def test_withdrawing_twice_says_so(cast, client_for):
    invitation, _ = _invite(cast)
    revoke = reverse("tenants:invitation_revoke", kwargs={"org": "acme", "pk": invitation.pk})
    client = client_for(cast.admin)
    client.post(revoke)
    response = client.post(revoke, follow=True)
    assert "already revoked" in response.content.decode()
    assert AuditEvent.objects.filter(action="invitation.revoked").count() == 1


def test_members_cannot_withdraw(cast, client_for):
    invitation, _ = _invite(cast)
    revoke = reverse("tenants:invitation_revoke", kwargs={"org": "acme", "pk": invitation.pk})
    assert client_for(cast.member).post(revoke).status_code == 403
    invitation.refresh_from_db()
    assert invitation.status == "pending"


def test_an_invitation_of_another_organisation_is_404(cast, client_for):
    theirs, _ = invitations.invitation_create(
        organisation=cast.other_org, email=NEWCOMER, actor=Actor.for_user(cast.outsider)
    )
    revoke = reverse("tenants:invitation_revoke", kwargs={"org": "acme", "pk": theirs.pk})
    assert client_for(cast.owner).post(revoke).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "pending"


# --- Accept -------------------------------------------------------------------


def test_the_link_shows_the_invitation(cast, client_for):
    _, token = _invite(cast, team=cast.team, team_role="developer")
    response = client_for(UserFactory(email=NEWCOMER)).get(accept_url(token))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Join Acme Secret Works" in html
    assert "Payments Squad" in html
    assert "Accept invitation" in html


def test_accepting_joins_and_redirects_to_the_organisation(cast, client_for):
    _, token = _invite(cast, team=cast.team, team_role="developer")
    newcomer = UserFactory(email=NEWCOMER)
    response = client_for(newcomer).post(accept_url(token), follow=True)
    assert response.redirect_chain == [("/o/acme/", 302)]
    assert b"Welcome to Acme Secret Works." in response.content
    assert Membership.objects.get(user=newcomer).organisation == cast.org
    assert TeamMembership.objects.get(user=newcomer).role == "developer"


def test_an_unknown_link_is_404(cast, client_for):
    response = client_for(UserFactory(email=NEWCOMER)).get(accept_url("not-a-real-token"))
    assert response.status_code == 404
    assert b"This invitation link is not valid." in response.content


def test_the_wrong_person_is_refused_with_403(cast, client_for):
    _, token = _invite(cast)
    response = client_for(cast.outsider).post(accept_url(token))
    assert response.status_code == 403
    assert f"This invitation is for {NEWCOMER}" in response.content.decode()
    assert not Membership.objects.filter(organisation=cast.org, user=cast.outsider).exists()


def test_a_used_link_is_refused_with_409(cast, client_for):
    _, token = _invite(cast)
    client = client_for(UserFactory(email=NEWCOMER))
    client.post(accept_url(token))
    response = client.post(accept_url(token))
    assert response.status_code == 409
    assert b"This invitation is accepted." in response.content
    assert b"Accept invitation" not in response.content


def test_an_expired_link_is_refused(cast, client_for):
    invitation, token = _invite(cast)
    client = client_for(UserFactory(email=NEWCOMER))
    with time_machine.travel(invitation.expires_at + timedelta(seconds=1)):
        page = client.get(accept_url(token))
        assert b"This invitation is expired." in page.content
        assert b"Accept invitation" not in page.content
        response = client.post(accept_url(token))
    assert response.status_code == 409
    assert not Membership.objects.filter(user__email=NEWCOMER).exists()


def test_visitors_sign_in_first(cast):
    _, token = _invite(cast)
    response = Client().get(accept_url(token))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
