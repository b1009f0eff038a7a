"""REST API for gateway connections, their sync runs and the drift report.

Members of the organisation read connections and runs; owners and admins
create, change, delete and sync connections and read drift. A connection's
secret is write-only: responses say only ``has_secret``.
"""

from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from tenants import selectors as tenant_selectors
from tenants.actors import Actor
from tenants.permissions import IsOrgAdmin, IsOrgAdminOrReadOnly, IsOrgMember, TokenScopePermission
from tenants.scoping import OrganisationScopedMixin

from . import selectors_gateways as selectors
from .models import Api, GatewayConnection, SyncRun
from .services import connections
from .services.connections import MAX_INTERVAL, MIN_INTERVAL

# --- Serializers --------------------------------------------------------------


class SyncErrorSerializer(serializers.Serializer):
    where = serializers.CharField(help_text="The API, or 'connection' for the whole run.")
    message = serializers.CharField()


class SyncRunSerializer(serializers.ModelSerializer):
    duration_seconds = serializers.FloatField(read_only=True, allow_null=True)
    is_finished = serializers.BooleanField(read_only=True)
    errors = SyncErrorSerializer(many=True, read_only=True)

    class Meta:
        model = SyncRun
        fields = [
            "id",
            "status",
            "trigger",
            "is_finished",
            "started_at",
            "finished_at",
            "duration_seconds",
            "new",
            "changed",
            "unchanged",
            "missing",
            "calls",
            "errors",
        ]
        read_only_fields = fields


class ConnectionSerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    config = serializers.DictField(child=serializers.CharField(), read_only=True)
    has_secret = serializers.BooleanField(
        read_only=True, help_text="Whether a secret is stored; it is never returned."
    )
    running = serializers.SerializerMethodField(help_text="A run is in progress.")
    last_run = SyncRunSerializer(read_only=True, allow_null=True)

    class Meta:
        model = GatewayConnection
        fields = [
            "id",
            "name",
            "kind",
            "team",
            "config",
            "has_secret",
            "visibility",
            "publish_on_sync",
            "interval_minutes",
            "enabled",
            "running",
            "last_run",
            "created_at",
        ]
        read_only_fields = fields

    def get_running(self, connection) -> bool:
        return connection.running_since is not None


_CONFIG_HELP = (
    "Settings of the kind: aws_rest and aws_http take region (required), endpoint_url, "
    "role_arn, external_id; litellm and apipark take base_url; openapi_url takes url and "
    "name."
)


class ConnectionCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    kind = serializers.ChoiceField(choices=GatewayConnection.Kind.choices)
    team = serializers.SlugField(help_text="The team that owns the APIs the connection brings.")
    config = serializers.DictField(
        child=serializers.CharField(allow_blank=True), default=dict, help_text=_CONFIG_HELP
    )
    secret = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        default="",
        max_length=500,
        help_text="Admin key or token (litellm, apipark). Stored sealed; never returned.",
    )
    visibility = serializers.ChoiceField(
        choices=Api.Visibility.choices, default=Api.Visibility.ORGANISATION
    )
    publish_on_sync = serializers.BooleanField(default=False)
    interval_minutes = serializers.IntegerField(
        min_value=MIN_INTERVAL, max_value=MAX_INTERVAL, default=60
    )
    enabled = serializers.BooleanField(default=True)


class ConnectionUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    team = serializers.SlugField(required=False)
    config = serializers.DictField(
        child=serializers.CharField(allow_blank=True),
        required=False,
        help_text="Replaces the settings as a whole. " + _CONFIG_HELP,
    )
    secret = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=500,
        help_text="A new secret replaces the stored one; empty or absent keeps it.",
    )
    visibility = serializers.ChoiceField(choices=Api.Visibility.choices, required=False)
    publish_on_sync = serializers.BooleanField(required=False)
    interval_minutes = serializers.IntegerField(
        min_value=MIN_INTERVAL, max_value=MAX_INTERVAL, required=False
    )
    enabled = serializers.BooleanField(required=False)


class DriftItemSerializer(serializers.Serializer):
    kind = serializers.CharField(source="kind.code")
    level = serializers.ChoiceField(choices=["warning", "info"], source="kind.level")
    title = serializers.CharField(source="kind.title")
    connection = serializers.IntegerField(source="connection.pk")
    connection_name = serializers.CharField(source="connection.name")
    subject = serializers.CharField()
    detail = serializers.CharField()
    link = serializers.SerializerMethodField(help_text="The portal page to look at.")

    def get_link(self, item) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(item.link) if request is not None else item.link


# --- Views --------------------------------------------------------------------


class _Scoped(OrganisationScopedMixin):
    def actor(self) -> Actor:
        return Actor.from_request(self.request)

    def team(self, slug: str):
        try:
            return tenant_selectors.team_get(organisation=self.organisation, slug=slug)
        except Http404:
            raise serializers.ValidationError({"team": ["No such team here."]}) from None


@extend_schema(tags=["gateways"])
@extend_schema_view(
    list=extend_schema(summary="Gateway connections of the organisation"),
    retrieve=extend_schema(summary="One gateway connection"),
    create=extend_schema(
        summary="Add a gateway connection; its sync is scheduled at once",
        request=ConnectionCreateSerializer,
        responses={201: ConnectionSerializer},
    ),
    partial_update=extend_schema(
        summary="Change a gateway connection; the schedule follows",
        request=ConnectionUpdateSerializer,
        responses={200: ConnectionSerializer},
    ),
    destroy=extend_schema(
        summary="Delete a gateway connection and its schedule; its APIs stay",
        responses={204: None},
    ),
)
class ConnectionViewSet(
    _Scoped,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Gateway connections. Members read them; owners and admins change them. The
    ``secret`` is write-only: responses carry ``has_secret``."""

    serializer_class = ConnectionSerializer
    permission_classes = [IsAuthenticated, TokenScopePermission, IsOrgAdminOrReadOnly]
    lookup_value_regex = r"\d+"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return GatewayConnection.objects.none()
        return selectors.connection_list(organisation=self.organisation)

    def get_object(self):
        return selectors.connection_get(organisation=self.organisation, pk=self.kwargs["pk"])

    def create(self, request, org):
        serializer = ConnectionCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        connection = connections.connection_create(
            organisation=self.organisation,
            team=self.team(data["team"]),
            name=data["name"],
            kind=data["kind"],
            config=data["config"],
            secret=data["secret"],
            visibility=data["visibility"],
            publish_on_sync=data["publish_on_sync"],
            interval_minutes=data["interval_minutes"],
            enabled=data["enabled"],
            actor=self.actor(),
        )
        return Response(ConnectionSerializer(connection).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, org, pk):
        connection = self.get_object()
        serializer = ConnectionUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if "team" in data:
            data["team"] = self.team(data["team"])
        connections.connection_update(connection=connection, actor=self.actor(), **data)
        return Response(ConnectionSerializer(self.get_object()).data)

    def perform_destroy(self, instance):
        connections.connection_delete(connection=instance, actor=self.actor())

    @extend_schema(
        summary="Sync now: queue a run, or return the one already queued or running",
        request=None,
        responses={202: SyncRunSerializer},
    )
    @action(detail=True, methods=["post"])
    def sync(self, request, org, pk):
        run = connections.connection_sync_request(connection=self.get_object(), actor=self.actor())
        return Response(SyncRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


@extend_schema(tags=["gateways"])
@extend_schema_view(
    list=extend_schema(summary="Sync runs of a connection, newest first"),
    retrieve=extend_schema(summary="One sync run"),
)
class SyncRunViewSet(
    _Scoped, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """What each sync of a connection found: counts, gateway calls and errors."""

    serializer_class = SyncRunSerializer
    permission_classes = [IsAuthenticated, TokenScopePermission, IsOrgMember]
    lookup_value_regex = r"\d+"

    def connection(self) -> GatewayConnection:
        return selectors.connection_get(
            organisation=self.organisation, pk=self.kwargs["connection"]
        )

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return SyncRun.objects.none()
        return selectors.run_list(connection=self.connection())

    def get_object(self):
        return selectors.run_get(connection=self.connection(), pk=self.kwargs["pk"])


@extend_schema(tags=["gateways"])
class DriftViewSet(_Scoped, viewsets.GenericViewSet):
    """Drift, as of each connection's last sync: versions retired in the portal that a
    gateway stage still serves, usage plans changed on the gateway, APIs the gateway no
    longer lists. Owners and admins only: it covers every API of the organisation."""

    serializer_class = DriftItemSerializer
    permission_classes = [IsAuthenticated, TokenScopePermission, IsOrgAdmin]

    def get_queryset(self):
        return GatewayConnection.objects.none()  # drift is computed, not a queryset

    @extend_schema(
        summary="Where the portal and its gateways disagree; warnings first",
        responses={200: DriftItemSerializer(many=True)},
    )
    def list(self, request, org):
        items = selectors.drift_list(organisation=self.organisation)
        page = self.paginate_queryset(items)
        serializer = DriftItemSerializer(page, many=True, context={"request": request})
        return self.get_paginated_response(serializer.data)
