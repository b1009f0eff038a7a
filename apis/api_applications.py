"""REST API of what subscriptions are made of: an API's plans (``/apis/<owner>/<api>/
plans/``: whoever sees the API reads its open plans, its maintainers and the
organisation's admins write them and see closed ones) and the organisation's
applications (members read them, the owning team's developers and maintainers write
them). The serializers are in apis.serializers_subscriptions.
"""

import django_filters
from django.db.models import Q
from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from tenants import selectors as tenant_selectors
from tenants.actors import Actor
from tenants.permissions import IsOrgMember, TokenScopePermission

from . import selectors as catalogue_selectors
from . import selectors_subscriptions as selectors
from .api import api_for_request
from .api_subscriptions import Scoped, field_error
from .models import Api, Application, Plan
from .policies import require_team_maintainer
from .serializers_subscriptions import (
    ApplicationCreateSerializer,
    ApplicationSerializer,
    ApplicationUpdateSerializer,
    PlanCreateSerializer,
    PlanSerializer,
    PlanUpdateSerializer,
)
from .services import applications, plans

# --- Plans ------------------------------------------------------------------------


@extend_schema(tags=["subscriptions"])
@extend_schema_view(
    list=extend_schema(summary="Plans of an API: open ones; its owners see closed ones too"),
    retrieve=extend_schema(summary="One plan"),
    create=extend_schema(
        summary="Add a plan (the API team's maintainers and organisation admins)",
        request=PlanCreateSerializer,
        responses={201: PlanSerializer},
    ),
    partial_update=extend_schema(
        summary="Change a plan's terms; existing subscriptions keep their keys",
        request=PlanUpdateSerializer,
        responses={200: PlanSerializer},
    ),
)
class PlanViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = PlanSerializer
    lookup_value_regex = r"\d+"
    http_method_names = ["get", "post", "patch", "head", "options"]

    def api(self) -> Api:
        if not hasattr(self, "_api"):
            self._api = api_for_request(
                self.request, owner=self.kwargs["owner"], slug=self.kwargs["api"]
            )
        return self._api

    def is_owner(self) -> bool:
        if not hasattr(self, "_is_owner"):
            self._is_owner = catalogue_selectors.is_api_owner(
                user=self.request.user, api=self.api()
            )
        return self._is_owner

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if not getattr(self, "swagger_fake_view", False):
            context["is_owner"] = self.is_owner()
        return context

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Plan.objects.none()
        return selectors.plan_list(api=self.api(), include_closed=self.is_owner())

    def get_object(self) -> Plan:
        return selectors.plan_get(
            api=self.api(), pk=self.kwargs["pk"], include_closed=self.is_owner()
        )

    def _answer(self, plan: Plan, status_code: int = status.HTTP_200_OK) -> Response:
        return Response(
            PlanSerializer(plan, context=self.get_serializer_context()).data, status=status_code
        )

    def create(self, request, owner, api):
        api = self.api()
        actor = Actor.from_request(request)
        require_team_maintainer(actor=actor, team=api.team)
        serializer = PlanCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        plan = plans.plan_create(api=api, actor=actor, **serializer.validated_data)
        return self._answer(plan, status.HTTP_201_CREATED)

    def partial_update(self, request, owner, api, pk):
        plan = self.get_object()
        actor = Actor.from_request(request)
        require_team_maintainer(actor=actor, team=plan.api.team)
        serializer = PlanUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        plan = plans.plan_update(plan=plan, actor=actor, **serializer.validated_data)
        return self._answer(plan)

    @extend_schema(
        summary="Close a plan to new subscriptions; those it has keep it",
        request=None,
        responses={200: PlanSerializer},
    )
    @action(detail=True, methods=["post"])
    def close(self, request, owner, api, pk):
        plan = self.get_object()
        actor = Actor.from_request(request)
        require_team_maintainer(actor=actor, team=plan.api.team)
        return self._answer(plans.plan_retire(plan=plan, actor=actor))


# --- Applications -------------------------------------------------------------------


class ApplicationFilter(django_filters.FilterSet):
    team = django_filters.CharFilter(field_name="team__slug", help_text="A team's slug.")
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Application
        fields = ["team", "name"]


@extend_schema(tags=["subscriptions"])
@extend_schema_view(
    list=extend_schema(summary="Applications of the organisation's teams"),
    retrieve=extend_schema(summary="One application"),
    create=extend_schema(
        summary="Create an application in a team you develop in",
        request=ApplicationCreateSerializer,
        responses={201: ApplicationSerializer},
    ),
    partial_update=extend_schema(
        summary="Change an application's name, description or owners",
        request=ApplicationUpdateSerializer,
        responses={200: ApplicationSerializer},
    ),
    destroy=extend_schema(summary="Delete an application without live subscriptions"),
)
class ApplicationViewSet(
    Scoped,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Members read applications; developers and maintainers of the owning team (and
    organisation admins) create, change and delete them."""

    serializer_class = ApplicationSerializer
    permission_classes = [IsAuthenticated, TokenScopePermission, IsOrgMember]
    filterset_class = ApplicationFilter
    lookup_value_regex = r"\d+"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Application.objects.none()
        return (
            selectors.application_list(organisation=self.organisation)
            .select_related("created_by")
            .prefetch_related("owners")
            .order_by("name", "id")
        )

    def get_object(self) -> Application:
        return selectors.application_get(organisation=self.organisation, pk=self.kwargs["pk"])

    def owners(self, emails: list[str]):
        """The members with these addresses; an address nobody here has is a field error."""
        wanted = {email.lower() for email in emails}
        if not wanted:
            return []
        matches = Q()
        for email in wanted:
            matches |= Q(user__email__iexact=email)
        members = tenant_selectors.membership_list(organisation=self.organisation).filter(matches)
        users = {membership.user.email.lower(): membership.user for membership in members}
        unknown = sorted(wanted - set(users))
        if unknown:
            raise field_error("owners", f"No member of this organisation has {unknown[0]}.")
        return list(users.values())

    def _answer(self, application: Application, status_code=status.HTTP_200_OK) -> Response:
        application = self.get_queryset().get(pk=application.pk)
        return Response(ApplicationSerializer(application).data, status=status_code)

    def create(self, request, org):
        serializer = ApplicationCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            team = tenant_selectors.team_get(organisation=self.organisation, slug=data["team"])
        except Http404:
            raise field_error("team", "This organisation has no team with this slug.") from None
        application = applications.application_create(
            team=team,
            name=data["name"],
            description=data["description"],
            owners=self.owners(data["owners"]) if "owners" in data else None,
            actor=self.actor(),
        )
        return self._answer(application, status.HTTP_201_CREATED)

    def partial_update(self, request, org, pk):
        application = self.get_object()
        serializer = ApplicationUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if "owners" in data:
            data["owners"] = self.owners(data["owners"])
        applications.application_update(application=application, actor=self.actor(), **data)
        return self._answer(application)

    def perform_destroy(self, instance):
        applications.application_delete(application=instance, actor=self.actor())


__all__ = ["ApplicationViewSet", "PlanViewSet"]
