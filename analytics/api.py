"""REST API of analytics, scoped to an organisation (``/organisations/<org>/...``):
log sources with their uploads and import runs, alert rules, and usage series.

Log sources, uploads and runs are for organisation owners and admins (runs sample
raw log lines). A push source's token is in the answer that made it (create,
``rotate-token``) and never again. An upload's size is checked from its
Content-Length before the body is read: a file over the limit is refused with 413
without a byte of it stored. Alert rules are read by members (those on APIs they
cannot see excepted) and written by organisation admins, the API's maintainers or
the application's team; the services decide. The serializers are in
analytics.serializers, the usage arithmetic in analytics.usage_query.
"""

from django.db.models import Q
from django.http import Http404
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from apis import selectors_gateways
from apis.models import Api, Application, GatewayConnection
from apis.selectors import api_list_visible
from tenants.actors import Actor
from tenants.errors import NotAllowed
from tenants.models import TeamMembership
from tenants.permissions import IsOrgAdmin, IsOrgMember, TokenScopePermission
from tenants.roles import OrgRole, TeamRole
from tenants.scoping import OrganisationScopedMixin

from . import selectors, usage_query
from .models import AlertRule, ImportRun, LogSource, LogUpload
from .serializers import (
    AlertRuleCreateSerializer,
    AlertRuleQuerySerializer,
    AlertRuleSerializer,
    AlertRuleUpdateSerializer,
    ImportQueuedSerializer,
    ImportRunSerializer,
    LogSourceCreateSerializer,
    LogSourceSerializer,
    LogSourceUpdateSerializer,
    LogSourceWithTokenSerializer,
    LogUploadCreateSerializer,
    LogUploadSerializer,
    UsageQuerySerializer,
    UsageSerializer,
)
from .services import alerts, sources


def _field_error(field: str, message: str) -> ValidationError:
    return ValidationError({field: [message]})


def _once(data: dict, status_code: int) -> Response:
    """An answer carrying a secret: no cache along the way may keep it."""
    response = Response(data, status=status_code)
    response["Cache-Control"] = "no-store"
    return response


class _Scoped(OrganisationScopedMixin):
    def actor(self) -> Actor:
        return Actor.from_request(self.request)

    def is_admin(self) -> bool:
        return OrgRole.at_least(self.membership.role, OrgRole.ADMIN)

    def own_api(self, slug: str, field: str = "api") -> Api:
        """An API of this organisation that the user sees, or a field error."""
        api = (
            api_list_visible(user=self.request.user)
            .filter(organisation=self.organisation, slug=slug)
            .first()
        )
        if api is None:
            raise _field_error(field, "This organisation has no API with this slug you can see.")
        return api


# --- Log sources ----------------------------------------------------------------------


@extend_schema(tags=["analytics"])
@extend_schema_view(
    list=extend_schema(summary="Log sources of the organisation"),
    retrieve=extend_schema(summary="One log source"),
    create=extend_schema(
        summary="Add a log source; a push source's token is in this answer only",
        request=LogSourceCreateSerializer,
        responses={201: LogSourceWithTokenSerializer},
    ),
    partial_update=extend_schema(
        summary="Change a log source; its cursor stays",
        request=LogSourceUpdateSerializer,
        responses={200: LogSourceSerializer},
    ),
    destroy=extend_schema(
        summary="Delete a log source, its runs and uploaded files; imported usage stays",
        responses={204: None},
    ),
)
class LogSourceViewSet(
    _Scoped,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Where usage comes from: CloudWatch log groups, uploaded files and push endpoints.
    Owners and admins only."""

    serializer_class = LogSourceSerializer
    permission_classes = [IsAuthenticated, TokenScopePermission, IsOrgAdmin]
    lookup_value_regex = r"\d+"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return LogSource.objects.none()
        return selectors.log_source_list(organisation=self.organisation)

    def get_object(self) -> LogSource:
        return selectors.log_source_get(organisation=self.organisation, pk=self.kwargs["pk"])

    def connection(self, pk: int | None) -> GatewayConnection | None:
        if pk is None:
            return None
        found = (
            selectors_gateways.connection_list(organisation=self.organisation).filter(pk=pk).first()
        )
        if found is None:
            raise _field_error("connection", "This organisation has no such connection.")
        return found

    def create(self, request, org):
        serializer = LogSourceCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        source, token = sources.source_create(
            organisation=self.organisation,
            name=data["name"],
            kind=data["kind"],
            format=data["format"],
            config=data["config"],
            connection=self.connection(data["connection"]),
            api=self.own_api(data["api"]) if data["api"] else None,
            interval_minutes=data["interval_minutes"],
            enabled=data["enabled"],
            actor=self.actor(),
        )
        body = {**LogSourceSerializer(source).data, "push_token": token}
        return _once(body, status.HTTP_201_CREATED)

    def partial_update(self, request, org, pk):
        source = self.get_object()
        serializer = LogSourceUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if "connection" in data:
            data["connection"] = self.connection(data["connection"])
        if "api" in data:
            slug = data.pop("api")
            if slug:
                data["api"] = self.own_api(slug)
            else:
                data["clear_api"] = True
        sources.source_update(source=source, actor=self.actor(), **data)
        return Response(LogSourceSerializer(self.get_object()).data)

    def perform_destroy(self, instance):
        sources.source_delete(source=instance, actor=self.actor())

    @extend_schema(
        summary="A new push token, shown once; the old one stops working now",
        request=None,
        responses={200: LogSourceWithTokenSerializer},
    )
    @action(detail=True, methods=["post"], url_path="rotate-token")
    def rotate_token(self, request, org, pk):
        source = self.get_object()
        token = sources.push_token_rotate(source=source, actor=self.actor())
        return _once({**LogSourceSerializer(source).data, "push_token": token}, 200)

    @extend_schema(
        summary="Import now: a CloudWatch source reads on, an upload source's unfinished "
        "files are queued again",
        request=None,
        responses={202: ImportQueuedSerializer},
    )
    @action(detail=True, methods=["post"], url_path="import", url_name="import")
    def start_import(self, request, org, pk):
        source = self.get_object()
        sources.import_trigger(source=source, actor=self.actor())
        body = {"status": "queued", "message": f"The import of {source.name} is queued."}
        return Response(body, status=status.HTTP_202_ACCEPTED)


class _InSource(_Scoped):
    def source(self) -> LogSource:
        if not hasattr(self, "_source"):
            self._source = selectors.log_source_get(
                organisation=self.organisation, pk=self.kwargs["source"]
            )
        return self._source


@extend_schema(tags=["analytics"])
@extend_schema_view(
    list=extend_schema(summary="Files uploaded to a source, newest first"),
    retrieve=extend_schema(summary="One uploaded file and how far its import got"),
    create=extend_schema(
        summary="Upload a log file (plain or gzip); its import is queued",
        description="The size is checked from Content-Length before the body is read: "
        "over ANALYTICS_UPLOAD_MAX_BYTES the answer is 413 and nothing is stored.",
        request={"multipart/form-data": LogUploadCreateSerializer},
        responses={201: LogUploadSerializer},
    ),
)
class LogUploadViewSet(
    _InSource,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = LogUploadSerializer
    permission_classes = [IsAuthenticated, TokenScopePermission, IsOrgAdmin]
    parser_classes = [MultiPartParser, FormParser]
    lookup_value_regex = r"\d+"
    http_method_names = ["get", "post", "head", "options"]

    def initial(self, request, *args, **kwargs):
        # Before authentication: a session's CSRF check reads the form, and so the file.
        if request.method == "POST":
            sources.upload_length_check(request.META.get("CONTENT_LENGTH"))
        super().initial(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return LogUpload.objects.none()
        return selectors.log_upload_list(source=self.source())

    def get_object(self) -> LogUpload:
        return selectors.log_upload_get(source=self.source(), pk=self.kwargs["pk"])

    def create(self, request, org, source):
        source = self.source()
        serializer = LogUploadCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        upload = sources.upload_create(
            source=source, file=data["file"], name=data["name"], actor=self.actor()
        )
        return Response(LogUploadSerializer(upload).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["analytics"])
@extend_schema_view(
    list=extend_schema(summary="Import runs of a source, newest first"),
    retrieve=extend_schema(summary="One import run: counts, rejected samples and error"),
)
class ImportRunViewSet(
    _InSource, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = ImportRunSerializer
    permission_classes = [IsAuthenticated, TokenScopePermission, IsOrgAdmin]
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ImportRun.objects.none()
        return selectors.import_run_list(source=self.source())

    def get_object(self) -> ImportRun:
        return selectors.import_run_get(source=self.source(), pk=self.kwargs["pk"])


# --- Alert rules ----------------------------------------------------------------------


@extend_schema(tags=["analytics"])
@extend_schema_view(
    list=extend_schema(
        summary="Alert rules of the organisation", parameters=[AlertRuleQuerySerializer]
    ),
    retrieve=extend_schema(summary="One alert rule and its last evaluation"),
    create=extend_schema(
        summary="Add an alert rule on an API or an application",
        description="Rules are evaluated every minute: a window under an hour over exactly its "
        "last minutes of requests, a longer one over whole rollup hours. A rule fires "
        "above its threshold and resolves below threshold × clear_ratio; each change "
        "notifies once (portal, e-mail, webhooks alert.firing / alert.resolved).",
        request=AlertRuleCreateSerializer,
        responses={201: AlertRuleSerializer},
    ),
    partial_update=extend_schema(
        summary="Change an alert rule; its state is judged again at the next evaluation",
        request=AlertRuleUpdateSerializer,
        responses={200: AlertRuleSerializer},
    ),
    destroy=extend_schema(summary="Delete an alert rule", responses={204: None}),
)
class AlertRuleViewSet(
    _Scoped,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Members read the rules of the APIs they see and of the organisation's
    applications; admins, the API's maintainers and the application's team write them."""

    serializer_class = AlertRuleSerializer
    permission_classes = [IsAuthenticated, TokenScopePermission, IsOrgMember]
    lookup_value_regex = r"\d+"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def rules(self):
        visible = api_list_visible(user=self.request.user).filter(organisation=self.organisation)
        return (
            AlertRule.objects.filter(organisation=self.organisation)
            .filter(Q(api__in=visible.values("pk")) | Q(application__isnull=False))
            .select_related("organisation", "api", "application")
        )

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return AlertRule.objects.none()
        query = AlertRuleQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        found = self.rules().order_by("name", "id")
        if "state" in params:
            found = found.filter(state=params["state"])
        if "api" in params:
            found = found.filter(api__slug=params["api"])
        if "application" in params:
            found = found.filter(application_id=params["application"])
        return found

    def get_object(self) -> AlertRule:
        rule = self.rules().filter(pk=self.kwargs["pk"]).first()
        if rule is None:
            raise Http404("Not found.")
        return rule

    def application(self, pk: int) -> Application:
        found = Application.objects.filter(organisation=self.organisation, pk=pk).first()
        if found is None:
            raise _field_error("application", "This organisation has no such application.")
        return found

    def targets(self, data: dict) -> dict:
        found = {}
        if "api" in data:
            found["api"] = self.own_api(data["api"]) if data["api"] else None
        if "application" in data:
            pk = data["application"]
            found["application"] = self.application(pk) if pk is not None else None
        return found

    def require_writer(self) -> None:
        """Before reading the body: only someone who may write some rule gets further."""
        if self.is_admin():
            return
        writes = TeamMembership.objects.filter(
            team__organisation=self.organisation,
            user=self.request.user,
            role__in=[TeamRole.MAINTAINER, TeamRole.DEVELOPER],
        )
        if not writes.exists():
            raise NotAllowed(
                "Only organisation admins, API maintainers and application teams write alert rules."
            )

    def create(self, request, org):
        self.require_writer()
        serializer = AlertRuleCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.update(self.targets(data))
        rule = alerts.alert_rule_create(organisation=self.organisation, actor=self.actor(), **data)
        return Response(AlertRuleSerializer(rule).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, org, pk):
        rule = self.get_object()
        alerts.require_rule_manager(actor=self.actor(), rule=rule)
        serializer = AlertRuleUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.update(self.targets(data))
        rule = alerts.alert_rule_update(rule=rule, actor=self.actor(), **data)
        return Response(AlertRuleSerializer(rule).data)

    def perform_destroy(self, instance):
        alerts.alert_rule_delete(rule=instance, actor=self.actor())


# --- Usage ----------------------------------------------------------------------------


def _point(point: usage_query.Point, tz) -> dict:
    return {
        "t": point.t.astimezone(tz).isoformat(),
        "calls": point.calls,
        "errors": point.errors,
        "c4xx": point.c4xx,
        "c5xx": point.c5xx,
        "latency_mean": point.latency_mean,
        "p50": point.p50,
        "p95": point.p95,
        "p99": point.p99,
    }


def usage_body(result: usage_query.UsageResult) -> dict:
    query = result.query
    return {
        "group_by": query.group_by,
        "interval": query.interval,
        "tz": str(query.tz),
        "from": query.start.astimezone(query.tz).isoformat(),
        "to": query.end.astimezone(query.tz).isoformat(),
        "truncated": result.truncated,
        "series": [
            {
                "key": series.key,
                "label": series.label,
                "detail": series.detail,
                "total": _point(series.total, query.tz),
                "points": [_point(point, query.tz) for point in series.points],
            }
            for series in result.series
        ],
    }


class _OneObjectSchema(AutoSchema):
    """The usage query's ``list`` answers one object (its series inside), not a list."""

    def _is_list_view(self, serializer=None) -> bool:
        return False


@extend_schema(tags=["analytics"])
class UsageViewSet(_Scoped, viewsets.GenericViewSet):
    """Calls, errors and latency over time from the hourly rollups. The organisation sees
    its own APIs' usage (those its user sees) and its own applications' usage of other
    organisations' APIs; nothing else."""

    serializer_class = UsageSerializer
    permission_classes = [IsAuthenticated, TokenScopePermission, IsOrgMember]
    pagination_class = None
    schema = _OneObjectSchema()

    def get_queryset(self):
        return AlertRule.objects.none()  # usage is computed, not a queryset

    @extend_schema(
        summary="Usage series, every bucket present (zero when nothing was called)",
        parameters=[UsageQuerySerializer],
        responses={200: UsageSerializer},
    )
    def list(self, request, org):
        query = usage_query.parse_usage_query(
            organisation=self.organisation, user=request.user, params=request.query_params
        )
        result = usage_query.usage_series(
            organisation=self.organisation,
            user=request.user,
            is_admin=self.is_admin(),
            query=query,
        )
        return Response(usage_body(result))
