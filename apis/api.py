"""REST API of the catalogue: APIs, their versions and specs, operations, the lifecycle,
comparison and search.

APIs are addressed as ``/apis/<owner>/<api>/`` (owner: the organisation's slug), like
the catalogue pages, because a public API is read from other organisations too. What
a caller sees comes from apis.selectors; "missing" and "not visible" are both 404, and
a caller who sees an API but may not change it gets 403. The serializers are in
apis.serializers.
"""

import json

import django_filters
from django.conf import settings
from django.db import connection
from django.db.models import F, Q, Window
from django.db.models.functions import RowNumber
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.response import Response

from tenants import selectors as tenant_selectors
from tenants.actors import Actor
from tenants.models import AccessToken
from tenants.scoping import resolve_membership

from . import search, selectors
from .models import Api, ApiVersion, Operation
from .policies import require_team_maintainer
from .serializers import (
    SEARCH_OPERATIONS_PER_API,
    ApiCreateSerializer,
    ApiQuerySerializer,
    ApiSerializer,
    ApiUpdateSerializer,
    ApiVersionDetailSerializer,
    ApiVersionSerializer,
    CompareSerializer,
    OperationSerializer,
    SearchResultSerializer,
    TransitionCreateSerializer,
    TransitionSerializer,
    VersionCreateSerializer,
    VersionUploadSerializer,
)
from .services import catalogue, lifecycle
from .services.sources import read_text, read_upload, read_url
from .specs.diff import compare
from .specs.errors import SpecError, SpecTooLarge, megabytes

# Room for the multipart envelope and the other fields beside the spec itself.
UPLOAD_MARGIN_BYTES = 512 * 1024


# --- Parsing and reading ------------------------------------------------------


class SpecJSONParser(JSONParser):
    """JSON nested deeper than the decoder can follow is a bad request, not a crash."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - the body nests too deeply.") from exc


def refuse_oversize(request) -> None:
    """Refuse a spec upload by its declared length, before a byte of it is read."""
    declared = request.META.get("CONTENT_LENGTH") or "0"
    limit = settings.SPEC_MAX_BYTES
    if declared.isdigit() and int(declared) > limit + UPLOAD_MARGIN_BYTES:
        raise SpecTooLarge(
            f"This upload is {megabytes(int(declared))}; the limit for a spec is "
            f"{megabytes(limit)}."
        )


def _spec_bytes(data: dict) -> bytes:
    if "file" in data:
        return read_upload(data["file"])
    if "spec" in data:
        try:
            return json.dumps(data["spec"], ensure_ascii=False).encode()
        except (RecursionError, ValueError) as exc:
            raise SpecError("The spec object cannot be read: it nests too deeply.") from exc
    if "spec_text" in data:
        return read_text(data["spec_text"])
    return read_url(data["spec_url"])


# --- Scope --------------------------------------------------------------------


def _token_organisation_id(request) -> int | None:
    token = getattr(request, "auth", None)
    return token.organisation_id if isinstance(token, AccessToken) else None


def apis_for_request(request, queryset):
    """A token limited to one organisation reaches that organisation's APIs only."""
    organisation_id = _token_organisation_id(request)
    if organisation_id is None:
        return queryset
    return queryset.filter(organisation_id=organisation_id)


def api_for_request(request, *, owner: str, slug: str) -> Api:
    api = selectors.api_get_visible(user=request.user, owner=owner, slug=slug)
    organisation_id = _token_organisation_id(request)
    if organisation_id is not None and api.organisation_id != organisation_id:
        raise Http404("Not found.")
    return api


# --- Filters ------------------------------------------------------------------


class OperationFilter(django_filters.FilterSet):
    method = django_filters.CharFilter(field_name="method", lookup_expr="iexact")
    tag = django_filters.CharFilter(method="filter_tag")
    deprecated = django_filters.BooleanFilter()
    q = django_filters.CharFilter(method="filter_q")

    class Meta:
        model = Operation
        fields = ["method", "tag", "deprecated", "q"]

    def filter_tag(self, queryset, name, value):
        if connection.vendor == "postgresql":
            return queryset.filter(tags__contains=[value])
        # SQLite (the demo) has no JSON containment; match the quoted element instead.
        return queryset.filter(tags__icontains=json.dumps(value))

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(path__icontains=value) | Q(summary__icontains=value))


OPERATION_PARAMETERS = [
    OpenApiParameter("method", str, description="HTTP method, e.g. get."),
    OpenApiParameter("tag", str, description="Operations carrying this tag."),
    OpenApiParameter("deprecated", bool),
    OpenApiParameter("q", str, description="Text in the path or summary."),
]


# --- Views --------------------------------------------------------------------


def _actor(request) -> Actor:
    return Actor.from_request(request)


@extend_schema(tags=["catalogue"])
@extend_schema_view(
    list=extend_schema(
        summary="APIs you can see, searched and filtered",
        parameters=[ApiQuerySerializer],
    ),
    create=extend_schema(
        summary="Create an API in a team you maintain",
        request=ApiCreateSerializer,
        responses={201: ApiSerializer},
    ),
)
class ApiViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = ApiSerializer
    parser_classes = [SpecJSONParser]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Api.objects.none()
        query = ApiQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        apis = selectors.api_search(
            user=self.request.user,
            text=params.get("q", ""),
            team=params.get("team", ""),
            tag=params.get("tag", ""),
            kind=params.get("kind", ""),
            state=params.get("state", ""),
            visibility=params.get("visibility", ""),
            organisation=params.get("organisation", ""),
        )
        return apis_for_request(self.request, apis)

    def create(self, request):
        serializer = ApiCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            membership = resolve_membership(request=request, org_slug=data["organisation"])
        except Http404:
            raise ValidationError(
                {"organisation": ["You are not a member of an organisation with this slug."]}
            ) from None
        organisation = membership.organisation
        team = tenant_selectors.team_list(organisation=organisation).filter(slug=data["team"])
        team = team.first()
        if team is None:
            raise ValidationError({"team": ["The organisation has no team with this slug."]})
        api = catalogue.api_create(
            organisation=organisation,
            team=team,
            name=data["name"],
            slug=data["slug"],
            summary=data["summary"],
            tags=data["tags"],
            visibility=data["visibility"],
            kind=data["kind"],
            actor=_actor(request),
        )
        api = selectors.api_get_visible(user=request.user, owner=organisation.slug, slug=api.slug)
        return Response(
            ApiSerializer(api, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
        )


@extend_schema(tags=["catalogue"])
@extend_schema_view(
    retrieve=extend_schema(summary="One API"),
    partial_update=extend_schema(
        summary="Change an API's name, summary, tags, visibility or team (owners only)",
        request=ApiUpdateSerializer,
        responses={200: ApiSerializer},
    ),
)
class ApiDetailViewSet(viewsets.GenericViewSet):
    """``/apis/<owner>/<api>/`` itself; its versions live in ApiVersionViewSet."""

    serializer_class = ApiSerializer
    parser_classes = [SpecJSONParser]

    def get_queryset(self):
        return Api.objects.none()  # objects come from get_object, through the selectors

    def get_object(self) -> Api:
        return api_for_request(self.request, owner=self.kwargs["owner"], slug=self.kwargs["api"])

    def retrieve(self, request, owner, api):
        return Response(
            ApiSerializer(self.get_object(), context=self.get_serializer_context()).data
        )

    def partial_update(self, request, owner, api):
        api = self.get_object()
        actor = _actor(request)
        require_team_maintainer(actor=actor, team=api.team)
        serializer = ApiUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if "team" in data:
            team = (
                tenant_selectors.team_list(organisation=api.organisation)
                .filter(slug=data["team"])
                .first()
            )
            if team is None:
                raise ValidationError({"team": ["The organisation has no team with this slug."]})
            data["team"] = team
        catalogue.api_update(api=api, actor=actor, **data)
        api = self.get_object()
        return Response(ApiSerializer(api, context=self.get_serializer_context()).data)

    @extend_schema(
        summary="The changes between two versions",
        parameters=[
            OpenApiParameter(
                "from", str, description="The older version; default: the one before `to`."
            ),
            OpenApiParameter("to", str, description="The newer version; default: the newest."),
        ],
        responses={200: CompareSerializer},
    )
    @action(detail=True, methods=["get"])
    def compare(self, request, owner, api):
        api = self.get_object()
        versions = {
            v.version: v for v in selectors.version_list_visible(user=request.user, api=api)
        }
        newest = next(iter(versions.values()), None)
        to_label = request.query_params.get("to") or (newest.version if newest else "")
        to_version = versions.get(to_label)
        if to_version is None:
            raise ValidationError({"to": [f"This API has no version {to_label!r}."]})
        from_label = request.query_params.get("from", "")
        if from_label:
            from_version = versions.get(from_label)
            if from_version is None:
                raise ValidationError({"from": [f"This API has no version {from_label!r}."]})
        else:
            from_version = versions.get(to_version.previous.version if to_version.previous else "")
            if from_version is None:
                raise ValidationError(
                    {
                        "from": [
                            f"Version {to_label} has no version before it; say which to compare."
                        ]
                    }
                )
        report = compare(from_version.spec.document, to_version.spec.document).as_dict()
        return Response(
            {"from_version": from_version.version, "to_version": to_version.version, **report}
        )


@extend_schema(tags=["catalogue"])
@extend_schema_view(
    list=extend_schema(summary="Versions of an API you can see, newest first"),
    retrieve=extend_schema(summary="One version", responses={200: ApiVersionDetailSerializer}),
    create=extend_schema(
        summary="Add a version from a spec (JSON body or multipart upload); it starts as draft",
        description=(
            "Send JSON with exactly one of `spec` (the document as an object), `spec_text` "
            "(YAML or JSON text) or `spec_url`, or a multipart form with a `file`. Uploads "
            "over the spec size limit are refused by their Content-Length with 413."
        ),
        request={
            "application/json": VersionCreateSerializer,
            "multipart/form-data": VersionUploadSerializer,
        },
        responses={
            201: ApiVersionDetailSerializer,
            413: OpenApiResponse(
                response={"$ref": "#/components/schemas/Error"},
                description="The upload is over the spec size limit; nothing was read.",
            ),
        },
    ),
)
class ApiVersionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = ApiVersionSerializer
    parser_classes = [SpecJSONParser, MultiPartParser]
    lookup_field = "version"
    lookup_url_kwarg = "version"
    lookup_value_regex = "[^/]+"  # labels like 1.2.0 or 2024-01-01.beta

    def initial(self, request, *args, **kwargs):
        # Before authentication: a session's CSRF check would parse a multipart body.
        if request.method == "POST" and self.action == "create":
            refuse_oversize(request)
        super().initial(request, *args, **kwargs)

    def api(self) -> Api:
        if not hasattr(self, "_api"):
            self._api = api_for_request(
                self.request, owner=self.kwargs["owner"], slug=self.kwargs["api"]
            )
        return self._api

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ApiVersion.objects.none()
        return selectors.version_list_visible(user=self.request.user, api=self.api())

    def get_object(self) -> ApiVersion:
        return selectors.version_get_visible(
            user=self.request.user, api=self.api(), version=self.kwargs["version"]
        )

    def get_serializer_class(self):
        if self.action == "retrieve":
            return ApiVersionDetailSerializer
        return ApiVersionSerializer

    def create(self, request, owner, api):
        api = self.api()
        actor = _actor(request)
        require_team_maintainer(actor=actor, team=api.team)
        multipart = (request.content_type or "").startswith("multipart/")
        serializer_class = VersionUploadSerializer if multipart else VersionCreateSerializer
        serializer = serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        version = catalogue.version_create(
            api=api,
            raw=_spec_bytes(data),
            version=data["version"],
            base_url=data["base_url"],
            actor=actor,
        )
        return Response(ApiVersionDetailSerializer(version).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="The version's normalised OpenAPI document",
        responses={200: OpenApiTypes.OBJECT},
    )
    @action(detail=True, methods=["get"])
    def spec(self, request, owner, api, version):
        return Response(self.get_object().spec.document)

    @extend_schema(
        summary="Operations of the version",
        parameters=OPERATION_PARAMETERS,
        responses={200: OperationSerializer(many=True)},
    )
    @action(detail=True, methods=["get"])
    def operations(self, request, owner, api, version):
        operations = OperationFilter(
            request.query_params, queryset=selectors.operation_list(version=self.get_object())
        )
        if not operations.is_valid():
            raise ValidationError(operations.errors)
        page = self.paginate_queryset(operations.qs)
        return self.get_paginated_response(OperationSerializer(page, many=True).data)

    @extend_schema(
        summary="The version's lifecycle history, newest first",
        responses={200: TransitionSerializer(many=True)},
    )
    @action(detail=True, methods=["get"])
    def transitions(self, request, owner, api, version):
        page = self.paginate_queryset(selectors.transition_list(version=self.get_object()))
        return self.get_paginated_response(TransitionSerializer(page, many=True).data)

    @extend_schema(
        summary="Move the version through its lifecycle (maintainers and admins)",
        request=TransitionCreateSerializer,
        responses={200: TransitionSerializer},
    )
    @action(detail=True, methods=["post"])
    def transition(self, request, owner, api, version):
        found = self.get_object()
        actor = _actor(request)
        require_team_maintainer(actor=actor, team=found.api.team)
        serializer = TransitionCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        transition = lifecycle.version_transition(
            version=found,
            to_state=serializer.validated_data["to_state"],
            reason=serializer.validated_data["reason"],
            sunset_at=serializer.validated_data["sunset_at"],
            actor=actor,
        )
        return Response(TransitionSerializer(transition).data)


@extend_schema(tags=["catalogue"])
class SearchViewSet(viewsets.GenericViewSet):
    serializer_class = SearchResultSerializer

    def get_queryset(self):
        return Api.objects.none()  # list builds its own, through the selectors

    @extend_schema(
        summary="Search APIs you can see, with the operations that match",
        parameters=[
            OpenApiParameter("q", str, required=True, description="Words to look for."),
        ],
        responses={200: SearchResultSerializer(many=True)},
    )
    def list(self, request):
        text = request.query_params.get("q", "").strip()
        words = search.terms(text)
        if not words:
            raise ValidationError({"q": ["Give some words to search for."]})
        apis = apis_for_request(request, selectors.api_search(user=request.user, text=text))
        page = self.paginate_queryset(apis)
        _attach_matching_operations(request.user, page, words)
        return self.get_paginated_response(
            SearchResultSerializer(page, many=True, context=self.get_serializer_context()).data
        )


def _attach_matching_operations(user, apis: list[Api], words: list[str]) -> None:
    """Give each API ``matched_operations``: a few operations of its current version."""
    versions = {}
    for api in apis:
        api.matched_operations = []
        current = api.current_version
        if current is None:
            continue
        if current.state in selectors.AUDIENCE_STATES or selectors.is_api_owner(user=user, api=api):
            versions[current.pk] = api
    if not versions:
        return
    matches = Q()
    for word in words[:12]:
        matches |= (
            Q(path__icontains=word) | Q(summary__icontains=word) | Q(operation_id__icontains=word)
        )
    ranked = (
        Operation.objects.filter(api_version_id__in=versions)
        .filter(matches)
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("api_version_id")],
                order_by=[F("path").asc(), F("method").asc()],
            )
        )
        .filter(rank__lte=SEARCH_OPERATIONS_PER_API)
        .order_by("api_version_id", "path", "method")
    )
    for operation in ranked:
        versions[operation.api_version_id].matched_operations.append(operation)


__all__ = ["ApiDetailViewSet", "ApiVersionViewSet", "ApiViewSet", "SearchViewSet"]
