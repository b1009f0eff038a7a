"""Serializers of the analytics REST API: log sources, uploads, import runs, alert rules
and usage series. Tenant, state and cursor fields are read-only; a push token appears
only in the answer that made it."""

from rest_framework import serializers

from .histogram import BUCKETS
from .models import AlertRule, ImportRun, LogSource, LogUpload
from .services.alerts import MAX_WINDOW, MIN_WINDOW
from .usage_query import GROUPS, INTERVALS, MAX_SERIES

# --- Log sources ----------------------------------------------------------------------


class ImportSampleSerializer(serializers.Serializer):
    line = serializers.CharField(help_text="The start of a line that could not be parsed.")
    error = serializers.CharField()


class ImportRunSerializer(serializers.ModelSerializer):
    upload = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    samples = ImportSampleSerializer(many=True, read_only=True)

    class Meta:
        model = ImportRun
        fields = [
            "id",
            "status",
            "trigger",
            "upload",
            "started_at",
            "finished_at",
            "pages",
            "read",
            "imported",
            "duplicates",
            "rejected",
            "skipped",
            "calls",
            "samples",
            "error",
        ]
        read_only_fields = fields


class LogUploadSerializer(serializers.ModelSerializer):
    class Meta:
        model = LogUpload
        fields = ["id", "name", "size_bytes", "state", "lines_done", "created_at"]
        read_only_fields = fields


class LogSourceSerializer(serializers.ModelSerializer):
    api = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    connection = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    config = serializers.JSONField(read_only=True)
    has_push_token = serializers.SerializerMethodField(
        help_text="A push source has a token; it is shown only when made or rotated."
    )
    running = serializers.SerializerMethodField(help_text="An import is in progress.")

    class Meta:
        model = LogSource
        fields = [
            "id",
            "name",
            "kind",
            "format",
            "config",
            "connection",
            "api",
            "interval_minutes",
            "enabled",
            "has_push_token",
            "running",
            "created_at",
        ]
        read_only_fields = fields

    def get_has_push_token(self, source: LogSource) -> bool:
        return bool(source.push_digest)

    def get_running(self, source: LogSource) -> bool:
        return source.running_since is not None


class LogSourceWithTokenSerializer(LogSourceSerializer):
    push_token = serializers.CharField(
        read_only=True,
        help_text="For push sources: send it as 'Authorization: Bearer <token>'. Shown "
        "once: store it now. Empty for other kinds.",
    )

    class Meta(LogSourceSerializer.Meta):
        fields = [*LogSourceSerializer.Meta.fields, "push_token"]
        read_only_fields = fields


_CONFIG_HELP = (
    "Settings of the kind: cloudwatch takes log_group (required), stream_prefix, "
    "filter_pattern and region; custom_json sources take a mapping of record fields to "
    "JSON paths; upload sources of lambda_report lines take the function they are of "
    "(function), which a file does not say."
)


class LogSourceCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    kind = serializers.ChoiceField(choices=LogSource.Kind.choices)
    format = serializers.ChoiceField(choices=LogSource.Format.choices)
    config = serializers.JSONField(default=dict, help_text=_CONFIG_HELP)
    connection = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        help_text="For cloudwatch: the id of the AWS gateway connection to read through.",
    )
    api = serializers.SlugField(
        required=False,
        allow_null=True,
        default=None,
        help_text="The slug of the organisation's API these logs are of, for formats that "
        "do not name it (nginx, Kong, custom).",
    )
    interval_minutes = serializers.IntegerField(min_value=1, max_value=1440, default=5)
    enabled = serializers.BooleanField(default=True)

    def validate_config(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("Give an object.")
        return value


class LogSourceUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    format = serializers.ChoiceField(choices=LogSource.Format.choices, required=False)
    config = serializers.JSONField(required=False, help_text="Replaces the settings as a whole.")
    connection = serializers.IntegerField(required=False)
    api = serializers.SlugField(
        required=False, allow_null=True, help_text="null takes the API away."
    )
    interval_minutes = serializers.IntegerField(min_value=1, max_value=1440, required=False)
    enabled = serializers.BooleanField(required=False)

    def validate_config(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("Give an object.")
        return value


class LogUploadCreateSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text="Plain text lines or gzip (CloudWatch exports), one record a line."
    )
    name = serializers.CharField(
        max_length=200, required=False, default="", help_text="Default: the file's name."
    )


class ImportQueuedSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["queued"])
    message = serializers.CharField()


# --- Alert rules ----------------------------------------------------------------------


class AlertRuleSerializer(serializers.ModelSerializer):
    api = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True, help_text="The API's slug."
    )
    application = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True, help_text="The application's id."
    )

    class Meta:
        model = AlertRule
        fields = [
            "id",
            "name",
            "api",
            "application",
            "metric",
            "threshold",
            "window_minutes",
            "clear_ratio",
            "notify_email",
            "notify_webhook",
            "enabled",
            "state",
            "last_value",
            "last_evaluated_at",
            "last_changed_at",
            "created_at",
        ]
        read_only_fields = fields


_TARGET_HELP = "Give exactly one of api (a slug of this organisation) and application (an id)."


class AlertRuleCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    api = serializers.SlugField(
        required=False, allow_null=True, default=None, help_text=_TARGET_HELP
    )
    application = serializers.IntegerField(
        required=False, allow_null=True, default=None, help_text=_TARGET_HELP
    )
    metric = serializers.ChoiceField(
        choices=AlertRule.Metric.choices,
        help_text="error_rate: 5xx as % of calls; p95_latency: ms; quota_use: % of the plan's "
        "quota used this quota period.",
    )
    threshold = serializers.FloatField(
        help_text="Fires above it: error_rate 0.1-100, p95_latency 1-600000, quota_use 1-1000."
    )
    window_minutes = serializers.IntegerField(
        min_value=MIN_WINDOW,
        max_value=MAX_WINDOW,
        default=15,
        help_text="Under 60, exactly that many minutes of calls; 60 or more, whole rollup "
        "hours (120 reads the current hour and the two before it).",
    )
    clear_ratio = serializers.FloatField(
        default=0.8, help_text="A firing rule resolves below threshold × clear_ratio (0-1]."
    )
    notify_email = serializers.BooleanField(default=True)
    notify_webhook = serializers.BooleanField(
        default=True, help_text="Send alert.firing and alert.resolved to the webhooks."
    )
    enabled = serializers.BooleanField(default=True)


class AlertRuleUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    api = serializers.SlugField(required=False, allow_null=True, help_text=_TARGET_HELP)
    application = serializers.IntegerField(required=False, allow_null=True, help_text=_TARGET_HELP)
    metric = serializers.ChoiceField(choices=AlertRule.Metric.choices, required=False)
    threshold = serializers.FloatField(required=False)
    window_minutes = serializers.IntegerField(
        min_value=MIN_WINDOW, max_value=MAX_WINDOW, required=False
    )
    clear_ratio = serializers.FloatField(required=False)
    notify_email = serializers.BooleanField(required=False)
    notify_webhook = serializers.BooleanField(required=False)
    enabled = serializers.BooleanField(required=False)


class AlertRuleQuerySerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=AlertRule.State.choices, required=False)
    api = serializers.SlugField(required=False, help_text="Rules of this API (its slug).")
    application = serializers.IntegerField(required=False, help_text="Rules of this application.")


# --- Usage ----------------------------------------------------------------------------


class UsageQuerySerializer(serializers.Serializer):
    """The usage query's parameters, for the schema; usage_query checks them."""

    group_by = serializers.ChoiceField(
        choices=GROUPS,
        required=False,
        help_text="One series per API, application, route (provider side only: routes carry "
        "no application) or status class (ok, 4xx, 5xx). Default: one series of all calls.",
    )
    interval = serializers.ChoiceField(choices=list(INTERVALS), required=False, default="hour")
    from_ = serializers.CharField(
        required=False,
        help_text="ISO 8601 date or date-time; without an offset, in tz. Default: 24 hours "
        "before to.",
    )
    to = serializers.CharField(
        required=False, help_text="ISO 8601, exclusive (a bucket starting before it counts)."
    )
    tz = serializers.CharField(required=False, default="UTC", help_text="An IANA time zone.")
    api = serializers.CharField(
        required=False,
        help_text="An API: its slug for one of this organisation's, owner/slug for another's.",
    )
    application = serializers.IntegerField(required=False, help_text="An application's id.")
    limit = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_SERIES,
        default=20,
        help_text="At most this many series, the busiest first.",
    )

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields


class UsagePointSerializer(serializers.Serializer):
    t = serializers.CharField(help_text="The bucket's start, ISO 8601 in the query's tz.")
    calls = serializers.IntegerField()
    errors = serializers.IntegerField(help_text="4xx and 5xx.")
    c4xx = serializers.IntegerField()
    c5xx = serializers.IntegerField()
    latency_mean = serializers.FloatField(allow_null=True, help_text="ms; null without calls.")
    p50 = serializers.FloatField(
        allow_null=True,
        help_text=f"ms, from a {BUCKETS}-bucket log histogram (a few per cent of error); "
        "null without calls and for route and status-class series.",
    )
    p95 = serializers.FloatField(allow_null=True)
    p99 = serializers.FloatField(allow_null=True)


class UsageSeriesSerializer(serializers.Serializer):
    key = serializers.CharField(
        help_text="owner/slug of an API, an application's id, 'owner/slug METHOD route', "
        "ok/4xx/5xx, or 'all'; '-' for calls no API or application was matched to."
    )
    label = serializers.CharField()
    detail = serializers.DictField(
        help_text="For applications: id, team and organisation; for routes: api, method, route."
    )
    total = UsagePointSerializer()
    points = UsagePointSerializer(many=True)


class UsageSerializer(serializers.Serializer):
    group_by = serializers.CharField(allow_null=True)
    interval = serializers.CharField()
    tz = serializers.CharField()
    from_ = serializers.CharField(help_text="The first bucket's start.")
    to = serializers.CharField(help_text="The end of the last bucket.")
    truncated = serializers.BooleanField(help_text="More groups than limit had calls.")
    series = UsageSeriesSerializer(many=True)

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields
