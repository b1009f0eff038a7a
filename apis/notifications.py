"""The one hook lifecycle changes go through to reach people: the owning team's
maintainers, the consumers with live subscriptions, and organisation webhooks."""

from django.db.models import Q

from tenants.models import User
from tenants.roles import TeamRole
from tenants.services.notifications import notify

from .models import LifecycleTransition, Subscription
from .services.events import emit_to

# Consumers hear about the moves that change what they may rely on.
CONSUMER_NEWS = {"deprecated", "retired", "blocked", "published"}


def lifecycle_changed(transition: LifecycleTransition) -> None:
    version = transition.api_version
    api = version.api
    title = f"{api.name} {version.version} is now {transition.get_to_state_display().lower()}"
    body = transition.reason
    if transition.sunset_at:
        body = f"{body}\nSunset on {transition.sunset_at:%Y-%m-%d}.".strip()
    maintainers = User.objects.filter(
        team_memberships__team=api.team, team_memberships__role=TeamRole.MAINTAINER
    ).exclude(pk=transition.actor_id)
    notify(
        users=maintainers,
        organisation=api.organisation,
        kind=f"lifecycle.{transition.to_state}",
        title=title,
        body=body,
        url=version.get_absolute_url(),
    )
    live = Subscription.objects.filter(api=api, state__in=Subscription.LIVE_STATES).select_related(
        "application__team", "organisation"
    )
    consumer_orgs = {}
    if transition.to_state in CONSUMER_NEWS:
        for subscription in live:
            consumer_orgs[subscription.organisation_id] = subscription.organisation
            users = User.objects.filter(
                Q(
                    team_memberships__team=subscription.application.team,
                    team_memberships__role__in=[TeamRole.MAINTAINER, TeamRole.DEVELOPER],
                )
                | Q(owned_applications=subscription.application)
            ).distinct()
            notify(
                users=users,
                organisation=subscription.organisation,
                kind=f"lifecycle.{transition.to_state}",
                title=f"{title} (used by {subscription.application.name})",
                body=body,
                url=subscription.get_absolute_url(),
                email=True,
            )
    emit_to(
        organisations=[api.organisation, *consumer_orgs.values()],
        event=f"lifecycle.{transition.to_state}",
        data={
            "api": {"organisation": api.organisation.slug, "slug": api.slug, "name": api.name},
            "version": version.version,
            "from": transition.from_state,
            "to": transition.to_state,
            "reason": transition.reason,
            "sunset_at": transition.sunset_at.isoformat() if transition.sunset_at else None,
        },
    )
