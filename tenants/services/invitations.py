"""Invitations: e-mailed, expiring, single-use links into an organisation."""

import logging
from datetime import timedelta

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from .. import keys
from ..actors import Actor
from ..errors import Conflict, NotAllowed, NotFound, ValidationFailed
from ..models import Invitation, Membership, Organisation, Team, TeamMembership, User
from ..roles import OrgRole, TeamRole
from .audit import audit_record
from .organisations import require_org_admin, require_team_in

logger = logging.getLogger(__name__)


def invitation_accept_url(token: str) -> str:
    return settings.PORTICO_BASE_URL + reverse("tenants:invitation_accept", kwargs={"token": token})


@transaction.atomic
def invitation_create(
    *,
    organisation: Organisation,
    email: str,
    role: str = OrgRole.MEMBER,
    team: Team | None = None,
    team_role: str = "",
    actor: Actor,
) -> tuple[Invitation, str]:
    """Invite ``email``; returns the invitation and its one-time token.

    A pending invitation to the same address is replaced. The e-mail goes out
    after the transaction commits.
    """
    actor_role = require_org_admin(actor=actor, organisation=organisation)
    email = email.strip().lower()
    if role not in OrgRole.values:
        raise ValidationFailed("Unknown role.", fields={"role": [f"'{role}' is not a role."]})
    if role == OrgRole.OWNER and actor_role != OrgRole.OWNER:
        raise NotAllowed("Only owners may invite owners.")
    if team is not None:
        require_team_in(team=team, organisation_id=organisation.pk)
    if team is None:
        team_role = ""
    elif team_role not in TeamRole.values:
        raise ValidationFailed(
            "Choose the role in the team.", fields={"team_role": ["Choose a team role."]}
        )
    if Membership.objects.filter(organisation=organisation, user__email__iexact=email).exists():
        raise ValidationFailed(
            "Already a member.", fields={"email": [f"{email} is already a member."]}
        )
    now = timezone.now()
    for previous in Invitation.objects.select_for_update().filter(
        organisation=organisation,
        email=email,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=now,
    ):
        _revoke(previous, actor=actor, reason="replaced")
    token, token_digest = keys.new_opaque_token()
    invitation = Invitation.objects.create(
        organisation=organisation,
        email=email,
        role=role,
        team=team,
        team_role=team_role,
        token_digest=token_digest,
        invited_by=actor.user,
        expires_at=now + timedelta(days=settings.INVITATION_EXPIRY_DAYS),
    )
    audit_record(
        actor=actor,
        organisation=organisation,
        action="invitation.created",
        target=invitation,
        after={
            "email": email,
            "role": role,
            "team": team.slug if team else None,
            "team_role": team_role or None,
        },
    )
    accept_url = invitation_accept_url(token)
    transaction.on_commit(lambda: _send_invitation(invitation, accept_url))
    return invitation, token


def _send_invitation(invitation: Invitation, accept_url: str) -> None:
    context = {"invitation": invitation, "accept_url": accept_url}
    try:
        send_mail(
            subject=f"[Portico] You are invited to {invitation.organisation.name}",
            message=render_to_string("tenants/email/invitation.txt", context),
            from_email=None,
            recipient_list=[invitation.email],
        )
    except OSError:
        logger.exception("could not send invitation %s", invitation.pk)


def invitation_get_by_token(*, token: str) -> Invitation:
    invitation = (
        Invitation.objects.select_related("organisation", "team")
        .filter(token_digest=keys.digest(token))
        .first()
    )
    if invitation is None:
        raise NotFound("This invitation link is not valid.")
    return invitation


@transaction.atomic
def invitation_accept(*, token: str, user: User) -> Membership:
    invitation = invitation_get_by_token(token=token)
    status = invitation.status
    if status != Invitation.Status.PENDING:
        raise Conflict(f"This invitation is {status.label.lower()}.")
    if not EmailAddress.objects.filter(
        user=user, email__iexact=invitation.email, verified=True
    ).exists():
        raise NotAllowed(
            f"This invitation is for {invitation.email}; sign in with that verified address."
        )
    if Membership.objects.filter(organisation=invitation.organisation, user=user).exists():
        raise Conflict("You are already a member of this organisation.")
    # The conditional update makes the link single-use even under a race.
    claimed = Invitation.objects.filter(
        pk=invitation.pk,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=timezone.now(),
    ).update(accepted_at=timezone.now(), accepted_by=user)
    if not claimed:
        raise Conflict("This invitation has just been used or withdrawn.")
    membership = Membership.objects.create(
        organisation=invitation.organisation, user=user, role=invitation.role
    )
    if invitation.team is not None:
        TeamMembership.objects.create(
            organisation=invitation.organisation,
            team=invitation.team,
            user=user,
            role=invitation.team_role,
        )
    audit_record(
        actor=Actor.for_user(user),
        organisation=invitation.organisation,
        action="invitation.accepted",
        target=invitation,
        after={
            "user": user.email,
            "role": invitation.role,
            "team": invitation.team.slug if invitation.team else None,
        },
    )
    return membership


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, actor: Actor) -> Invitation:
    require_org_admin(actor=actor, organisation=invitation.organisation)
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.status != Invitation.Status.PENDING:
        raise Conflict(f"This invitation is already {invitation.status.label.lower()}.")
    _revoke(invitation, actor=actor, reason="revoked")
    return invitation


def _revoke(invitation: Invitation, *, actor: Actor, reason: str) -> None:
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    audit_record(
        actor=actor,
        organisation=invitation.organisation,
        action="invitation.revoked",
        target=invitation,
        after={"email": invitation.email, "reason": reason},
    )
