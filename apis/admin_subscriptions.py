"""Applications, subscriptions, keys, the gateway outbox and webhooks in the admin site.

Everything here is read-only but for two kinds of action, both through the services
with ``Actor.for_staff``: deciding pending subscriptions in bulk (the same table and
rules as in the portal, so staff never decide their own requests) and retrying
failed gateway operations. No key value, digest or sealed copy is ever shown, nor
any webhook secret.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse

from tenants.actors import Actor
from tenants.errors import ApplicationError

from .admin import ReadOnlyAdmin
from .models import (
    Application,
    Credential,
    GatewayOperation,
    Subscription,
    Webhook,
    WebhookDelivery,
)
from .services import provisioning
from .services.subscriptions import PAST, TRANSITIONS, subscription_act


def _staff_may_act(request) -> bool:
    user = request.user
    return user.is_active and user.is_staff


@admin.register(Application)
class ApplicationAdmin(ReadOnlyAdmin):
    list_display = ["name", "team", "organisation", "created_by", "created_at"]
    list_filter = ["organisation"]
    search_fields = ["name", "team__name", "organisation__name", "organisation__slug"]
    list_select_related = ["team", "organisation", "created_by"]
    fields = ["organisation", "team", "name", "description", "owners", "created_by", "created_at"]


class DecisionForm(forms.Form):
    reason = forms.CharField(required=False, max_length=2000, widget=forms.Textarea({"rows": 3}))

    def __init__(self, *args, needs_reason: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].required = needs_reason
        self.fields["reason"].help_text = (
            "Required. The consumer reads it."
            if needs_reason
            else "Optional. The consumer reads it."
        )


def _decision_action(name: str):
    def decide(modeladmin, request, queryset):
        return modeladmin.decide_selected(request, queryset, name)

    decide.__name__ = f"{name}_selected"
    decide.short_description = f"{name.capitalize()} selected pending subscriptions"
    decide.allowed_permissions = ("decide",)
    return decide


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "application",
        "api",
        "plan",
        "state",
        "gateway_state",
        "organisation",
        "provider",
        "requested_at",
    ]
    list_filter = ["state", "gateway_state", "provider", "organisation"]
    search_fields = [
        "application__name",
        "api__name",
        "api__slug",
        "plan__name",
        "organisation__name",
        "provider__name",
        "requested_by__email",
    ]
    list_select_related = ["application", "api", "plan", "organisation", "provider"]
    date_hierarchy = "requested_at"
    fields = [
        "application",
        "organisation",
        "api",
        "provider",
        "plan",
        "state",
        "gateway_state",
        "reason",
        "requested_by",
        "requested_at",
        "decided_by",
        "decided_at",
        "decision_reason",
        "requested_plan",
        "plan_change_reason",
        "plan_change_requested_by",
    ]
    actions = [_decision_action("approve"), _decision_action("reject")]

    def has_decide_permission(self, request) -> bool:
        return _staff_may_act(request) and request.user.has_perm("apis.change_subscription")

    @staticmethod
    def _refusal(subscription: Subscription, name: str, staff_user) -> str:
        if (subscription.state, name) not in TRANSITIONS:
            state = subscription.get_state_display().lower()
            return f"It is {state}; it cannot be {PAST[name]}."
        if subscription.requested_by_id == staff_user.pk:
            return "You asked for it yourself; someone else decides."
        return ""

    def decide_selected(self, request, queryset, name: str):
        """Ask for the reason on a page of its own, then decide each subscription."""
        move = TRANSITIONS[(Subscription.State.PENDING, name)]
        applying = "apply" in request.POST
        form = DecisionForm(request.POST if applying else None, needs_reason=move.needs_reason)
        chosen = list(
            queryset.select_related("application", "api", "plan", "organisation", "provider")
        )
        if applying and form.is_valid():
            self._apply(request, chosen, name, form.cleaned_data["reason"])
            return None
        rows = [(s, self._refusal(s, name, request.user)) for s in chosen]
        context = {
            **self.admin_site.each_context(request),
            "title": f"{name.capitalize()} subscriptions",
            "opts": self.model._meta,
            "verb": name,
            "rows": rows,
            "form": form,
            "action_name": request.POST.get("action", ""),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "select_across": request.POST.get("select_across", "0"),
        }
        return TemplateResponse(request, "admin/apis/subscription/decide.html", context)

    def _apply(self, request, chosen, name: str, reason: str) -> None:
        actor = Actor.for_staff(request.user)
        done, refused = [], []
        # The service decides each row: the page's forecast may be stale by now.
        for subscription in chosen:
            label = f"#{subscription.pk} {subscription.application} → {subscription.api.name}"
            try:
                subscription_act(subscription=subscription, action=name, actor=actor, reason=reason)
            except ApplicationError as error:
                refused.append(f"{label}: {error.message}")
            else:
                done.append(label)
        if done:
            self.message_user(
                request, f"{PAST[name].capitalize()}: {'; '.join(done)}.", messages.SUCCESS
            )
        for message in refused:
            self.message_user(request, f"Not {PAST[name]}: {message}", messages.WARNING)


@admin.register(Credential)
class CredentialAdmin(ReadOnlyAdmin):
    """Keys by prefix and lookup id; the digest and the sealed copy stay out of sight."""

    list_display = [
        "prefix",
        "subscription",
        "organisation",
        "created_at",
        "expires_at",
        "revoked_at",
        "grace_until",
    ]
    list_filter = ["organisation"]
    search_fields = ["=lookup_id", "prefix", "gateway_key_id"]
    list_select_related = ["subscription__application", "subscription__api", "organisation"]
    fields = [
        "prefix",
        "lookup_id",
        "subscription",
        "organisation",
        "created_by",
        "created_at",
        "expires_at",
        "revealed_at",
        "replaced_at",
        "grace_until",
        "revoked_at",
        "gateway_key_id",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).defer("digest", "sealed_reveal")


@admin.register(GatewayOperation)
class GatewayOperationAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "action",
        "state",
        "subscription",
        "connection",
        "organisation",
        "attempts",
        "created_at",
        "finished_at",
    ]
    list_filter = ["state", "action", "organisation"]
    search_fields = ["credential__prefix", "subscription__application__name", "last_error"]
    list_select_related = [
        "subscription__application",
        "subscription__api",
        "connection",
        "organisation",
    ]
    date_hierarchy = "created_at"
    fields = [
        "organisation",
        "connection",
        "subscription",
        "credential",
        "action",
        "state",
        "attempts",
        "last_error",
        "not_before",
        "created_at",
        "finished_at",
    ]
    readonly_fields = fields
    actions = ["retry_selected"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("sealed_value")

    def has_retry_permission(self, request) -> bool:
        return _staff_may_act(request) and request.user.has_perm("apis.change_gatewayoperation")

    @admin.action(description="Retry selected failed operations", permissions=["retry"])
    def retry_selected(self, request, queryset):
        actor = Actor.for_staff(request.user)
        retried, refused = [], []
        for operation in queryset.select_related("subscription__api"):
            try:
                provisioning.operation_retry(operation=operation, actor=actor)
            except ApplicationError as error:
                refused.append(f"#{operation.pk}: {error.message}")
            else:
                retried.append(f"#{operation.pk}")
        if retried:
            self.message_user(request, f"Queued again: {', '.join(retried)}.", messages.SUCCESS)
        for message in refused:
            self.message_user(request, f"Not retried: {message}", messages.WARNING)


@admin.register(Webhook)
class WebhookAdmin(ReadOnlyAdmin):
    list_display = ["url", "organisation", "is_active", "has_secret", "created_at"]
    list_filter = ["is_active", "organisation"]
    search_fields = ["url", "organisation__name", "organisation__slug"]
    list_select_related = ["organisation"]
    fields = [
        "organisation",
        "url",
        "events",
        "is_active",
        "has_secret",
        "created_by",
        "created_at",
    ]
    readonly_fields = fields

    @admin.display(boolean=True, description="Secret set")
    def has_secret(self, webhook: Webhook) -> bool:
        return bool(webhook.sealed_secret)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "event",
        "webhook",
        "organisation",
        "state",
        "attempts",
        "response_status",
        "created_at",
        "delivered_at",
    ]
    list_filter = ["state", "organisation"]
    search_fields = ["event", "webhook__url", "last_error"]
    list_select_related = ["webhook", "organisation"]
    date_hierarchy = "created_at"
