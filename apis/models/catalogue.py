"""The catalogue: APIs, their versions and specs, operations, and the lifecycle."""

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.urls import reverse
from django.utils import timezone

from tenants.models import Organisation, Team


class Tag(models.Model):
    name = models.SlugField(max_length=40, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Api(models.Model):
    """An API or AI model offered by a team, in one or more versions."""

    class Visibility(models.TextChoices):
        TEAM = "team", "Team"
        ORGANISATION = "organisation", "Organisation"
        PUBLIC = "public", "Public"

    class Kind(models.TextChoices):
        REST = "rest", "REST API"
        HTTP = "http", "HTTP API"
        AI = "ai", "AI model"

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="apis")
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="apis")
    slug = models.SlugField(max_length=80)
    name = models.CharField(max_length=120)
    summary = models.TextField(blank=True, max_length=2000)
    tags = models.ManyToManyField(Tag, blank=True, related_name="apis")
    visibility = models.CharField(
        max_length=16, choices=Visibility.choices, default=Visibility.ORGANISATION
    )
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.REST)
    current_version = models.ForeignKey(
        "ApiVersion",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The version shown first: the newest published one, else the newest.",
    )
    # Set when a gateway sync brought the API in: upserts match on (connection, external_id).
    connection = models.ForeignKey(
        "GatewayConnection",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="apis",
    )
    external_id = models.CharField(max_length=200, blank=True)
    missing_since = models.DateTimeField(
        null=True, blank=True, help_text="When the gateway stopped listing it."
    )
    # A copy of current_version.state, so catalogue queries filter without a join.
    current_state = models.CharField(max_length=16, blank=True, editable=False, db_index=True)
    # What the catalogue searches, kept by apis.search: plain text everywhere, and a
    # weighted tsvector (GIN-indexed, see the migration) on PostgreSQL.
    search_text = models.TextField(blank=True, editable=False)
    search_vector = SearchVectorField(null=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "slug"], name="api_slug_unique"),
            models.UniqueConstraint(
                fields=["connection", "external_id"],
                condition=~models.Q(external_id=""),
                name="api_external_id_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["visibility", "organisation"], name="api_visibility"),
            models.Index(fields=["name"], name="api_name"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("apis:api", kwargs={"owner": self.organisation.slug, "api": self.slug})


class ApiVersion(models.Model):
    class State(models.TextChoices):
        DRAFT = "draft", "Draft"
        PROTOTYPE = "prototype", "Prototype"
        PUBLISHED = "published", "Published"
        DEPRECATED = "deprecated", "Deprecated"
        RETIRED = "retired", "Retired"
        BLOCKED = "blocked", "Blocked"

    api = models.ForeignKey(Api, on_delete=models.CASCADE, related_name="versions")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="api_versions"
    )
    version = models.CharField(max_length=64)
    state = models.CharField(max_length=16, choices=State.choices, default=State.DRAFT)
    openapi_version = models.CharField(max_length=8, help_text="2.0, 3.0 or 3.1")
    title = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    spec_hash = models.CharField(max_length=64, db_index=True)
    base_url = models.URLField(blank=True, max_length=500)
    sunset_at = models.DateField(null=True, blank=True)
    previous = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    changes = models.JSONField(
        default=dict, blank=True, help_text="The change report against the previous version."
    )
    gateway_refs = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["api", "-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["api", "version"], name="api_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.api.name} {self.version}"

    def get_absolute_url(self) -> str:
        return reverse(
            "apis:version",
            kwargs={
                "owner": self.api.organisation.slug,
                "api": self.api.slug,
                "version": self.version,
            },
        )

    @property
    def is_breaking(self) -> bool:
        return bool(self.changes.get("breaking"))


class SpecDocument(models.Model):
    """The normalised OpenAPI document of a version, kept apart so lists stay light."""

    api_version = models.OneToOneField(ApiVersion, on_delete=models.CASCADE, related_name="spec")
    document = models.JSONField()
    size_bytes = models.PositiveIntegerField()
    source_format = models.CharField(max_length=8, help_text="json or yaml, as uploaded")

    def __str__(self) -> str:
        return f"spec of {self.api_version_id}"


class Operation(models.Model):
    """One method on one path of a version: what search and the operations table show."""

    api_version = models.ForeignKey(ApiVersion, on_delete=models.CASCADE, related_name="operations")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=1000)
    operation_id = models.CharField(max_length=200, blank=True)
    summary = models.CharField(max_length=500, blank=True)
    tags = models.JSONField(default=list, blank=True)
    deprecated = models.BooleanField(default=False)

    class Meta:
        ordering = ["api_version", "path", "method"]

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.path}"


class LifecycleTransition(models.Model):
    api_version = models.ForeignKey(
        ApiVersion, on_delete=models.CASCADE, related_name="transitions"
    )
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    from_state = models.CharField(max_length=16, choices=ApiVersion.State.choices)
    to_state = models.CharField(max_length=16, choices=ApiVersion.State.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_label = models.CharField(max_length=200)
    reason = models.TextField(blank=True, max_length=2000)
    sunset_at = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.api_version}: {self.from_state} → {self.to_state}"
