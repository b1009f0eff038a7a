"""Serializers of the tenants REST API (tenants.api): organisations, teams, members,
invitations, access tokens and audit events. Roles, owners and times are read-only."""

from rest_framework import serializers

from .models import (
    AccessToken,
    AuditEvent,
    Invitation,
    Membership,
    Organisation,
    Team,
    TeamMembership,
    User,
)
from .roles import OrgRole, TeamRole


class OrganisationSerializer(serializers.ModelSerializer):
    role = serializers.SerializerMethodField(help_text="Your role in this organisation.")

    class Meta:
        model = Organisation
        fields = ["slug", "name", "created_at", "role"]
        read_only_fields = ["created_at", "role"]

    def get_role(self, organisation) -> str:
        return self.context["roles"].get(organisation.pk, "")


class OrganisationUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)


class TeamSerializer(serializers.ModelSerializer):
    member_count = serializers.IntegerField(read_only=True, default=0)

    class Meta:
        model = Team
        fields = ["slug", "name", "description", "member_count", "created_at"]
        read_only_fields = ["created_at"]


class TeamUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    description = serializers.CharField(max_length=2000, allow_blank=True, required=False)


class TeamMembershipSerializer(serializers.ModelSerializer):
    email = serializers.EmailField(source="user.email", read_only=True)

    class Meta:
        model = TeamMembership
        fields = ["id", "email", "role", "created_at"]
        read_only_fields = ["id", "email", "created_at"]


class TeamMembershipCreateSerializer(serializers.Serializer):
    email = serializers.EmailField(help_text="A member of the organisation.")
    role = serializers.ChoiceField(choices=TeamRole.choices)


class TeamRoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=TeamRole.choices)


class MembershipSerializer(serializers.ModelSerializer):
    email = serializers.EmailField(source="user.email", read_only=True)
    name = serializers.CharField(source="user.get_full_name", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "email", "name", "role", "created_at"]
        read_only_fields = fields


class OrgRoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=OrgRole.choices)


class InvitationSerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True, help_text="Null: no team."
    )
    team_role = serializers.ChoiceField(
        choices=TeamRole.choices, allow_blank=True, read_only=True, help_text="Empty: no team."
    )
    status = serializers.ChoiceField(choices=Invitation.Status.choices, read_only=True)
    invited_by = serializers.EmailField(source="invited_by.email", read_only=True, default=None)

    class Meta:
        model = Invitation
        fields = [
            "id",
            "email",
            "role",
            "team",
            "team_role",
            "status",
            "invited_by",
            "created_at",
            "expires_at",
        ]
        read_only_fields = fields


class InvitationCreateSerializer(serializers.Serializer):
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=OrgRole.choices, default=OrgRole.MEMBER)
    team = serializers.SlugField(required=False, allow_null=True, default=None)
    team_role = serializers.ChoiceField(
        choices=TeamRole.choices, required=False, allow_blank=True, default=""
    )


class InvitationAcceptSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=200)


class AccessTokenSerializer(serializers.ModelSerializer):
    prefix = serializers.CharField(source="display_prefix", read_only=True)
    organisation = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    is_active = serializers.BooleanField(read_only=True)

    class Meta:
        model = AccessToken
        fields = [
            "id",
            "name",
            "prefix",
            "scope",
            "organisation",
            "is_active",
            "created_at",
            "expires_at",
            "revoked_at",
            "last_used_at",
        ]
        read_only_fields = fields


class AccessTokenCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    scope = serializers.ChoiceField(choices=AccessToken.Scope.choices, default="read")
    expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    organisation = serializers.SlugField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Limit the token to this organisation.",
    )


class AccessTokenCreatedSerializer(AccessTokenSerializer):
    token = serializers.CharField(read_only=True, help_text="Shown once; store it now.")

    class Meta(AccessTokenSerializer.Meta):
        fields = [*AccessTokenSerializer.Meta.fields, "token"]
        read_only_fields = fields


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "created_at",
            "actor_type",
            "actor_label",
            "action",
            "target_type",
            "target_id",
            "target_label",
            "before",
            "after",
            "request_id",
        ]
        read_only_fields = fields


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "first_name", "last_name"]
        read_only_fields = fields
