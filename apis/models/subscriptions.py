"""Consuming APIs: applications, subscriptions, their keys, the gateway outbox and
organisation webhooks."""

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from tenants.models import Organisation, Team
from tenants.sealing import seal, unseal

from .catalogue import Api
from .gateways import GatewayConnection, Plan


class Application(models.Model):
    """A consumer's app: the thing that holds subscriptions and keys."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="applications"
    )
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="applications")
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True, max_length=2000)
    owners = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="owned_applications"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["organisation", "name"]
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="application_name_unique")
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("apis:application", kwargs={"org": self.organisation.slug, "pk": self.pk})


class Subscription(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        CANCELLED = "cancelled", "Cancelled"
        SUSPENDED = "suspended", "Suspended"
        REVOKED = "revoked", "Revoked"

    class GatewayState(models.TextChoices):
        NONE = "none", "Not on a gateway"
        PROVISIONING = "provisioning", "Provisioning"
        ACTIVE = "active", "Active"
        DISABLED = "disabled", "Disabled"
        REMOVED = "removed", "Removed"
        FAILED = "failed", "Failed"

    LIVE_STATES = (State.PENDING, State.APPROVED, State.SUSPENDED)

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="subscriptions"
    )
    # The consumer's organisation (the application's) and the provider's (the API's).
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="subscriptions"
    )
    api = models.ForeignKey(Api, on_delete=models.CASCADE, related_name="subscriptions")
    provider = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="subscribers")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    gateway_state = models.CharField(
        max_length=16, choices=GatewayState.choices, default=GatewayState.NONE
    )
    reason = models.TextField(blank=True, max_length=2000, help_text="Why the consumer asks.")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True, max_length=2000)
    # A plan change the consumer asked for; the current plan works until it is decided.
    requested_plan = models.ForeignKey(
        Plan, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    plan_change_reason = models.TextField(blank=True, max_length=2000)
    plan_change_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "api"],
                condition=models.Q(state__in=["pending", "approved", "suspended"]),
                name="one_live_subscription",
            )
        ]
        indexes = [
            models.Index(fields=["provider", "state"], name="subscription_inbox"),
            models.Index(fields=["organisation", "state"], name="subscription_consumer"),
        ]

    def __str__(self) -> str:
        return f"{self.application} → {self.api} ({self.state})"

    def get_absolute_url(self) -> str:
        return reverse("apis:subscription", kwargs={"org": self.organisation.slug, "pk": self.pk})


class Credential(models.Model):
    """An API key of a subscription. Its value is shown once and stored as a digest;
    a sealed copy waits for the consumer's one look when the key was issued on approval."""

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="credentials"
    )
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    lookup_id = models.CharField(max_length=16, unique=True, editable=False)
    prefix = models.CharField(max_length=32, editable=False, help_text="What lists show.")
    digest = models.CharField(max_length=64, editable=False)
    sealed_reveal = models.TextField(blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Set when a newer key replaced this one; it keeps working until then.
    replaced_at = models.DateTimeField(null=True, blank=True)
    grace_until = models.DateTimeField(null=True, blank=True)
    revealed_at = models.DateTimeField(null=True, blank=True)
    expiry_notified_at = models.DateTimeField(null=True, blank=True)
    gateway_key_id = models.CharField(max_length=128, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.display_prefix

    @property
    def display_prefix(self) -> str:
        return self.prefix

    def is_valid_at(self, moment) -> bool:
        if self.revoked_at is not None and self.revoked_at <= moment:
            return False
        if self.expires_at is not None and self.expires_at <= moment:
            return False
        return not (self.grace_until is not None and self.grace_until <= moment)

    @property
    def is_valid(self) -> bool:
        return self.is_valid_at(timezone.now())

    def set_reveal(self, plaintext: str) -> None:
        self.sealed_reveal = seal(plaintext)

    def open_reveal(self) -> str:
        return unseal(self.sealed_reveal) if self.sealed_reveal else ""


class GatewayOperation(models.Model):
    """The outbox: a change a decision made, to be carried to the gateway after commit."""

    class Action(models.TextChoices):
        PROVISION = "provision", "Create the key on the gateway"
        DISABLE = "disable", "Disable the key"
        ENABLE = "enable", "Enable the key"
        REVOKE = "revoke", "Remove the key"
        SET_BUDGET = "set_budget", "Set the key's budget"

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    connection = models.ForeignKey(
        GatewayConnection, on_delete=models.CASCADE, related_name="operations"
    )
    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="operations"
    )
    credential = models.ForeignKey(Credential, on_delete=models.CASCADE, related_name="operations")
    action = models.CharField(max_length=12, choices=Action.choices)
    state = models.CharField(max_length=12, choices=State.choices, default=State.PENDING)
    # A sealed copy of the key's value for the provision step only, wiped once done.
    sealed_value = models.TextField(blank=True, editable=False)
    not_before = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # When the running attempt took the operation: its lease, which lapses after
    # provisioning.RUNNING_LEASE (a worker that died mid-run leaves it running).
    started_at = models.DateTimeField(null=True, blank=True, editable=False)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["state", "not_before"], name="operation_due")]

    def __str__(self) -> str:
        return f"{self.get_action_display()} for {self.subscription_id} ({self.state})"


class Webhook(models.Model):
    EVENTS = ("subscription.*", "credential.*", "lifecycle.*", "alert.*")

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="webhooks"
    )
    url = models.URLField(max_length=500)
    events = models.JSONField(default=list, help_text="Event patterns, e.g. subscription.*")
    sealed_secret = models.TextField(editable=False)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["organisation", "url"]

    def __str__(self) -> str:
        return self.url

    def secret(self) -> str:
        return unseal(self.sealed_secret)

    def wants(self, event: str) -> bool:
        family = event.split(".", 1)[0] + ".*"
        return event in self.events or family in self.events


class WebhookDelivery(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Delivered"
        FAILED = "failed", "Failed"

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    event = models.CharField(max_length=64)
    payload = models.JSONField()
    state = models.CharField(max_length=12, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    response_status = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    delivered_at = models.DateTimeField(null=True, blank=True)
    # When the current attempt started or the next one is due; a pending delivery long
    # past it has lost its task, and the sweep queues it again.
    next_attempt_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(state="pending"),
                name="webhookdelivery_pending_due",
            )
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.webhook} ({self.state})"
