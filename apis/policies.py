"""Who may do what to an API: the owning team's maintainers and the organisation's admins."""

from django.db.models import Exists, OuterRef, QuerySet

from tenants.actors import Actor
from tenants.errors import NotAllowed
from tenants.models import Membership, Organisation, Team, TeamMembership, User
from tenants.roles import OrgRole, TeamRole

from .models import Api


def can_manage_team_apis(*, user: User, team: Team) -> bool:
    if not user.is_authenticated:
        return False
    role = (
        Membership.objects.filter(organisation_id=team.organisation_id, user=user)
        .values_list("role", flat=True)
        .first()
    )
    if role is None:
        return False
    if OrgRole.at_least(role, OrgRole.ADMIN):
        return True
    return TeamMembership.objects.filter(team=team, user=user, role=TeamRole.MAINTAINER).exists()


def organisations_publishing(*, user: User) -> QuerySet[Organisation]:
    """The organisations where ``user`` may add an API: where they are an admin, or
    maintain a team (the same rule as can_manage_team_apis, for all teams at once)."""
    if not user.is_authenticated:
        return Organisation.objects.none()
    admin_roles = [role for role in OrgRole.values if OrgRole.at_least(role, OrgRole.ADMIN)]
    members = Membership.objects.filter(organisation=OuterRef("pk"), user=user)
    maintains = TeamMembership.objects.filter(
        organisation=OuterRef("pk"), user=user, role=TeamRole.MAINTAINER
    )
    return Organisation.objects.filter(
        Exists(members.filter(role__in=admin_roles)) | (Exists(members) & Exists(maintains)),
        is_active=True,
    ).order_by("name")


def can_manage_api(*, user: User, api: Api) -> bool:
    return can_manage_team_apis(user=user, team=api.team)


def require_team_maintainer(*, actor: Actor, team: Team) -> None:
    if actor.kind == "system" or actor.is_platform_staff:
        return
    if not can_manage_team_apis(user=actor.user, team=team):
        raise NotAllowed(
            f"Only maintainers of {team.name} and organisation admins may change its APIs."
        )
