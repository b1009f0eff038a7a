"""The one hook lifecycle changes go through to reach people."""

from tenants.models import User
from tenants.roles import TeamRole
from tenants.services.notifications import notify

from .models import LifecycleTransition


def lifecycle_changed(transition: LifecycleTransition) -> None:
    """Tell the owning team's maintainers (subscribers join them later)."""
    version = transition.api_version
    api = version.api
    maintainers = User.objects.filter(
        team_memberships__team=api.team, team_memberships__role=TeamRole.MAINTAINER
    ).exclude(pk=transition.actor_id)
    title = f"{api.name} {version.version} is now {transition.get_to_state_display().lower()}"
    body = transition.reason
    if transition.sunset_at:
        body = f"{body}\nSunset on {transition.sunset_at:%Y-%m-%d}.".strip()
    notify(
        users=maintainers,
        organisation=api.organisation,
        kind=f"lifecycle.{transition.to_state}",
        title=title,
        body=body,
        url=version.get_absolute_url(),
    )
