"""Gateway connections, what their syncs saw, and the plans APIs are offered under."""

from django.db import models
from django.urls import reverse
from django.utils import timezone

from tenants.models import Organisation, Team
from tenants.sealing import seal, unseal

from .catalogue import Api, ApiVersion


class GatewayConnection(models.Model):
    """One gateway account or endpoint that the catalogue is synced from."""

    class Kind(models.TextChoices):
        AWS_REST = "aws_rest", "AWS API Gateway (REST APIs)"
        AWS_HTTP = "aws_http", "AWS API Gateway (HTTP APIs)"
        LITELLM = "litellm", "LiteLLM proxy"
        APIPARK = "apipark", "APIPark"
        OPENAPI_URL = "openapi_url", "OpenAPI document at a URL"

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="gateway_connections"
    )
    team = models.ForeignKey(
        Team,
        on_delete=models.PROTECT,
        related_name="gateway_connections",
        help_text="The team that owns the APIs this connection brings in.",
    )
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    config = models.JSONField(default=dict, blank=True)
    sealed_secret = models.TextField(blank=True, editable=False)
    visibility = models.CharField(
        max_length=16,
        choices=Api.Visibility.choices,
        default=Api.Visibility.ORGANISATION,
        help_text="Visibility of APIs this connection creates.",
    )
    publish_on_sync = models.BooleanField(
        default=False, help_text="New versions found by a sync start published, not draft."
    )
    interval_minutes = models.PositiveIntegerField(default=60)
    enabled = models.BooleanField(default=True)
    # Claimed by the run in progress (a conditional UPDATE), so one run goes at a time.
    running_since = models.DateTimeField(null=True, blank=True, editable=False)
    last_run = models.ForeignKey(
        "SyncRun",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["organisation", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "name"], name="connection_name_unique")
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("apis:connection", kwargs={"org": self.organisation.slug, "pk": self.pk})

    @property
    def has_secret(self) -> bool:
        return bool(self.sealed_secret)

    def set_secret(self, plaintext: str) -> None:
        self.sealed_secret = seal(plaintext) if plaintext else ""

    def secret(self) -> str:
        return unseal(self.sealed_secret) if self.sealed_secret else ""


class SyncRun(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting for a worker"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        PARTIAL = "partial", "Succeeded with errors"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped: another run was in progress"

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Schedule"
        MANUAL = "manual", "Sync now"
        COMMAND = "command", "Command line"

    connection = models.ForeignKey(GatewayConnection, on_delete=models.CASCADE, related_name="runs")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    new = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    missing = models.PositiveIntegerField(default=0)
    calls = models.PositiveIntegerField(default=0, help_text="Requests made to the gateway.")
    errors = models.JSONField(default=list, blank=True)
    request_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["connection", "-started_at"], name="syncrun_recent")]

    def __str__(self) -> str:
        return f"{self.connection} at {self.started_at:%Y-%m-%d %H:%M}: {self.status}"

    @property
    def is_finished(self) -> bool:
        return self.status not in (self.Status.QUEUED, self.Status.RUNNING)

    @property
    def duration_seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class GatewayDeployment(models.Model):
    """Where a synced API runs: one stage of one gateway API, as last seen."""

    connection = models.ForeignKey(
        GatewayConnection, on_delete=models.CASCADE, related_name="deployments"
    )
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    api = models.ForeignKey(Api, on_delete=models.CASCADE, related_name="deployments")
    version = models.ForeignKey(
        ApiVersion,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="deployments",
        help_text="The version whose spec this stage serves.",
    )
    stage = models.CharField(max_length=128)
    deployment_id = models.CharField(max_length=128, blank=True)
    invoke_url = models.URLField(max_length=500, blank=True)
    variables = models.JSONField(default=dict, blank=True)
    base_paths = models.JSONField(default=list, blank=True, help_text="Custom domain mappings.")
    integrations = models.JSONField(
        default=list, blank=True, help_text="What each route calls: Lambda function and alias."
    )
    fingerprint = models.CharField(max_length=200, blank=True)
    last_seen_at = models.DateTimeField(default=timezone.now)
    missing_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["api", "stage"]
        constraints = [
            models.UniqueConstraint(fields=["api", "stage"], name="deployment_stage_unique")
        ]

    def __str__(self) -> str:
        return f"{self.api} on {self.stage}"


class Plan(models.Model):
    """What a consumer subscribes to: limits, quota and how requests are approved."""

    class Period(models.TextChoices):
        DAY = "day", "per day"
        WEEK = "week", "per week"
        MONTH = "month", "per month"

    class Approval(models.TextChoices):
        AUTOMATIC = "automatic", "Automatic"
        MANUAL = "manual", "Manual"

    api = models.ForeignKey(Api, on_delete=models.CASCADE, related_name="plans")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True, max_length=2000)
    rate_limit = models.FloatField(null=True, blank=True, help_text="Requests per second.")
    burst_limit = models.PositiveIntegerField(null=True, blank=True)
    quota_limit = models.PositiveIntegerField(null=True, blank=True)
    quota_period = models.CharField(max_length=8, choices=Period.choices, blank=True)
    approval = models.CharField(max_length=12, choices=Approval.choices, default=Approval.MANUAL)
    key_grace_hours = models.PositiveIntegerField(
        default=24, help_text="How long a rotated key keeps working."
    )
    # Money, not requests, so LiteLLM keys only: AWS usage plans have quotas, not budgets.
    budget = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="USD a key may spend per quota period, or in its lifetime without one "
        "(LiteLLM keys only).",
    )
    connection = models.ForeignKey(
        GatewayConnection, on_delete=models.SET_NULL, null=True, blank=True, related_name="plans"
    )
    gateway_plan_id = models.CharField(max_length=128, blank=True)
    # The limits the gateway had at the last sync; differing from ours is drift.
    gateway_observed = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["api", "name"]
        constraints = [models.UniqueConstraint(fields=["api", "name"], name="plan_name_unique")]

    def __str__(self) -> str:
        return f"{self.api.name}: {self.name}"

    def limits(self) -> dict:
        return {
            "rate_limit": self.rate_limit,
            "burst_limit": self.burst_limit,
            "quota_limit": self.quota_limit,
            "quota_period": self.quota_period or None,
        }


class GatewayKey(models.Model):
    """An API key as the gateway holds it. Only a digest of its value is kept."""

    connection = models.ForeignKey(GatewayConnection, on_delete=models.CASCADE, related_name="keys")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    external_id = models.CharField(max_length=128)
    name = models.CharField(max_length=200, blank=True)
    enabled = models.BooleanField(default=True)
    value_digest = models.CharField(max_length=64, blank=True, db_index=True)
    plan_ids = models.JSONField(default=list, blank=True)
    last_seen_at = models.DateTimeField(default=timezone.now)
    missing_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["connection", "name"]
        constraints = [
            models.UniqueConstraint(fields=["connection", "external_id"], name="gateway_key_unique")
        ]

    def __str__(self) -> str:
        return self.name or self.external_id
