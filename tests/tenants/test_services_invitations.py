"""Invitations: who may invite whom, the e-mail, and a link that works once, for one
verified address, until it expires."""

import threading
from datetime import timedelta

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.conf import settings
from django.core import mail
from django.db import connection, transaction
from django.utils import timezone

from tenants import keys
from tenants.actors import Actor
from tenants.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from tenants.models import AuditEvent, Invitation, Membership, TeamMembership
from tenants.roles import OrgRole, TeamRole
from tenants.services import invitations
from tests.factories import OrganisationFactory, TeamFactory, UserFactory, member_of

OK = "ok"
NEWCOMER = "newcomer@example.com"


@pytest.fixture
def invite(cast, as_user):
    """Invite NEWCOMER (or ``email``) as the owner unless told otherwise."""

    def make(email=NEWCOMER, *, by=None, role=OrgRole.MEMBER, team=None, team_role=""):
        return invitations.invitation_create(
            organisation=cast.org,
            email=email,
            role=role,
            team=team,
            team_role=team_role,
            actor=as_user(by or cast.owner),
        )

    return make


@pytest.fixture
def newcomer(db):
    return UserFactory(email=NEWCOMER)


# --- Creating -----------------------------------------------------------------

INVITERS = [
    ("owner", OrgRole.OWNER, OK),
    ("owner", OrgRole.ADMIN, OK),
    ("owner", OrgRole.MEMBER, OK),
    ("admin", OrgRole.ADMIN, OK),
    ("admin", OrgRole.MEMBER, OK),
    ("admin", OrgRole.OWNER, NotAllowed),
    ("member", OrgRole.MEMBER, NotAllowed),
    ("maintainer", OrgRole.MEMBER, NotAllowed),
    ("outsider", OrgRole.MEMBER, NotAllowed),
]


@pytest.mark.parametrize(("actor", "role", "expected"), INVITERS)
def test_invitation_create_table(cast, invite, new_audit_events, request_id, actor, role, expected):
    since = new_audit_events()
    user = getattr(cast, actor)
    if expected is OK:
        invitation, _ = invite(by=user, role=role)
        assert (invitation.organisation, invitation.email, invitation.role) == (
            cast.org,
            NEWCOMER,
            role,
        )
        assert invitation.invited_by == user
        assert invitation.status == Invitation.Status.PENDING
        (event,) = since()
        assert (event.action, event.actor_user, event.organisation, event.request_id) == (
            "invitation.created",
            user,
            cast.org,
            request_id,
        )
        assert (event.target_type, event.target_id) == ("tenants.invitation", str(invitation.pk))
        assert event.before is None
        assert event.after == {"email": NEWCOMER, "role": role, "team": None, "team_role": None}
    else:
        with pytest.raises(expected):
            invite(by=user, role=role)
        assert not Invitation.objects.exists()
        assert since() == []


def test_invitation_expires_after_the_configured_days(cast, invite):
    before = timezone.now()
    invitation, _ = invite()
    days = timedelta(days=settings.INVITATION_EXPIRY_DAYS)
    assert before + days <= invitation.expires_at <= timezone.now() + days


def test_invitation_address_is_trimmed_and_lower_cased(cast, invite):
    invitation, _ = invite("  NewComer@Example.COM ")
    assert invitation.email == NEWCOMER


def test_only_a_digest_of_the_link_token_is_stored(cast, invite):
    invitation, token = invite()
    assert invitation.token_digest == keys.digest(token)
    row = Invitation.objects.filter(pk=invitation.pk).values().get()
    assert not any(token in str(value) for value in row.values())
    assert not any(token in str(e.after) for e in AuditEvent.objects.all())


@pytest.mark.parametrize("email", ["member@acme.test", "MEMBER@acme.test"])
def test_members_cannot_be_invited_again(cast, invite, new_audit_events, email):
    since = new_audit_events()
    with pytest.raises(ValidationFailed) as info:
        invite(email)
    assert "email" in info.value.fields
    assert not Invitation.objects.exists()
    assert since() == []


def test_unknown_roles_are_refused(cast, invite):
    with pytest.raises(ValidationFailed) as info:
        invite(role="emperor")
    assert "role" in info.value.fields


def test_a_team_of_another_organisation_is_refused(cast, invite):
    with pytest.raises(ValidationFailed) as info:
        invite(team=cast.other_team, team_role=TeamRole.VIEWER)
    assert "team" in info.value.fields
    assert not Invitation.objects.exists()


def test_a_team_needs_a_team_role(cast, invite):
    with pytest.raises(ValidationFailed) as info:
        invite(team=cast.team, team_role="")
    assert "team_role" in info.value.fields


def test_a_team_role_without_a_team_is_dropped(cast, invite):
    invitation, _ = invite(team_role=TeamRole.MAINTAINER)
    assert (invitation.team, invitation.team_role) == (None, "")


def test_inviting_again_replaces_the_pending_invitation(
    cast, invite, newcomer, new_audit_events, as_user
):
    first, first_token = invite(role=OrgRole.MEMBER)
    since = new_audit_events()

    second, second_token = invite(by=cast.admin, role=OrgRole.ADMIN)

    first.refresh_from_db()
    assert first.status == Invitation.Status.REVOKED
    assert second.status == Invitation.Status.PENDING
    revoked, created = since()
    assert (revoked.action, revoked.target_id, revoked.actor_user) == (
        "invitation.revoked",
        str(first.pk),
        cast.admin,
    )
    assert revoked.after == {"email": NEWCOMER, "reason": "replaced"}
    assert (created.action, created.target_id) == ("invitation.created", str(second.pk))
    with pytest.raises(Conflict):
        invitations.invitation_accept(token=first_token, user=newcomer)
    assert invitations.invitation_accept(token=second_token, user=newcomer).role == OrgRole.ADMIN


def test_inviting_again_leaves_other_addresses_and_organisations_alone(cast, invite, as_user):
    other, _ = invite("someone.else@example.com")
    theirs, _ = invitations.invitation_create(
        organisation=cast.other_org, email=NEWCOMER, actor=as_user(cast.outsider)
    )
    invite()
    other.refresh_from_db()
    theirs.refresh_from_db()
    assert other.status == theirs.status == Invitation.Status.PENDING


# --- The e-mail ---------------------------------------------------------------


def test_the_email_goes_out_after_commit_with_the_accept_link(
    cast, invite, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        _, token = invite(team=cast.team, team_role=TeamRole.DEVELOPER)
    assert len(callbacks) == 1
    assert mail.outbox == []  # nothing before the commit

    callbacks[0]()

    (message,) = mail.outbox
    assert message.to == [NEWCOMER]
    assert "Acme Secret Works" in message.subject
    link = f"{settings.PORTICO_BASE_URL}/invitations/{token}/"
    assert link == invitations.invitation_accept_url(token)
    assert link in message.body
    assert "owner@acme.test" in message.body
    assert "Payments Squad" in message.body


def test_the_email_is_sent_once_per_invitation(cast, invite, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _, first = invite()
        _, second = invite()
    assert [m.to for m in mail.outbox] == [[NEWCOMER], [NEWCOMER]]
    assert first in mail.outbox[0].body
    assert second in mail.outbox[1].body


def test_no_email_when_the_transaction_rolls_back(cast, invite, django_capture_on_commit_callbacks):
    def invite_then_fail():
        with transaction.atomic():
            invite()
            raise RuntimeError("a later step failed")

    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError):
        invite_then_fail()
    assert callbacks == []
    assert mail.outbox == []
    assert not Invitation.objects.exists()


def test_a_mail_server_failure_does_not_break_the_invitation(
    cast, invite, django_capture_on_commit_callbacks, monkeypatch
):
    def refuse(**kwargs):
        raise ConnectionRefusedError("smtp down")

    monkeypatch.setattr(invitations, "send_mail", refuse)
    with django_capture_on_commit_callbacks(execute=True):
        invitation, _ = invite()
    assert Invitation.objects.filter(pk=invitation.pk).exists()


# --- Accepting ----------------------------------------------------------------


def test_accepting_creates_the_membership_team_membership_and_one_event(
    cast, invite, newcomer, new_audit_events, request_id
):
    invitation, token = invite(role=OrgRole.ADMIN, team=cast.team, team_role=TeamRole.MAINTAINER)
    since = new_audit_events()

    membership = invitations.invitation_accept(token=token, user=newcomer)

    assert (membership.organisation, membership.user, membership.role) == (
        cast.org,
        newcomer,
        OrgRole.ADMIN,
    )
    team_membership = TeamMembership.objects.get(user=newcomer)
    assert (team_membership.team, team_membership.organisation, team_membership.role) == (
        cast.team,
        cast.org,
        TeamRole.MAINTAINER,
    )
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.ACCEPTED
    assert invitation.accepted_by == newcomer
    (event,) = since()
    assert (event.action, event.actor_user, event.organisation, event.request_id) == (
        "invitation.accepted",
        newcomer,
        cast.org,
        request_id,
    )
    assert event.after == {"user": NEWCOMER, "role": "admin", "team": "payments"}


def test_accepting_without_a_team_adds_to_no_team(cast, invite, newcomer):
    _, token = invite()
    invitations.invitation_accept(token=token, user=newcomer)
    assert not TeamMembership.objects.filter(user=newcomer).exists()


def test_a_link_works_once(cast, invite, newcomer, new_audit_events):
    _, token = invite()
    invitations.invitation_accept(token=token, user=newcomer)
    Membership.objects.filter(user=newcomer).delete()  # even after leaving again
    since = new_audit_events()

    with pytest.raises(Conflict) as info:
        invitations.invitation_accept(token=token, user=newcomer)

    assert "accepted" in info.value.message
    assert not Membership.objects.filter(user=newcomer).exists()
    assert since() == []


def test_the_claim_is_a_conditional_update(cast, invite, newcomer, monkeypatch):
    """Between reading the invitation and claiming it, another request accepts it:
    the claim finds nothing to update and nothing is created."""
    _, token = invite()
    original = invitations.invitation_get_by_token
    someone = UserFactory()

    def read_then_lose_the_race(*, token):
        found = original(token=token)
        Invitation.objects.filter(pk=found.pk).update(
            accepted_at=timezone.now(), accepted_by=someone
        )
        return found

    monkeypatch.setattr(invitations, "invitation_get_by_token", read_then_lose_the_race)

    with pytest.raises(Conflict) as info:
        invitations.invitation_accept(token=token, user=newcomer)

    assert "just been used" in info.value.message
    assert not Membership.objects.filter(user=newcomer).exists()


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_accepts_make_one_membership(monkeypatch):
    organisation = OrganisationFactory(slug="race")
    owner = member_of(organisation, role=OrgRole.OWNER)
    newcomer = UserFactory(email=NEWCOMER)
    _, token = invitations.invitation_create(
        organisation=organisation, email=NEWCOMER, actor=Actor.for_user(owner)
    )
    both_have_read = threading.Barrier(2, timeout=10)
    original = invitations.invitation_get_by_token

    def read_and_wait(*, token):
        found = original(token=token)
        both_have_read.wait()
        return found

    monkeypatch.setattr(invitations, "invitation_get_by_token", read_and_wait)
    outcomes = []

    def accept():
        try:
            invitations.invitation_accept(token=token, user=newcomer)
            outcomes.append("accepted")
        except Conflict:
            outcomes.append("conflict")
        finally:
            connection.close()

    threads = [threading.Thread(target=accept) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes) == ["accepted", "conflict"]
    assert Membership.objects.filter(organisation=organisation, user=newcomer).count() == 1
    assert AuditEvent.objects.filter(action="invitation.accepted").count() == 1


def test_the_address_must_be_a_verified_address_of_the_user(cast, invite, new_audit_events):
    _, token = invite()
    unverified = UserFactory(email=NEWCOMER, verified=False)
    EmailAddress.objects.create(user=unverified, email=NEWCOMER, verified=False, primary=True)
    stranger = UserFactory(email="stranger@example.com")
    since = new_audit_events()

    for user in (unverified, stranger):
        with pytest.raises(NotAllowed):
            invitations.invitation_accept(token=token, user=user)

    assert not Membership.objects.filter(user__in=[unverified, stranger]).exists()
    assert Invitation.objects.get().status == Invitation.Status.PENDING
    assert since() == []


def test_a_verified_secondary_address_matches_in_any_case(cast, invite):
    _, token = invite()
    user = UserFactory(email="primary@example.com")
    EmailAddress.objects.create(user=user, email="NewComer@Example.com", verified=True)
    assert invitations.invitation_accept(token=token, user=user).organisation == cast.org


def test_a_revoked_invitation_is_refused(cast, invite, newcomer, as_user):
    invitation, token = invite()
    invitations.invitation_revoke(invitation=invitation, actor=as_user(cast.admin))
    with pytest.raises(Conflict) as info:
        invitations.invitation_accept(token=token, user=newcomer)
    assert "revoked" in info.value.message
    assert not Membership.objects.filter(user=newcomer).exists()


def test_an_expired_invitation_is_refused(cast, invite, newcomer):
    invitation, token = invite()
    with time_machine.travel(invitation.expires_at + timedelta(seconds=1)):
        assert invitation.status == Invitation.Status.EXPIRED
        with pytest.raises(Conflict) as info:
            invitations.invitation_accept(token=token, user=newcomer)
    assert "expired" in info.value.message
    assert not Membership.objects.filter(user=newcomer).exists()


def test_an_invitation_still_works_just_before_it_expires(cast, invite, newcomer):
    invitation, token = invite()
    with time_machine.travel(invitation.expires_at - timedelta(seconds=5)):
        invitations.invitation_accept(token=token, user=newcomer)
    assert Membership.objects.filter(organisation=cast.org, user=newcomer).exists()


def test_an_existing_member_cannot_accept(cast, invite):
    _, token = invite()
    # The newcomer joined some other way meanwhile.
    newcomer = UserFactory(email=NEWCOMER)
    Membership.objects.create(organisation=cast.org, user=newcomer)
    with pytest.raises(Conflict):
        invitations.invitation_accept(token=token, user=newcomer)
    assert Invitation.objects.get().status == Invitation.Status.PENDING


@pytest.mark.parametrize("token", ["", "nonsense", "x" * 43])
def test_an_unknown_link_is_not_found(cast, invite, newcomer, token):
    invite()
    with pytest.raises(NotFound):
        invitations.invitation_accept(token=token, user=newcomer)


def test_a_link_for_a_deleted_team_disappears_with_it(cast, invite, newcomer, as_user):
    team = TeamFactory(organisation=cast.org, slug="short-lived")
    _, token = invite(team=team, team_role=TeamRole.VIEWER)
    team.delete()
    with pytest.raises(NotFound):
        invitations.invitation_accept(token=token, user=newcomer)


# --- Revoking -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("actor", "expected"),
    [("owner", OK), ("admin", OK), ("member", NotAllowed), ("outsider", NotAllowed)],
)
def test_invitation_revoke_table(cast, invite, as_user, new_audit_events, actor, expected):
    invitation, _ = invite()
    since = new_audit_events()
    user = getattr(cast, actor)
    if expected is OK:
        invitations.invitation_revoke(invitation=invitation, actor=as_user(user))
        (event,) = since()
        assert (event.action, event.actor_user, event.organisation, event.after) == (
            "invitation.revoked",
            user,
            cast.org,
            {"email": NEWCOMER, "reason": "revoked"},
        )
    else:
        with pytest.raises(expected):
            invitations.invitation_revoke(invitation=invitation, actor=as_user(user))
        assert since() == []
    invitation.refresh_from_db()
    assert invitation.status == (
        Invitation.Status.REVOKED if expected is OK else Invitation.Status.PENDING
    )


def test_only_pending_invitations_can_be_revoked(cast, invite, newcomer, as_user):
    accepted, token = invite()
    invitations.invitation_accept(token=token, user=newcomer)
    withdrawn, _ = invite("other@example.com")
    invitations.invitation_revoke(invitation=withdrawn, actor=as_user(cast.owner))

    for invitation in (accepted, withdrawn):
        with pytest.raises(Conflict):
            invitations.invitation_revoke(invitation=invitation, actor=as_user(cast.owner))
    accepted.refresh_from_db()
    assert accepted.status == Invitation.Status.ACCEPTED
