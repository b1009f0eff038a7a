"""Organisations, teams and the people in them."""

from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from ..actors import Actor
from ..errors import Conflict, NotAllowed, NotFound, ValidationFailed
from ..models import Membership, Organisation, Team, TeamMembership, User
from ..roles import OrgRole, TeamRole
from .audit import audit_record

RESERVED_SLUGS = frozenset({"new", "admin", "api", "settings", "static", "accounts"})


def actor_org_role(*, actor: Actor, organisation: Organisation) -> str:
    """The actor's role in the organisation; the system acts as an owner."""
    if actor.kind == "system":
        return OrgRole.OWNER
    role = (
        Membership.objects.filter(organisation=organisation, user=actor.user)
        .values_list("role", flat=True)
        .first()
    )
    if role is None:
        raise NotAllowed("You are not a member of this organisation.")
    return role


def require_org_admin(*, actor: Actor, organisation: Organisation) -> str:
    role = actor_org_role(actor=actor, organisation=organisation)
    if not OrgRole.at_least(role, OrgRole.ADMIN):
        raise NotAllowed("Only organisation owners and admins may do this.")
    return role


def require_team_in(*, team: Team, organisation_id: int) -> None:
    """Refuse a team of another organisation as unknown: it is not the caller's to name."""
    if team.organisation_id != organisation_id:
        raise ValidationFailed("Unknown team.", fields={"team": ["No such team here."]})


def _check_slug(slug: str) -> None:
    if slug in RESERVED_SLUGS:
        raise ValidationFailed(
            f"'{slug}' is reserved.", fields={"slug": [f"'{slug}' is reserved; choose another."]}
        )


def _owner_count(organisation: Organisation) -> int:
    return Membership.objects.filter(organisation=organisation, role=OrgRole.OWNER).count()


@transaction.atomic
def organisation_create(*, name: str, slug: str, owner: User) -> Organisation:
    """Create an organisation with ``owner`` as its first owner."""
    _check_slug(slug)
    if Organisation.objects.filter(slug=slug).exists():
        raise ValidationFailed(
            "That slug is taken.", fields={"slug": ["An organisation with this slug exists."]}
        )
    try:
        with transaction.atomic():
            organisation = Organisation.objects.create(name=name, slug=slug)
    except IntegrityError as exc:  # a concurrent create won the race
        raise ValidationFailed(
            "That slug is taken.", fields={"slug": ["An organisation with this slug exists."]}
        ) from exc
    Membership.objects.create(organisation=organisation, user=owner, role=OrgRole.OWNER)
    audit_record(
        actor=Actor.for_user(owner),
        organisation=organisation,
        action="organisation.created",
        target=organisation,
        after={"name": name, "slug": slug},
    )
    return organisation


@transaction.atomic
def organisation_update(*, organisation: Organisation, name: str, actor: Actor) -> Organisation:
    require_org_admin(actor=actor, organisation=organisation)
    before = {"name": organisation.name}
    organisation.name = name
    organisation.save(update_fields=["name"])
    audit_record(
        actor=actor,
        organisation=organisation,
        action="organisation.updated",
        target=organisation,
        before=before,
        after={"name": name},
    )
    return organisation


# --- Teams --------------------------------------------------------------------


@transaction.atomic
def team_create(
    *, organisation: Organisation, name: str, slug: str, description: str = "", actor: Actor
) -> Team:
    require_org_admin(actor=actor, organisation=organisation)
    _check_slug(slug)
    if Team.objects.filter(organisation=organisation, slug=slug).exists():
        raise ValidationFailed(
            "That slug is taken.",
            fields={"slug": ["A team with this slug exists in this organisation."]},
        )
    try:
        with transaction.atomic():
            team = Team.objects.create(
                organisation=organisation, name=name, slug=slug, description=description
            )
    except IntegrityError as exc:  # a concurrent create won the race
        raise ValidationFailed(
            "That slug is taken.",
            fields={"slug": ["A team with this slug exists in this organisation."]},
        ) from exc
    audit_record(
        actor=actor,
        organisation=organisation,
        action="team.created",
        target=team,
        after={"name": name, "slug": slug},
    )
    return team


@transaction.atomic
def team_update(*, team: Team, name: str, description: str, actor: Actor) -> Team:
    require_org_admin(actor=actor, organisation=team.organisation)
    before = {"name": team.name, "description": team.description}
    team.name, team.description = name, description
    team.save(update_fields=["name", "description"])
    audit_record(
        actor=actor,
        organisation=team.organisation,
        action="team.updated",
        target=team,
        before=before,
        after={"name": name, "description": description},
    )
    return team


@transaction.atomic
def team_delete(*, team: Team, actor: Actor) -> None:
    require_org_admin(actor=actor, organisation=team.organisation)
    audit_record(
        actor=actor,
        organisation=team.organisation,
        action="team.deleted",
        target=team,
        before={"name": team.name, "slug": team.slug},
    )
    try:
        with transaction.atomic():
            team.delete()
    except ProtectedError as exc:
        raise Conflict(
            "This team still owns APIs or applications; move or delete them first."
        ) from exc


@transaction.atomic
def team_member_set(*, team: Team, user: User, role: str, actor: Actor) -> TeamMembership:
    """Add ``user`` to ``team`` with ``role``, or change the role they have."""
    require_org_admin(actor=actor, organisation=team.organisation)
    if role not in TeamRole.values:
        raise ValidationFailed("Unknown role.", fields={"role": [f"'{role}' is not a team role."]})
    if not Membership.objects.filter(organisation=team.organisation, user=user).exists():
        raise ValidationFailed(
            "Only members of the organisation can join its teams.",
            fields={"user": ["This person is not a member of the organisation."]},
        )
    existing = TeamMembership.objects.select_for_update().filter(team=team, user=user).first()
    if existing is None:
        try:
            with transaction.atomic():
                team_membership = TeamMembership.objects.create(
                    organisation=team.organisation, team=team, user=user, role=role
                )
        except IntegrityError as exc:  # a concurrent add (a double click) won the race
            raise Conflict(f"{user.email} has just been added to this team.") from exc
        audit_record(
            actor=actor,
            organisation=team.organisation,
            action="team_membership.added",
            target=team_membership,
            after={"team": team.slug, "user": user.email, "role": role},
        )
        return team_membership
    if existing.role != role:
        before = {"role": existing.role}
        existing.role = role
        existing.save(update_fields=["role"])
        audit_record(
            actor=actor,
            organisation=team.organisation,
            action="team_membership.role_changed",
            target=existing,
            before=before,
            after={"role": role},
        )
    return existing


@transaction.atomic
def team_member_remove(*, team_membership: TeamMembership, actor: Actor) -> None:
    require_org_admin(actor=actor, organisation=team_membership.organisation)
    audit_record(
        actor=actor,
        organisation=team_membership.organisation,
        action="team_membership.removed",
        target=team_membership,
        before={
            "team": team_membership.team.slug,
            "user": team_membership.user.email,
            "role": team_membership.role,
        },
    )
    team_membership.delete()


# --- Organisation members -----------------------------------------------------


@transaction.atomic
def membership_change_role(*, membership: Membership, role: str, actor: Actor) -> Membership:
    organisation = membership.organisation
    actor_role = require_org_admin(actor=actor, organisation=organisation)
    if role not in OrgRole.values:
        raise ValidationFailed(
            "Unknown role.", fields={"role": [f"'{role}' is not an organisation role."]}
        )
    membership = _lock_membership(membership)
    if OrgRole.OWNER in (role, membership.role) and actor_role != OrgRole.OWNER:
        raise NotAllowed("Only owners may grant or take away the owner role.")
    if membership.role == OrgRole.OWNER and role != OrgRole.OWNER:
        _refuse_if_last_owner(organisation)
    if membership.role == role:
        return membership
    before = {"role": membership.role}
    membership.role = role
    membership.save(update_fields=["role"])
    audit_record(
        actor=actor,
        organisation=organisation,
        action="membership.role_changed",
        target=membership,
        before=before,
        after={"role": role},
    )
    return membership


def _lock_membership(membership: Membership) -> Membership:
    """Lock the organisation's owners, then ``membership``, and return it as it is now.

    Deciding on the caller's copy could act on a stale role. Locking the owners first,
    in one order, keeps two owners who demote or remove each other at the same time
    from deadlocking, and lets the last-owner check count rows nobody else can change.
    """
    list(
        Membership.objects.select_for_update()
        .filter(organisation_id=membership.organisation_id, role=OrgRole.OWNER)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    locked = (
        Membership.objects.select_for_update(of=("self",))
        .select_related("organisation", "user")
        .filter(pk=membership.pk)
        .first()
    )
    if locked is None:
        raise NotFound("This person is no longer a member.")
    return locked


def _refuse_if_last_owner(organisation: Organisation) -> None:
    # The owners are locked by _lock_membership: nobody can change them meanwhile.
    if _owner_count(organisation) <= 1:
        raise Conflict("An organisation needs at least one owner; appoint another first.")


@transaction.atomic
def membership_remove(*, membership: Membership, actor: Actor) -> None:
    """Remove a member from the organisation and all its teams."""
    organisation = membership.organisation
    actor_role = require_org_admin(actor=actor, organisation=organisation)
    membership = _lock_membership(membership)
    if membership.role == OrgRole.OWNER:
        if actor_role != OrgRole.OWNER:
            raise NotAllowed("Only owners may remove an owner.")
        _refuse_if_last_owner(organisation)
    _leave(membership=membership, actor=actor, action="membership.removed")


@transaction.atomic
def membership_leave(*, membership: Membership) -> None:
    """The member leaves the organisation themselves."""
    membership = _lock_membership(membership)
    if membership.role == OrgRole.OWNER:
        _refuse_if_last_owner(membership.organisation)
    _leave(membership=membership, actor=Actor.for_user(membership.user), action="membership.left")


def _leave(*, membership: Membership, actor: Actor, action: str) -> None:
    teams = list(
        TeamMembership.objects.filter(
            organisation=membership.organisation, user=membership.user
        ).values_list("team__slug", flat=True)
    )
    audit_record(
        actor=actor,
        organisation=membership.organisation,
        action=action,
        target=membership,
        before={"user": membership.user.email, "role": membership.role, "teams": teams},
    )
    TeamMembership.objects.filter(
        organisation=membership.organisation, user=membership.user
    ).delete()
    membership.delete()
