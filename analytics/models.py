"""Log sources and their imports, request events, Lambda invocations, hourly rollups,
alert rules, and per-organisation analytics settings."""

from django.db import models
from django.utils import timezone

from apis.models import Api, Application, GatewayConnection
from tenants.models import Organisation, Team

from .histogram import BUCKETS


class LogSource(models.Model):
    class Kind(models.TextChoices):
        CLOUDWATCH = "cloudwatch", "CloudWatch log group"
        UPLOAD = "upload", "Uploaded files"
        PUSH = "push", "Push endpoint"

    class Format(models.TextChoices):
        APIGW_REST_JSON = "apigw_rest_json", "API Gateway REST access log (JSON)"
        APIGW_HTTP_JSON = "apigw_http_json", "API Gateway HTTP API access log (JSON)"
        LAMBDA_REPORT = "lambda_report", "Lambda REPORT lines"
        CLF = "clf", "Common log format"
        COMBINED = "combined", "Combined log format (nginx)"
        KONG_JSON = "kong_json", "Kong file-log JSON"
        LITELLM = "litellm", "LiteLLM spend log (JSON lines)"
        CUSTOM_JSON = "custom_json", "Custom JSON mapping"

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="log_sources"
    )
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    format = models.CharField(max_length=20, choices=Format.choices)
    config = models.JSONField(default=dict, blank=True)
    connection = models.ForeignKey(
        GatewayConnection,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="log_sources",
        help_text="For CloudWatch: the AWS connection whose region, endpoint and role to use.",
    )
    api = models.ForeignKey(
        Api,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="log_sources",
        help_text="For logs that do not name their API (nginx, Kong, custom): the API they are of.",
    )
    push_lookup_id = models.CharField(max_length=16, blank=True, db_index=True, editable=False)
    push_digest = models.CharField(max_length=64, blank=True, editable=False)
    cursor = models.JSONField(default=dict, blank=True, editable=False)
    enabled = models.BooleanField(default=True)
    interval_minutes = models.PositiveIntegerField(default=5)
    running_since = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["organisation", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "name"], name="log_source_name_unique")
        ]

    def __str__(self) -> str:
        return self.name


class LogUpload(models.Model):
    """A file given to an upload source: plain or gzip, read a page at a time."""

    class State(models.TextChoices):
        PENDING = "pending", "Waiting"
        IMPORTING = "importing", "Importing"
        DONE = "done", "Imported"
        FAILED = "failed", "Failed"

    source = models.ForeignKey(LogSource, on_delete=models.CASCADE, related_name="uploads")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    file = models.FileField(upload_to="log-uploads/%Y/%m/")
    name = models.CharField(max_length=200)
    size_bytes = models.BigIntegerField()
    state = models.CharField(max_length=12, choices=State.choices, default=State.PENDING)
    lines_done = models.BigIntegerField(default=0, help_text="The cursor: lines imported.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name


class ImportRun(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped: another import was running"

    source = models.ForeignKey(LogSource, on_delete=models.CASCADE, related_name="runs")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    upload = models.ForeignKey(LogUpload, on_delete=models.SET_NULL, null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RUNNING)
    trigger = models.CharField(max_length=16, default="schedule")
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    pages = models.PositiveIntegerField(default=0)
    read = models.BigIntegerField(default=0, help_text="Lines read.")
    imported = models.BigIntegerField(default=0, help_text="New events stored.")
    duplicates = models.BigIntegerField(default=0)
    rejected = models.BigIntegerField(default=0, help_text="Lines that could not be parsed.")
    skipped = models.BigIntegerField(default=0, help_text="Lines that are not records.")
    samples = models.JSONField(default=list, blank=True, help_text="The first rejected lines.")
    error = models.TextField(blank=True)
    calls = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["source", "-started_at"], name="importrun_recent")]

    def __str__(self) -> str:
        return f"{self.source} at {self.started_at:%Y-%m-%d %H:%M}: {self.status}"


class RequestEvent(models.Model):
    """One request. On PostgreSQL a table partitioned by month, keyed (ts, source, event
    id) so loads append at the index's end; no database foreign keys, which would halve
    the load rate. Written only by analytics.storage."""

    pk = models.CompositePrimaryKey("ts", "source_id", "event_id")
    ts = models.DateTimeField()
    source_id = models.BigIntegerField()
    event_id = models.CharField(max_length=128)
    organisation_id = models.BigIntegerField()
    api_id = models.BigIntegerField(default=0)
    api_version_id = models.BigIntegerField(default=0)
    application_id = models.BigIntegerField(default=0)
    credential_id = models.BigIntegerField(default=0)
    method = models.CharField(max_length=12, blank=True)
    route = models.CharField(max_length=500, blank=True)
    status = models.SmallIntegerField(default=0)
    latency_ms = models.FloatField(null=True)
    integration_ms = models.FloatField(null=True)
    bytes = models.BigIntegerField(null=True)
    model = models.CharField(max_length=200, blank=True)
    tokens_in = models.IntegerField(null=True)
    tokens_out = models.IntegerField(null=True)
    cost = models.FloatField(null=True)
    source_ip = models.CharField(max_length=64, blank=True)
    stage = models.CharField(max_length=128, blank=True)

    class Meta:
        managed = False  # created by migration: partitioned on PostgreSQL
        db_table = "analytics_requestevent"

    def __str__(self) -> str:
        return f"{self.method} {self.route} {self.status} at {self.ts:%Y-%m-%d %H:%M:%S}"


class FunctionInvocation(models.Model):
    """One Lambda invocation from its REPORT line."""

    pk = models.CompositePrimaryKey("ts", "source_id", "request_id")
    ts = models.DateTimeField()
    source_id = models.BigIntegerField()
    request_id = models.CharField(max_length=64)
    organisation_id = models.BigIntegerField()
    function = models.CharField(max_length=200)
    version = models.CharField(max_length=64, blank=True)
    duration_ms = models.FloatField()
    billed_ms = models.FloatField()
    memory_mb = models.IntegerField()
    max_memory_mb = models.IntegerField()
    init_ms = models.FloatField(null=True)

    class Meta:
        managed = False  # created by migration, like RequestEvent
        db_table = "analytics_functioninvocation"

    def __str__(self) -> str:
        return f"{self.function} {self.request_id}"


def _histogram_columns() -> dict:
    return {f"h{i:02d}": models.IntegerField(default=0) for i in range(BUCKETS)}


# h00 … h63: request counts per latency bucket, as columns so a rollup update is a
# plain "+= EXCLUDED" on every database.
_Histogram = type(
    "_Histogram",
    (models.Model,),
    {"__module__": __name__, "Meta": type("Meta", (), {"abstract": True}), **_histogram_columns()},
)


class UsageRollup(_Histogram):
    """Requests per organisation × API version × application × hour, with a latency
    histogram (log-spaced buckets, see analytics.histogram). Unresolved ids are 0."""

    # No index of its own: the key and rollup_api_hour lead with it, and every index
    # costs each page of an import a look-up a new row.
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    hour = models.DateTimeField()
    api_id = models.BigIntegerField(default=0)
    api_version_id = models.BigIntegerField(default=0)
    application_id = models.BigIntegerField(default=0)
    calls = models.BigIntegerField(default=0)
    c4xx = models.BigIntegerField(default=0)
    c5xx = models.BigIntegerField(default=0)
    latency_sum = models.FloatField(default=0)
    bytes = models.BigIntegerField(default=0)
    tokens_in = models.BigIntegerField(default=0)
    tokens_out = models.BigIntegerField(default=0)
    cost = models.FloatField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "hour", "api_id", "api_version_id", "application_id"],
                name="usage_rollup_key",
            )
        ]
        indexes = [
            models.Index(fields=["organisation", "api_id", "hour"], name="rollup_api_hour"),
            models.Index(fields=["application_id", "hour"], name="rollup_app_hour"),
        ]

    def __str__(self) -> str:
        return f"{self.calls} calls at {self.hour:%Y-%m-%d %H:00}"


class RouteRollup(models.Model):
    """Requests per API version × route × status × hour: top routes and status codes."""

    # No index of its own, as UsageRollup's.
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    hour = models.DateTimeField()
    api_id = models.BigIntegerField(default=0)
    api_version_id = models.BigIntegerField(default=0)
    method = models.CharField(max_length=12)
    route = models.CharField(max_length=500)
    status = models.SmallIntegerField()
    calls = models.BigIntegerField(default=0)
    latency_sum = models.FloatField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "organisation",
                    "hour",
                    "api_id",
                    "api_version_id",
                    "method",
                    "route",
                    "status",
                ],
                name="route_rollup_key",
            )
        ]
        indexes = [
            models.Index(fields=["organisation", "api_id", "hour"], name="route_rollup_api_hour")
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.route} {self.status}: {self.calls}"


class AnalyticsSettings(models.Model):
    """An organisation's retention and AI budgets."""

    organisation = models.OneToOneField(
        Organisation, on_delete=models.CASCADE, related_name="analytics_settings"
    )
    raw_retention_days = models.PositiveIntegerField(default=30)
    rollup_retention_months = models.PositiveIntegerField(default=13)

    def __str__(self) -> str:
        return f"analytics settings of {self.organisation}"


class TeamBudget(models.Model):
    """A team's monthly AI spend limit; dashboards warn as it nears."""

    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="ai_budget")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    monthly_limit = models.DecimalField(max_digits=12, decimal_places=2)
    warn_at_percent = models.PositiveSmallIntegerField(default=80)

    def __str__(self) -> str:
        return f"{self.team}: {self.monthly_limit}"


class AlertRule(models.Model):
    class Metric(models.TextChoices):
        ERROR_RATE = "error_rate", "Error rate (%)"
        P95_LATENCY = "p95_latency", "p95 latency (ms)"
        QUOTA_USE = "quota_use", "Quota used (%)"

    class State(models.TextChoices):
        OK = "ok", "OK"
        FIRING = "firing", "Firing"

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="alert_rules"
    )
    name = models.CharField(max_length=100)
    api = models.ForeignKey(
        Api, on_delete=models.CASCADE, null=True, blank=True, related_name="alert_rules"
    )
    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, null=True, blank=True, related_name="alert_rules"
    )
    metric = models.CharField(max_length=16, choices=Metric.choices)
    threshold = models.FloatField()
    window_minutes = models.PositiveIntegerField(default=15)
    # Hysteresis: a firing rule clears only below threshold × clear_ratio.
    clear_ratio = models.FloatField(default=0.8)
    notify_email = models.BooleanField(default=True)
    notify_webhook = models.BooleanField(default=True)
    enabled = models.BooleanField(default=True)
    state = models.CharField(max_length=8, choices=State.choices, default=State.OK)
    last_value = models.FloatField(null=True, blank=True)
    last_evaluated_at = models.DateTimeField(null=True, blank=True)
    last_changed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["organisation", "name"]

    def __str__(self) -> str:
        return self.name
