"""Tenant-scoped reads. Each takes the user or organisation first; "missing"
and "not yours" are the same 404."""

from django.db.models import Count, QuerySet
from django.http import Http404

from .models import (
    AccessToken,
    AuditEvent,
    Invitation,
    Membership,
    Notification,
    Organisation,
    Team,
    TeamMembership,
    User,
)


def _one(queryset: QuerySet, **lookup):
    obj = queryset.filter(**lookup).first()
    if obj is None:
        raise Http404("Not found.")
    return obj


def organisation_list_for_user(*, user: User) -> QuerySet[Organisation]:
    return Organisation.objects.filter(memberships__user=user, is_active=True).order_by("name")


def membership_list_for_user(*, user: User) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(user=user, organisation__is_active=True)
        .select_related("organisation")
        .order_by("organisation__name")
    )


def team_list(*, organisation: Organisation) -> QuerySet[Team]:
    return Team.objects.filter(organisation=organisation).annotate(
        member_count=Count("memberships")
    )


def team_get(*, organisation: Organisation, slug: str) -> Team:
    return _one(Team.objects.select_related("organisation"), organisation=organisation, slug=slug)


def team_list_for_user(*, organisation: Organisation, user: User) -> QuerySet[Team]:
    return Team.objects.filter(organisation=organisation, memberships__user=user)


def membership_list(*, organisation: Organisation) -> QuerySet[Membership]:
    return Membership.objects.filter(organisation=organisation).select_related("user")


def member_user_list(*, organisation: Organisation) -> QuerySet[User]:
    """The organisation's active members as users, by e-mail."""
    members = membership_list(organisation=organisation).values("user_id")
    return User.objects.filter(pk__in=members, is_active=True).order_by("email")


def roles_by_organisation(*, user: User) -> dict[int, str]:
    """The user's role in each organisation they belong to, by organisation id."""
    return dict(Membership.objects.filter(user=user).values_list("organisation_id", "role"))


def membership_get(*, organisation: Organisation, pk: int) -> Membership:
    return _one(membership_list(organisation=organisation).select_related("organisation"), pk=pk)


def team_membership_list(*, team: Team) -> QuerySet[TeamMembership]:
    return TeamMembership.objects.filter(team=team, organisation=team.organisation).select_related(
        "user", "team"
    )


def team_membership_get(*, team: Team, pk: int) -> TeamMembership:
    return _one(team_membership_list(team=team).select_related("organisation"), pk=pk)


def invitation_list(*, organisation: Organisation) -> QuerySet[Invitation]:
    return Invitation.objects.filter(organisation=organisation).select_related(
        "team", "invited_by", "organisation"
    )


def invitation_get(*, organisation: Organisation, pk: int) -> Invitation:
    return _one(invitation_list(organisation=organisation), pk=pk)


def token_list(*, user: User) -> QuerySet[AccessToken]:
    return AccessToken.objects.filter(user=user).select_related("organisation")


def token_get(*, user: User, pk: int) -> AccessToken:
    return _one(token_list(user=user), pk=pk)


def audit_event_list(*, organisation: Organisation) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(organisation=organisation)


def team_candidate_list(*, team: Team) -> QuerySet[User]:
    """Members of the team's organisation who are not in the team yet."""
    return (
        User.objects.filter(memberships__organisation=team.organisation)
        .exclude(team_memberships__team=team)
        .order_by("email")
    )


def notification_list(*, user: User) -> QuerySet[Notification]:
    return Notification.objects.filter(user=user).select_related("organisation")


def notification_get(*, user: User, pk: int) -> Notification:
    return _one(notification_list(user=user), pk=pk)


def notification_unread_count(*, user: User) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()
