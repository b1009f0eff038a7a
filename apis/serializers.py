"""Serializers of the catalogue's REST API (apis.api): what each endpoint reads and
writes. Tenant, owner, state and decision fields are read-only everywhere."""

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from . import selectors
from .models import Api, ApiVersion, LifecycleTransition, Operation

SEARCH_OPERATIONS_PER_API = 5


class CurrentVersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiVersion
        fields = ["version", "state"]
        read_only_fields = fields


class ApiSerializer(serializers.ModelSerializer):
    organisation = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, help_text="The owning organisation (the URL's owner)."
    )
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    tags = serializers.SerializerMethodField()
    current_version = CurrentVersionSerializer(
        read_only=True, allow_null=True, help_text="The version shown first."
    )
    web_url = serializers.SerializerMethodField(help_text="The API's page in the portal.")

    class Meta:
        model = Api
        fields = [
            "organisation",
            "team",
            "slug",
            "name",
            "summary",
            "tags",
            "visibility",
            "kind",
            "current_version",
            "web_url",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_tags(self, api) -> list[str]:
        return [tag.name for tag in api.tags.all()]

    def get_web_url(self, api) -> str:
        return settings.PORTICO_BASE_URL + api.get_absolute_url()


class ApiCreateSerializer(serializers.Serializer):
    organisation = serializers.SlugField(help_text="An organisation you belong to.")
    team = serializers.SlugField(help_text="The owning team; you must maintain it.")
    name = serializers.CharField(max_length=120)
    slug = serializers.SlugField(max_length=80, help_text="Unique in the organisation.")
    summary = serializers.CharField(max_length=2000, allow_blank=True, default="")
    tags = serializers.ListField(
        child=serializers.CharField(max_length=40), default=list, max_length=100
    )
    visibility = serializers.ChoiceField(
        choices=Api.Visibility.choices, default=Api.Visibility.ORGANISATION
    )
    kind = serializers.ChoiceField(choices=Api.Kind.choices, default=Api.Kind.REST)


class ApiUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120, required=False)
    summary = serializers.CharField(max_length=2000, allow_blank=True, required=False)
    tags = serializers.ListField(
        child=serializers.CharField(max_length=40), required=False, max_length=100
    )
    visibility = serializers.ChoiceField(choices=Api.Visibility.choices, required=False)
    team = serializers.SlugField(
        required=False, help_text="Hand the API to another team of the organisation."
    )


class ApiQuerySerializer(serializers.Serializer):
    q = serializers.CharField(required=False, allow_blank=True, max_length=200)
    team = serializers.CharField(required=False, allow_blank=True, max_length=80)
    tag = serializers.CharField(required=False, allow_blank=True, max_length=40)
    kind = serializers.ChoiceField(choices=Api.Kind.choices, required=False, allow_blank=True)
    state = serializers.ChoiceField(
        choices=ApiVersion.State.choices,
        required=False,
        allow_blank=True,
        help_text="The state of the API's current version.",
    )
    visibility = serializers.ChoiceField(
        choices=Api.Visibility.choices, required=False, allow_blank=True
    )
    organisation = serializers.CharField(
        required=False, allow_blank=True, max_length=80, help_text="The owning organisation."
    )


class ChangeSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="e.g. path_removed, required_parameter_added.")
    where = serializers.CharField()
    detail = serializers.CharField()


class ChangeReportSerializer(serializers.Serializer):
    compared_to = serializers.CharField(
        allow_null=True, help_text="The version compared against; null for a first version."
    )
    breaking = ChangeSerializer(many=True)
    additions = ChangeSerializer(many=True)


def _report(changes: dict) -> dict:
    return {
        "compared_to": changes.get("compared_to"),
        "breaking": changes.get("breaking", []),
        "additions": changes.get("additions", []),
    }


class ApiVersionSerializer(serializers.ModelSerializer):
    breaking_changes = serializers.SerializerMethodField(
        help_text="How many breaking changes against the version before."
    )
    # Empty when the spec names no server and none was given: not a URI then.
    base_url = serializers.CharField(
        read_only=True, help_text="Where try-it sends requests: an http(s) URL, or empty."
    )

    class Meta:
        model = ApiVersion
        fields = [
            "version",
            "state",
            "openapi_version",
            "title",
            "spec_hash",
            "base_url",
            "sunset_at",
            "breaking_changes",
            "created_at",
            "published_at",
        ]
        read_only_fields = fields

    def get_breaking_changes(self, version) -> int:
        return len(version.changes.get("breaking", []))


class ApiVersionDetailSerializer(ApiVersionSerializer):
    changes = serializers.SerializerMethodField()
    operation_count = serializers.SerializerMethodField()

    class Meta(ApiVersionSerializer.Meta):
        fields = [*ApiVersionSerializer.Meta.fields, "description", "changes", "operation_count"]
        read_only_fields = fields

    @extend_schema_field(ChangeReportSerializer)
    def get_changes(self, version) -> dict:
        return _report(version.changes)

    def get_operation_count(self, version) -> int:
        return selectors.operation_list(version=version).count()


class VersionCreateSerializer(serializers.Serializer):
    """A new version from JSON: exactly one of ``spec``, ``spec_text``, ``spec_url``."""

    SOURCES = ("spec", "spec_text", "spec_url")

    version = serializers.CharField(
        max_length=64, allow_blank=True, default="", help_text="Defaults to info.version."
    )
    base_url = serializers.URLField(
        max_length=500,
        allow_blank=True,
        default="",
        help_text="Where try-it sends requests; defaults to the spec's first server.",
    )
    spec = serializers.DictField(required=False, help_text="The OpenAPI document as an object.")
    spec_text = serializers.CharField(
        required=False, trim_whitespace=False, help_text="The document as YAML or JSON text."
    )
    spec_url = serializers.URLField(
        required=False, help_text="Fetch the document from this public http(s) address."
    )

    def validate(self, attrs):
        given = [name for name in self.SOURCES if name in attrs]
        if len(given) != 1:
            raise serializers.ValidationError(
                {"spec": ["Give the spec one way: spec, spec_text or spec_url."]}
            )
        return attrs


class VersionUploadSerializer(serializers.Serializer):
    """A new version from a multipart upload."""

    SOURCES = ("file",)

    version = serializers.CharField(
        max_length=64, allow_blank=True, default="", help_text="Defaults to info.version."
    )
    base_url = serializers.URLField(max_length=500, allow_blank=True, default="")
    file = serializers.FileField(help_text="OpenAPI 2.0, 3.0 or 3.1; JSON or YAML.")


class OperationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Operation
        fields = ["method", "path", "operation_id", "summary", "tags", "deprecated"]
        read_only_fields = fields


class TransitionSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_label", read_only=True)

    class Meta:
        model = LifecycleTransition
        fields = ["id", "from_state", "to_state", "actor", "reason", "sunset_at", "created_at"]
        read_only_fields = fields


class TransitionCreateSerializer(serializers.Serializer):
    to_state = serializers.ChoiceField(choices=ApiVersion.State.choices)
    reason = serializers.CharField(
        max_length=2000,
        allow_blank=True,
        default="",
        help_text="Needed to block, deprecate or retire; subscribers see it.",
    )
    sunset_at = serializers.DateField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Needed to deprecate: the date after which the version is retired.",
    )


class CompareSerializer(serializers.Serializer):
    from_version = serializers.CharField()
    to_version = serializers.CharField()
    breaking = ChangeSerializer(many=True)
    additions = ChangeSerializer(many=True)


class SearchResultSerializer(ApiSerializer):
    operations = OperationSerializer(
        many=True,
        read_only=True,
        source="matched_operations",
        help_text=f"Up to {SEARCH_OPERATIONS_PER_API} operations of the current version "
        "whose path, summary or operation id holds a word of the query.",
    )

    class Meta(ApiSerializer.Meta):
        fields = [*ApiSerializer.Meta.fields, "operations"]
        read_only_fields = fields
