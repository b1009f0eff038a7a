"""Reads behind the subscription pages: the teams and applications a user subscribes
with, who decides requests, a subscription's history and deprecation notices."""

from django.db.models import F, QuerySet

from tenants.models import AuditEvent, Organisation, Team, TeamMembership, User
from tenants.roles import TeamRole

from .models import ApiVersion, Application, Subscription
from .selectors_subscriptions import application_list, inbox_list


def consumer_team_list(*, organisation: Organisation, user: User, is_admin: bool) -> QuerySet[Team]:
    """Teams of ``organisation`` whose applications ``user`` may subscribe with: the teams
    where they are developer or maintainer; every team for the organisation's admins."""
    teams = Team.objects.filter(organisation=organisation).order_by("name")
    if is_admin:
        return teams
    return teams.filter(
        memberships__user=user,
        memberships__role__in=[TeamRole.MAINTAINER, TeamRole.DEVELOPER],
    ).distinct()


def consumer_application_list(
    *, organisation: Organisation, user: User, is_admin: bool
) -> QuerySet[Application]:
    teams = consumer_team_list(organisation=organisation, user=user, is_admin=is_admin)
    return application_list(organisation=organisation).filter(team__in=teams).order_by("name")


def is_decider(*, organisation: Organisation, user: User, is_admin: bool) -> bool:
    """Whether ``user`` decides requests for some of ``organisation``'s APIs."""
    if is_admin:
        return True
    return TeamMembership.objects.filter(
        user=user, role=TeamRole.MAINTAINER, organisation=organisation
    ).exists()


def inbox_count(*, organisation: Organisation, user: User, is_admin: bool) -> int:
    return inbox_list(organisation=organisation, user=user, is_admin=is_admin).count()


def subscription_history(*, subscription: Subscription) -> QuerySet[AuditEvent]:
    """The audit events about ``subscription`` written by either side, oldest first."""
    return AuditEvent.objects.filter(
        target_type=Subscription._meta.label_lower,
        target_id=str(subscription.pk),
        organisation_id__in=[subscription.organisation_id, subscription.provider_id],
    ).order_by("created_at", "id")


def deprecated_versions(*, api_ids) -> dict[int, list[ApiVersion]]:
    """The deprecated versions of each API, soonest sunset first."""
    found: dict[int, list[ApiVersion]] = {}
    versions = (
        ApiVersion.objects.filter(api_id__in=set(api_ids), state=ApiVersion.State.DEPRECATED)
        .order_by(F("sunset_at").asc(nulls_last=True), "version")
        .only("id", "api_id", "version", "sunset_at", "state")
    )
    for version in versions:
        found.setdefault(version.api_id, []).append(version)
    return found
