"""REST API for organisations, teams, members, invitations, tokens and audit events."""

from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from . import selectors
from .actors import Actor
from .filters import (
    AuditEventFilter,
    InvitationFilter,
    MembershipFilter,
    TeamFilter,
    TeamMembershipFilter,
)
from .models import AccessToken, Organisation, Team, TeamMembership, User
from .permissions import (
    IsOrgAdmin,
    IsOrgAdminOrReadOnly,
    IsOrgMember,
    TokenScopePermission,
    UnrestrictedToken,
)
from .scoping import OrganisationScopedMixin
from .serializers import (
    AccessTokenCreatedSerializer,
    AccessTokenCreateSerializer,
    AccessTokenSerializer,
    AuditEventSerializer,
    InvitationAcceptSerializer,
    InvitationCreateSerializer,
    InvitationSerializer,
    MembershipSerializer,
    OrganisationSerializer,
    OrganisationUpdateSerializer,
    OrgRoleSerializer,
    TeamMembershipCreateSerializer,
    TeamMembershipSerializer,
    TeamRoleSerializer,
    TeamSerializer,
    TeamUpdateSerializer,
    UserSerializer,
)
from .services import invitations, organisations, tokens


class _Scoped(OrganisationScopedMixin):
    """Organisation-scoped viewset: resolves ``<org>`` before permissions."""

    def actor(self) -> Actor:
        return Actor.from_request(self.request)


@extend_schema(tags=["me"])
class MeView(generics.GenericAPIView):
    serializer_class = UserSerializer
    queryset = User.objects.none()

    @extend_schema(summary="The signed-in user", responses={200: UserSerializer})
    def get(self, request):
        return Response(UserSerializer(request.user).data)


@extend_schema(tags=["organisations"])
@extend_schema_view(
    list=extend_schema(summary="Organisations you belong to"),
    retrieve=extend_schema(summary="One organisation"),
    create=extend_schema(summary="Create an organisation; you become its owner"),
    partial_update=extend_schema(
        summary="Rename an organisation", request=OrganisationUpdateSerializer
    ),
)
class OrganisationViewSet(
    _Scoped,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = OrganisationSerializer
    lookup_field = "slug"
    lookup_url_kwarg = "org"
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_permissions(self):
        if self.action == "leave":
            return super().get_permissions()  # any member may leave: the action's own classes
        if "org" in self.kwargs:
            return [IsAuthenticated(), TokenScopePermission(), IsOrgAdminOrReadOnly()]
        return [IsAuthenticated(), TokenScopePermission()]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Organisation.objects.none()
        if "org" in self.kwargs and self.organisation is not None:
            return Organisation.objects.filter(pk=self.organisation.pk)
        queryset = selectors.organisation_list_for_user(user=self.request.user)
        token = self.request.auth
        if isinstance(token, AccessToken) and token.organisation_id:
            queryset = queryset.filter(pk=token.organisation_id)
        return queryset

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if self.request.user.is_authenticated:
            context["roles"] = selectors.roles_by_organisation(user=self.request.user)
        return context

    def create(self, request):
        token = request.auth
        if isinstance(token, AccessToken) and token.organisation_id:
            raise PermissionDenied(
                "This token belongs to one organisation and cannot create organisations."
            )
        serializer = OrganisationSerializer(data=request.data, context={"roles": {}})
        serializer.is_valid(raise_exception=True)
        organisation = organisations.organisation_create(
            name=serializer.validated_data["name"],
            slug=serializer.validated_data["slug"].lower(),
            owner=request.user,
        )
        return Response(
            OrganisationSerializer(organisation, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
        )

    def partial_update(self, request, org):
        serializer = OrganisationUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        organisation = self.organisation
        if "name" in serializer.validated_data:
            organisation = organisations.organisation_update(
                organisation=organisation,
                name=serializer.validated_data["name"],
                actor=self.actor(),
            )
        return Response(
            OrganisationSerializer(organisation, context=self.get_serializer_context()).data
        )

    @extend_schema(summary="Leave the organisation", request=None, responses={204: None})
    @action(
        detail=True,
        methods=["post"],
        permission_classes=[IsAuthenticated, IsOrgMember, TokenScopePermission],
    )
    def leave(self, request, org):
        organisations.membership_leave(membership=self.membership)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["teams"])
@extend_schema_view(
    list=extend_schema(summary="Teams of the organisation"),
    retrieve=extend_schema(summary="One team"),
    create=extend_schema(summary="Create a team", request=TeamSerializer),
    partial_update=extend_schema(summary="Change a team", request=TeamUpdateSerializer),
    destroy=extend_schema(summary="Delete a team"),
)
class TeamViewSet(
    _Scoped,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = TeamSerializer
    permission_classes = [IsAuthenticated, TokenScopePermission, IsOrgAdminOrReadOnly]
    filterset_class = TeamFilter
    lookup_field = "slug"
    lookup_url_kwarg = "team"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return selectors.team_list(organisation=self.organisation).order_by("name")

    def get_object(self):
        # From the annotated list, so that one team reports its member_count too.
        team = self.get_queryset().filter(slug=self.kwargs["team"]).first()
        if team is None:
            raise Http404("Not found.")
        return team

    def create(self, request, org):
        serializer = TeamSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        team = organisations.team_create(
            organisation=self.organisation,
            name=data["name"],
            slug=data["slug"].lower(),
            description=data.get("description", ""),
            actor=self.actor(),
        )
        return Response(TeamSerializer(team).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, org, team):
        team = self.get_object()
        serializer = TeamUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        team = organisations.team_update(
            team=team,
            name=serializer.validated_data.get("name", team.name),
            description=serializer.validated_data.get("description", team.description),
            actor=self.actor(),
        )
        return Response(TeamSerializer(team).data)

    def perform_destroy(self, instance):
        organisations.team_delete(team=instance, actor=self.actor())


@extend_schema(tags=["teams"])
@extend_schema_view(
    list=extend_schema(summary="Members of a team"),
    retrieve=extend_schema(summary="One team member"),
    create=extend_schema(
        summary="Add an organisation member to the team",
        request=TeamMembershipCreateSerializer,
    ),
    partial_update=extend_schema(summary="Change a team role", request=TeamRoleSerializer),
    destroy=extend_schema(summary="Remove from the team"),
)
class TeamMembershipViewSet(
    _Scoped,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = TeamMembershipSerializer
    permission_classes = [IsAuthenticated, TokenScopePermission, IsOrgAdminOrReadOnly]
    filterset_class = TeamMembershipFilter
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def team(self) -> Team:
        return selectors.team_get(organisation=self.organisation, slug=self.kwargs["team"])

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return TeamMembership.objects.none()
        return selectors.team_membership_list(team=self.team())

    def get_object(self):
        return selectors.team_membership_get(team=self.team(), pk=self.kwargs["pk"])

    def create(self, request, org, team):
        team = self.team()
        serializer = TeamMembershipCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = (
            selectors.membership_list(organisation=self.organisation)
            .filter(user__email__iexact=serializer.validated_data["email"])
            .first()
        )
        if membership is None:
            raise serializers.ValidationError(
                {"email": ["No member of this organisation has this address."]}
            )
        team_membership = organisations.team_member_set(
            team=team,
            user=membership.user,
            role=serializer.validated_data["role"],
            actor=self.actor(),
        )
        return Response(
            TeamMembershipSerializer(team_membership).data, status=status.HTTP_201_CREATED
        )

    def partial_update(self, request, org, team, pk):
        team_membership = self.get_object()
        serializer = TeamRoleSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        team_membership = organisations.team_member_set(
            team=team_membership.team,
            user=team_membership.user,
            role=serializer.validated_data.get("role", team_membership.role),
            actor=self.actor(),
        )
        return Response(TeamMembershipSerializer(team_membership).data)

    def perform_destroy(self, instance):
        organisations.team_member_remove(team_membership=instance, actor=self.actor())


@extend_schema(tags=["members"])
@extend_schema_view(
    list=extend_schema(summary="Members of the organisation"),
    retrieve=extend_schema(summary="One member"),
    partial_update=extend_schema(summary="Change a member's role", request=OrgRoleSerializer),
    destroy=extend_schema(summary="Remove a member from the organisation and its teams"),
)
class MembershipViewSet(
    _Scoped,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = MembershipSerializer
    permission_classes = [IsAuthenticated, TokenScopePermission, IsOrgAdminOrReadOnly]
    filterset_class = MembershipFilter
    http_method_names = ["get", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return selectors.membership_list(organisation=self.organisation).order_by("user__email")

    def get_object(self):
        return selectors.membership_get(organisation=self.organisation, pk=self.kwargs["pk"])

    def partial_update(self, request, org, pk):
        membership = self.get_object()
        serializer = OrgRoleSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        membership = organisations.membership_change_role(
            membership=membership,
            role=serializer.validated_data.get("role", membership.role),
            actor=self.actor(),
        )
        return Response(MembershipSerializer(membership).data)

    def perform_destroy(self, instance):
        organisations.membership_remove(membership=instance, actor=self.actor())


@extend_schema(tags=["invitations"])
@extend_schema_view(
    list=extend_schema(summary="Invitations of the organisation"),
    retrieve=extend_schema(summary="One invitation"),
    create=extend_schema(
        summary="Invite someone by e-mail",
        request=InvitationCreateSerializer,
        responses={201: InvitationSerializer},
    ),
)
class InvitationViewSet(
    _Scoped,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = InvitationSerializer
    permission_classes = [IsAuthenticated, TokenScopePermission, IsOrgAdmin]
    filterset_class = InvitationFilter

    def get_queryset(self):
        return selectors.invitation_list(organisation=self.organisation)

    def get_object(self):
        return selectors.invitation_get(organisation=self.organisation, pk=self.kwargs["pk"])

    def create(self, request, org):
        serializer = InvitationCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        team = None
        if data["team"]:
            team = (
                selectors.team_list(organisation=self.organisation)
                .filter(slug=data["team"])
                .first()
            )
            if team is None:
                raise serializers.ValidationError({"team": ["No team with this slug."]})
        invitation, _token = invitations.invitation_create(
            organisation=self.organisation,
            email=data["email"],
            role=data["role"],
            team=team,
            team_role=data["team_role"],
            actor=self.actor(),
        )
        return Response(InvitationSerializer(invitation).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Withdraw a pending invitation", request=None, responses={200: InvitationSerializer}
    )
    @action(detail=True, methods=["post"])
    def revoke(self, request, org, pk):
        invitation = invitations.invitation_revoke(invitation=self.get_object(), actor=self.actor())
        return Response(InvitationSerializer(invitation).data)


@extend_schema(tags=["invitations"])
class InvitationAcceptViewSet(viewsets.GenericViewSet):
    serializer_class = InvitationAcceptSerializer
    permission_classes = [IsAuthenticated, TokenScopePermission, UnrestrictedToken]

    @extend_schema(
        summary="Accept an invitation with the token from its e-mail",
        responses={200: OrganisationSerializer},
    )
    def create(self, request):
        serializer = InvitationAcceptSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = invitations.invitation_accept(
            token=serializer.validated_data["token"], user=request.user
        )
        context = {"roles": {membership.organisation_id: membership.role}}
        return Response(OrganisationSerializer(membership.organisation, context=context).data)


@extend_schema(tags=["tokens"])
@extend_schema_view(
    list=extend_schema(summary="Your access tokens (prefixes only)"),
    retrieve=extend_schema(summary="One access token"),
    create=extend_schema(
        summary="Create an access token; the token is in this response only",
        request=AccessTokenCreateSerializer,
        responses={201: AccessTokenCreatedSerializer},
    ),
)
class AccessTokenViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = AccessTokenSerializer
    permission_classes = [IsAuthenticated, TokenScopePermission, UnrestrictedToken]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return AccessToken.objects.none()
        return selectors.token_list(user=self.request.user)

    def get_object(self):
        return selectors.token_get(user=self.request.user, pk=self.kwargs["pk"])

    def create(self, request):
        serializer = AccessTokenCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        organisation = None
        if data["organisation"]:
            organisation = (
                selectors.organisation_list_for_user(user=request.user)
                .filter(slug=data["organisation"])
                .first()
            )
            if organisation is None:
                raise serializers.ValidationError(
                    {"organisation": ["You are not a member of this organisation."]}
                )
        token, plaintext = tokens.token_create(
            user=request.user,
            name=data["name"],
            scope=data["scope"],
            expires_at=data["expires_at"],
            organisation=organisation,
            actor=Actor.from_request(request),
        )
        body = AccessTokenCreatedSerializer(token).data
        body["token"] = plaintext
        response = Response(body, status=status.HTTP_201_CREATED)
        response["Cache-Control"] = "no-store"
        return response

    @extend_schema(
        summary="Revoke an access token", request=None, responses={200: AccessTokenSerializer}
    )
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk):
        token = tokens.token_revoke(token=self.get_object(), actor=Actor.from_request(request))
        return Response(AccessTokenSerializer(token).data)


@extend_schema(tags=["audit"])
@extend_schema_view(
    list=extend_schema(summary="Audit events of the organisation, newest first"),
    retrieve=extend_schema(summary="One audit event"),
)
class AuditEventViewSet(
    _Scoped,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = AuditEventSerializer
    permission_classes = [IsAuthenticated, TokenScopePermission, IsOrgAdmin]
    filterset_class = AuditEventFilter

    def get_queryset(self):
        return selectors.audit_event_list(organisation=self.organisation)


__all__ = [
    "AccessTokenViewSet",
    "AuditEventViewSet",
    "InvitationAcceptViewSet",
    "InvitationViewSet",
    "MeView",
    "MembershipViewSet",
    "OrganisationViewSet",
    "TeamMembershipViewSet",
    "TeamViewSet",
]
