"""Who may do what to an API: the owning team's maintainers and the organisation's admins."""

from tenants.actors import Actor
from tenants.errors import NotAllowed
from tenants.models import Membership, Team, TeamMembership, User
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


def can_manage_api(*, user: User, api: Api) -> bool:
    return can_manage_team_apis(user=user, team=api.team)


def require_team_maintainer(*, actor: Actor, team: Team) -> None:
    if actor.kind == "system" or actor.is_platform_staff:
        return
    if not can_manage_team_apis(user=actor.user, team=team):
        raise NotAllowed(
            f"Only maintainers of {team.name} and organisation admins may change its APIs."
        )
