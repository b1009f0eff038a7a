"""Gateway connections, runs, deployments, keys and plans in the admin site.

Runs, deployments and keys are what syncs saw: read-only. Staff may change a
connection's schedule and settings (its beat entry follows at once) and a
plan's terms; each change is audited as platform staff. The secret is write-only, and a key's
digest is never shown.
"""

from django import forms
from django.contrib import admin
from django.db import models, transaction

from tenants.actors import Actor
from tenants.errors import ApplicationError
from tenants.forms import add_application_error
from tenants.services.audit import audit_record

from .admin import ReadOnlyAdmin
from .forms_gateways import SECRET_SET_HELP
from .models import GatewayConnection, GatewayDeployment, GatewayKey, Plan, SyncRun
from .services import plans
from .services.connections import (
    MAX_INTERVAL,
    MIN_INTERVAL,
    NEEDS_SECRET,
    _clean_config,
    _public_state,
    _schedule,
)


class _Changeable(admin.ModelAdmin):
    """Changed here, never added or deleted: those go through the portal's services."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ConnectionAdminForm(forms.ModelForm):
    new_secret = forms.CharField(
        required=False,
        max_length=500,
        label="Secret",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Write-only.",
    )
    interval_minutes = forms.IntegerField(min_value=MIN_INTERVAL, max_value=MAX_INTERVAL)

    class Meta:
        model = GatewayConnection
        fields = ["name", "config", "visibility", "publish_on_sync", "interval_minutes", "enabled"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.kind not in NEEDS_SECRET:
            del self.fields["new_secret"]
        elif self.instance.has_secret:
            self.fields["new_secret"].help_text = SECRET_SET_HELP

    def clean_config(self):
        try:
            return _clean_config(self.instance.kind, self.cleaned_data["config"] or {})
        except ApplicationError as error:
            details = [m for messages in error.fields.values() for m in messages]
            raise forms.ValidationError(" ".join([error.message, *details])) from error


@admin.register(GatewayConnection)
class GatewayConnectionAdmin(_Changeable):
    form = ConnectionAdminForm
    list_display = [
        "name",
        "organisation",
        "kind",
        "team",
        "interval_minutes",
        "enabled",
        "last_run_status",
    ]
    list_filter = ["kind", "enabled", "organisation"]
    search_fields = ["name", "organisation__name", "organisation__slug"]
    list_select_related = ["organisation", "team", "last_run"]
    readonly_fields = [
        "organisation",
        "team",
        "kind",
        "has_secret",
        "running_since",
        "last_run",
        "created_at",
    ]
    fieldsets = [
        (None, {"fields": ["organisation", "team", "name", "kind", "visibility"]}),
        ("Gateway", {"fields": ["config", "new_secret", "has_secret"]}),
        (
            "Schedule",
            {"fields": ["interval_minutes", "enabled", "publish_on_sync", "running_since"]},
        ),
        (None, {"fields": ["last_run", "created_at"]}),
    ]

    def get_fieldsets(self, request, obj=None):
        if obj is not None and obj.kind in NEEDS_SECRET:
            return self.fieldsets
        return [
            (name, {"fields": [f for f in options["fields"] if f != "new_secret"]})
            for name, options in self.fieldsets
        ]

    @admin.display(description="Last run", ordering="last_run__status")
    def last_run_status(self, connection: GatewayConnection) -> str:
        return connection.last_run.get_status_display() if connection.last_run else "–"

    @admin.display(boolean=True, description="Secret set")
    def has_secret(self, connection: GatewayConnection) -> bool:
        return connection.has_secret

    def save_model(self, request, obj, form, change):
        secret = form.cleaned_data.get("new_secret", "")
        with transaction.atomic():
            before = _public_state(GatewayConnection.objects.get(pk=obj.pk))
            if secret:
                obj.set_secret(secret)
            obj.save()
            _schedule(obj)
            after = _public_state(obj)
            if secret:
                after["secret"] = "replaced"
            audit_record(
                actor=Actor.for_staff(request.user),
                organisation=obj.organisation,
                action="gateway_connection.updated",
                target=obj,
                before=before,
                after=after,
            )


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdmin):
    list_display = [
        "started_at",
        "connection",
        "organisation",
        "trigger",
        "status",
        "new",
        "changed",
        "unchanged",
        "missing",
        "calls",
    ]
    list_filter = ["status", "trigger", "organisation"]
    search_fields = ["connection__name", "request_id"]
    list_select_related = ["connection", "organisation"]
    date_hierarchy = "started_at"


@admin.register(GatewayDeployment)
class GatewayDeploymentAdmin(ReadOnlyAdmin):
    list_display = ["api", "stage", "connection", "version", "last_seen_at", "missing_since"]
    list_filter = ["organisation"]
    search_fields = ["api__name", "stage", "deployment_id"]
    list_select_related = ["api", "connection", "version"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


@admin.register(GatewayKey)
class GatewayKeyAdmin(ReadOnlyAdmin):
    list_display = ["name", "external_id", "connection", "enabled", "last_seen_at"]
    list_filter = ["enabled", "organisation"]
    search_fields = ["name", "external_id"]
    list_select_related = ["connection"]
    exclude = ["value_digest"]


PLAN_TERMS = [
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
]


class PlanAdminForm(forms.ModelForm):
    class Meta:
        model = Plan
        fields = PLAN_TERMS

    def _post_clean(self):
        super()._post_clean()
        if not self.errors:
            try:
                plans.plan_validate(self.instance)
            except ApplicationError as error:
                add_application_error(self, error)


@admin.register(Plan)
class PlanAdmin(_Changeable):
    form = PlanAdminForm
    list_display = ["name", "api", "organisation", "approval", "connection", "is_active"]
    list_filter = ["approval", "is_active", "organisation"]
    search_fields = ["name", "api__name", "gateway_plan_id"]
    list_select_related = ["api", "organisation", "connection"]
    fields = [
        "api",
        "organisation",
        *PLAN_TERMS,
        "connection",
        "gateway_plan_id",
        "gateway_observed",
        "created_at",
    ]
    readonly_fields = [
        "api",
        "organisation",
        "connection",
        "gateway_plan_id",
        "gateway_observed",
        "created_at",
    ]

    def save_model(self, request, obj, form, change):
        # Through the service, as a maintainer's change: checked, audited, and carried to
        # the keys a gateway holds when the budget moves.
        plans.plan_update(
            plan=Plan.objects.get(pk=obj.pk),
            actor=Actor.for_staff(request.user),
            **{name: getattr(obj, name) for name in PLAN_TERMS},
        )
