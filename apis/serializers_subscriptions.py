"""Serializers of the subscriptions REST API (apis.api_subscriptions, api_applications
and api_webhooks): plans, applications, subscriptions, keys, webhooks and gateway
operations.

Tenant, owner, state and decision fields are read-only. A key's value leaves the
server only in the answer to issue, reveal or rotate; a webhook's secret only in
the answer to create. Each side of a subscription sees the other side's
organisation, team and application names, and none of its people.
"""

from decimal import Decimal

from django.conf import settings
from django.urls import reverse
from rest_framework import serializers

from .models import (
    Application,
    Credential,
    GatewayOperation,
    Plan,
    Subscription,
    Webhook,
    WebhookDelivery,
)

CONSUMER, PROVIDER, BOTH = "consumer", "provider", "both"


# --- Plans ----------------------------------------------------------------------


class PlanSerializer(serializers.ModelSerializer):
    gateway_plan_id = serializers.SerializerMethodField(
        help_text="The gateway's usage plan; shown to the API's owners only, null for others."
    )
    quota_period = serializers.ChoiceField(
        choices=Plan.Period.choices,
        allow_blank=True,
        read_only=True,
        help_text="Empty without a quota.",
    )

    class Meta:
        model = Plan
        fields = [
            "id",
            "name",
            "description",
            "rate_limit",
            "burst_limit",
            "quota_limit",
            "quota_period",
            "approval",
            "key_grace_hours",
            "budget",
            "is_active",
            "gateway_plan_id",
            "created_at",
        ]
        read_only_fields = fields

    def get_gateway_plan_id(self, plan) -> str | None:
        return plan.gateway_plan_id if self.context.get("is_owner") else None


class _PlanTerms(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    description = serializers.CharField(max_length=2000, allow_blank=True, default="")
    rate_limit = serializers.FloatField(
        required=False, allow_null=True, default=None, help_text="Requests per second."
    )
    burst_limit = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=0
    )
    quota_limit = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=0
    )
    quota_period = serializers.ChoiceField(
        choices=Plan.Period.choices, allow_blank=True, default="", help_text="Needed with a quota."
    )
    approval = serializers.ChoiceField(choices=Plan.Approval.choices, default=Plan.Approval.MANUAL)
    key_grace_hours = serializers.IntegerField(
        min_value=0, max_value=24 * 90, default=24, help_text="How long a rotated key works."
    )
    budget = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
        required=False,
        allow_null=True,
        default=None,
        help_text="USD a key may spend per quota period, or in its lifetime without one. "
        "LiteLLM keys only; ignored for other gateways.",
    )
    gateway_plan_id = serializers.CharField(
        max_length=128,
        allow_blank=True,
        default="",
        help_text="Bind the plan to a usage plan of the API's gateway connection.",
    )


class PlanCreateSerializer(_PlanTerms):
    pass


class PlanUpdateSerializer(_PlanTerms):
    """Used partially: a change names only what changes."""

    is_active = serializers.BooleanField(
        default=True, help_text="False closes the plan; true opens it again."
    )


# --- Applications ---------------------------------------------------------------


class ApplicationSerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    owners = serializers.SerializerMethodField(help_text="E-mail addresses of its owners.")
    created_by = serializers.EmailField(source="created_by.email", read_only=True, default=None)
    web_url = serializers.SerializerMethodField(help_text="The application's page in the portal.")

    class Meta:
        model = Application
        fields = [
            "id",
            "name",
            "description",
            "team",
            "owners",
            "created_by",
            "created_at",
            "web_url",
        ]
        read_only_fields = fields

    def get_owners(self, application) -> list[str]:
        return sorted(user.email for user in application.owners.all())

    def get_web_url(self, application) -> str:
        return settings.PORTICO_BASE_URL + application.get_absolute_url()


class ApplicationCreateSerializer(serializers.Serializer):
    team = serializers.SlugField(help_text="The team that owns it; you must develop in it.")
    name = serializers.CharField(max_length=100)
    description = serializers.CharField(max_length=2000, allow_blank=True, default="")
    owners = serializers.ListField(
        child=serializers.EmailField(),
        required=False,
        max_length=50,
        help_text="Members of the organisation; default: you.",
    )


class ApplicationUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    description = serializers.CharField(max_length=2000, allow_blank=True, required=False)
    owners = serializers.ListField(child=serializers.EmailField(), required=False, max_length=50)


# --- Subscriptions --------------------------------------------------------------


class SubscribedApplicationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    team = serializers.CharField(source="team.name")
    organisation = serializers.CharField(source="organisation.name")


class SubscribedApiSerializer(serializers.Serializer):
    owner = serializers.SlugField(source="organisation.slug")
    slug = serializers.SlugField()
    name = serializers.CharField()


class PlanRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class SubscriptionSerializer(serializers.ModelSerializer):
    side = serializers.SerializerMethodField(
        help_text="Which side the organisation in the URL is on: consumer, provider or both."
    )
    organisation = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, help_text="The consumer: the application's."
    )
    provider = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, help_text="The provider: the API's owner."
    )
    application = SubscribedApplicationSerializer(read_only=True)
    api = SubscribedApiSerializer(read_only=True)
    plan = PlanRefSerializer(read_only=True)
    requested_plan = PlanRefSerializer(
        read_only=True, allow_null=True, help_text="A plan change waiting for a decision."
    )
    requested_by = serializers.SerializerMethodField(
        help_text="Who asked; shown to the consumer's side only."
    )
    decided_by = serializers.SerializerMethodField(
        help_text="Who approved or rejected; shown to the provider's side only."
    )
    web_url = serializers.SerializerMethodField(help_text="The subscription's page.")

    class Meta:
        model = Subscription
        fields = [
            "id",
            "side",
            "state",
            "gateway_state",
            "organisation",
            "provider",
            "application",
            "api",
            "plan",
            "requested_plan",
            "plan_change_reason",
            "reason",
            "requested_by",
            "requested_at",
            "decided_by",
            "decided_at",
            "decision_reason",
            "web_url",
        ]
        read_only_fields = fields

    def _organisation_id(self) -> int | None:
        organisation = self.context.get("organisation")
        return organisation.pk if organisation is not None else None

    def get_side(self, subscription) -> str:
        here = self._organisation_id()
        consumer = subscription.organisation_id == here
        provider = subscription.provider_id == here
        return BOTH if consumer and provider else CONSUMER if consumer else PROVIDER

    def get_requested_by(self, subscription) -> str | None:
        user = subscription.requested_by
        if user is None or subscription.organisation_id != self._organisation_id():
            return None
        return user.email

    def get_decided_by(self, subscription) -> str | None:
        user = subscription.decided_by
        if user is None or subscription.provider_id != self._organisation_id():
            return None
        return user.email

    def get_web_url(self, subscription) -> str:
        organisation = self.context.get("organisation") or subscription.organisation
        path = reverse(
            "apis:subscription", kwargs={"org": organisation.slug, "pk": subscription.pk}
        )
        return settings.PORTICO_BASE_URL + path


class SubscriptionCreateSerializer(serializers.Serializer):
    application = serializers.IntegerField(help_text="An application of this organisation.")
    api_owner = serializers.SlugField(help_text="The organisation that owns the API.")
    api = serializers.SlugField(help_text="The API's slug.")
    plan = serializers.IntegerField(help_text="An open plan of the API.")
    reason = serializers.CharField(
        max_length=2000, allow_blank=True, default="", help_text="Why you ask; the owner reads it."
    )


class SubscriptionQuerySerializer(serializers.Serializer):
    side = serializers.ChoiceField(
        choices=[CONSUMER, PROVIDER],
        required=False,
        help_text="consumer: the organisation's applications' subscriptions; provider: those "
        "to its APIs. Default: both.",
    )
    state = serializers.ChoiceField(choices=Subscription.State.choices, required=False)
    api_owner = serializers.SlugField(required=False, help_text="The API's organisation.")
    api = serializers.SlugField(required=False, help_text="The API's slug.")
    application = serializers.IntegerField(required=False, help_text="An application's id.")


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=2000,
        allow_blank=True,
        default="",
        help_text="Needed to reject, suspend and revoke; the other side reads it.",
    )


class ChangePlanSerializer(serializers.Serializer):
    plan = serializers.IntegerField(help_text="Another open plan of the same API.")
    reason = serializers.CharField(max_length=2000, allow_blank=True, default="")


# --- Keys -----------------------------------------------------------------------


class CredentialSerializer(serializers.ModelSerializer):
    prefix = serializers.CharField(
        source="display_prefix", read_only=True, help_text="The key's first characters."
    )
    is_valid = serializers.BooleanField(read_only=True, help_text="The key works now.")
    can_reveal = serializers.SerializerMethodField(
        help_text="The key's value waits for its one look (POST reveal)."
    )
    created_by = serializers.EmailField(source="created_by.email", read_only=True, default=None)

    class Meta:
        model = Credential
        fields = [
            "id",
            "prefix",
            "is_valid",
            "can_reveal",
            "created_by",
            "created_at",
            "expires_at",
            "revealed_at",
            "replaced_at",
            "grace_until",
            "revoked_at",
        ]
        read_only_fields = fields

    def get_can_reveal(self, credential) -> bool:
        return bool(credential.sealed_reveal)


class CredentialSecretSerializer(CredentialSerializer):
    key = serializers.CharField(read_only=True, help_text="The key's value. Shown once: store it.")

    class Meta(CredentialSerializer.Meta):
        fields = [*CredentialSerializer.Meta.fields, "key"]
        read_only_fields = fields


class CredentialRotatedSerializer(CredentialSecretSerializer):
    replaced = CredentialSerializer(
        read_only=True, help_text="The key this one replaces; it works until its grace_until."
    )

    class Meta(CredentialSecretSerializer.Meta):
        fields = [*CredentialSecretSerializer.Meta.fields, "replaced"]
        read_only_fields = fields


def with_key(credential: Credential, plaintext: str, **extra) -> Credential:
    """The credential carrying its value for one response (never saved)."""
    credential.key = plaintext
    for name, value in extra.items():
        setattr(credential, name, value)
    return credential


# --- Webhooks -------------------------------------------------------------------


class WebhookSerializer(serializers.ModelSerializer):
    has_secret = serializers.SerializerMethodField(
        help_text="A signing secret is set; it is shown only when the webhook is created."
    )
    created_by = serializers.EmailField(source="created_by.email", read_only=True, default=None)

    class Meta:
        model = Webhook
        fields = ["id", "url", "events", "is_active", "has_secret", "created_by", "created_at"]
        read_only_fields = fields

    def get_has_secret(self, webhook) -> bool:
        return bool(webhook.sealed_secret)


class WebhookCreatedSerializer(WebhookSerializer):
    secret = serializers.CharField(
        read_only=True,
        help_text="Signs each delivery (X-Portico-Signature). Shown once: store it.",
    )

    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "secret"]
        read_only_fields = fields


_EVENTS_HELP = "Event patterns: " + ", ".join(Webhook.EVENTS) + ", or single events in them."


class WebhookCreateSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=500)
    events = serializers.ListField(
        child=serializers.CharField(max_length=64), max_length=50, help_text=_EVENTS_HELP
    )


class WebhookUpdateSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=500, required=False)
    events = serializers.ListField(
        child=serializers.CharField(max_length=64),
        max_length=50,
        required=False,
        help_text=_EVENTS_HELP,
    )
    is_active = serializers.BooleanField(required=False)


class WebhookDeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event",
            "state",
            "attempts",
            "response_status",
            "last_error",
            "payload",
            "created_at",
            "delivered_at",
        ]
        read_only_fields = fields


# --- Gateway operations ---------------------------------------------------------


class GatewayOperationSerializer(serializers.ModelSerializer):
    connection = serializers.CharField(source="connection.name", read_only=True)
    subscription = serializers.IntegerField(source="subscription_id", read_only=True)
    application = serializers.CharField(source="subscription.application.name", read_only=True)
    key = serializers.CharField(
        source="credential.display_prefix", read_only=True, help_text="The key's prefix."
    )

    class Meta:
        model = GatewayOperation
        fields = [
            "id",
            "action",
            "state",
            "connection",
            "subscription",
            "application",
            "key",
            "attempts",
            "last_error",
            "not_before",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields
