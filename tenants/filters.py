"""Query filters of the tenants REST API (tenants.api) list endpoints."""

import datetime

import django_filters
from django.utils import timezone

from .models import AuditEvent, Invitation, Membership, Team, TeamMembership


class TeamFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Team
        fields = ["name"]


class MembershipFilter(django_filters.FilterSet):
    email = django_filters.CharFilter(field_name="user__email", lookup_expr="icontains")

    class Meta:
        model = Membership
        fields = ["role", "email"]


class TeamMembershipFilter(django_filters.FilterSet):
    email = django_filters.CharFilter(field_name="user__email", lookup_expr="icontains")

    class Meta:
        model = TeamMembership
        fields = ["role", "email"]


class InvitationFilter(django_filters.FilterSet):
    email = django_filters.CharFilter(lookup_expr="icontains")
    pending = django_filters.BooleanFilter(method="filter_pending")

    class Meta:
        model = Invitation
        fields = ["email", "role"]

    def filter_pending(self, queryset, name, value):
        pending = {
            "accepted_at__isnull": True,
            "revoked_at__isnull": True,
            "expires_at__gt": timezone.now(),
        }
        return queryset.filter(**pending) if value else queryset.exclude(**pending)


class UTCDateTimeFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 moment, sent to the database in UTC: PostgreSQL refuses offsets past
    ±15:59, which ISO 8601 and Python allow (up to ±23:59)."""

    def filter(self, qs, value):
        if value is not None and timezone.is_aware(value):
            value = value.astimezone(datetime.UTC)
        return super().filter(qs, value)


class AuditEventFilter(django_filters.FilterSet):
    action = django_filters.CharFilter(lookup_expr="startswith")
    since = UTCDateTimeFilter(field_name="created_at", lookup_expr="gte")
    until = UTCDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = AuditEvent
        fields = ["action", "actor_type", "target_type", "request_id"]
