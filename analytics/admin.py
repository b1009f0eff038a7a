"""Analytics in the admin site.

What imports write (uploads, runs, rollups) is read-only. Staff may pause a log
source or change its schedule (its push token digest and cursor stay read-only),
change or delete alert rules through the alert service, and set retention and AI
budgets; each change is audited as platform staff. Rollup tables are large: their
lists filter by day and organisation and skip the full count.
"""

import copy

from django import forms
from django.contrib import admin
from django.db import transaction

from apis.admin import ReadOnlyAdmin
from tenants.actors import Actor
from tenants.errors import ApplicationError
from tenants.services.audit import audit_record

from .models import (
    AlertRule,
    AnalyticsSettings,
    ImportRun,
    LogSource,
    LogUpload,
    RouteRollup,
    TeamBudget,
    UsageRollup,
)
from .services import alerts


def _audited_save(request, obj, action: str, fields: list[str], change: bool) -> None:
    with transaction.atomic():
        before = None
        if change:
            previous = type(obj).objects.get(pk=obj.pk)
            before = {name: _plain(getattr(previous, name)) for name in fields}
        obj.save()
        audit_record(
            actor=Actor.for_staff(request.user),
            organisation=obj.organisation,
            action=action,
            target=obj,
            before=before,
            after={name: _plain(getattr(obj, name)) for name in fields},
        )


def _plain(value):
    """A JSON-safe value for the audit log."""
    if value is None or isinstance(value, bool | int | float | str | dict | list):
        return value
    return str(value)


# --- Sources and imports --------------------------------------------------------------


SOURCE_SETTINGS = ["name", "interval_minutes", "enabled"]


@admin.register(LogSource)
class LogSourceAdmin(admin.ModelAdmin):
    list_display = ["name", "organisation", "kind", "format", "enabled", "interval_minutes"]
    list_filter = ["kind", "format", "enabled", "organisation"]
    search_fields = ["name", "organisation__name", "organisation__slug"]
    list_select_related = ["organisation"]
    fields = [
        "organisation",
        "name",
        "kind",
        "format",
        "config",
        "connection",
        "api",
        "interval_minutes",
        "enabled",
        "push_lookup_id",
        "push_digest",
        "cursor",
        "running_since",
        "created_at",
    ]
    readonly_fields = [
        "organisation",
        "kind",
        "format",
        "config",
        "connection",
        "api",
        "push_lookup_id",
        "push_digest",
        "cursor",
        "running_since",
        "created_at",
    ]

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # push tokens and settings checks belong to the portal's service

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # deleting removes stored files too: the portal's service does that

    def save_model(self, request, obj, form, change):
        _audited_save(request, obj, "log_source.updated", SOURCE_SETTINGS, change)


@admin.register(LogUpload)
class LogUploadAdmin(ReadOnlyAdmin):
    list_display = ["name", "source", "organisation", "size_bytes", "state", "created_at"]
    list_filter = ["state", "organisation"]
    search_fields = ["name", "source__name"]
    list_select_related = ["source", "organisation"]
    date_hierarchy = "created_at"


@admin.register(ImportRun)
class ImportRunAdmin(ReadOnlyAdmin):
    list_display = [
        "started_at",
        "source",
        "organisation",
        "trigger",
        "status",
        "read",
        "imported",
        "duplicates",
        "rejected",
    ]
    list_filter = ["status", "trigger", "organisation"]
    search_fields = ["source__name", "error"]
    list_select_related = ["source", "organisation"]
    date_hierarchy = "started_at"


# --- Alert rules ----------------------------------------------------------------------

# What staff may change: the terms the rule's owners change through the service.
RULE_TERMS = list(alerts.FIELDS)


class AlertRuleAdminForm(forms.ModelForm):
    class Meta:
        model = AlertRule
        fields = RULE_TERMS

    def clean(self):
        cleaned = super().clean()
        # The instance takes the form's values only after clean(): check a copy now.
        rule = copy.copy(self.instance)
        for name in RULE_TERMS:
            if name in cleaned:
                setattr(rule, name, cleaned[name])
        try:
            alerts.alert_rule_validate(rule)
        except ApplicationError as error:
            for field, messages in error.fields.items():
                self.add_error(field if field in self.fields else None, messages)
        return cleaned


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    form = AlertRuleAdminForm
    list_display = ["name", "organisation", "api", "application", "metric", "state", "enabled"]
    list_filter = ["state", "metric", "enabled", "organisation"]
    search_fields = ["name", "organisation__name", "api__name", "application__name"]
    list_select_related = ["organisation", "api", "application"]
    fields = [
        "organisation",
        "api",
        "application",
        *RULE_TERMS,
        "state",
        "last_value",
        "last_evaluated_at",
        "last_changed_at",
        "created_at",
    ]
    readonly_fields = [name for name in fields if name not in RULE_TERMS]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        values = {name: form.cleaned_data[name] for name in RULE_TERMS}
        alerts.alert_rule_update(rule=obj, actor=Actor.for_staff(request.user), **values)

    def delete_model(self, request, obj):
        alerts.alert_rule_delete(rule=obj, actor=Actor.for_staff(request.user))

    def delete_queryset(self, request, queryset):
        for rule in queryset.select_related("organisation", "api", "application"):
            self.delete_model(request, rule)


# --- Settings and budgets -------------------------------------------------------------

RETENTION = ["raw_retention_days", "rollup_retention_months"]


class AnalyticsSettingsForm(forms.ModelForm):
    raw_retention_days = forms.IntegerField(min_value=1, max_value=3650)
    rollup_retention_months = forms.IntegerField(min_value=1, max_value=120)

    class Meta:
        model = AnalyticsSettings
        fields = ["organisation", *RETENTION]


@admin.register(AnalyticsSettings)
class AnalyticsSettingsAdmin(admin.ModelAdmin):
    form = AnalyticsSettingsForm
    list_display = ["organisation", *RETENTION]
    search_fields = ["organisation__name", "organisation__slug"]
    list_select_related = ["organisation"]
    raw_id_fields = ["organisation"]

    def get_readonly_fields(self, request, obj=None):
        return ["organisation"] if obj is not None else []

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # without a row the defaults apply; change the numbers instead

    def save_model(self, request, obj, form, change):
        _audited_save(request, obj, "analytics_settings.updated", RETENTION, change)


BUDGET_TERMS = ["monthly_limit", "warn_at_percent"]


class TeamBudgetForm(forms.ModelForm):
    warn_at_percent = forms.IntegerField(min_value=1, max_value=100)

    class Meta:
        model = TeamBudget
        fields = ["team", *BUDGET_TERMS]

    def clean_monthly_limit(self):
        limit = self.cleaned_data["monthly_limit"]
        if limit is not None and limit <= 0:
            raise forms.ValidationError("Give a positive amount.")
        return limit


@admin.register(TeamBudget)
class TeamBudgetAdmin(admin.ModelAdmin):
    form = TeamBudgetForm
    list_display = ["team", "organisation", "monthly_limit", "warn_at_percent"]
    list_filter = ["organisation"]
    search_fields = ["team__name", "organisation__name"]
    list_select_related = ["team", "organisation"]
    raw_id_fields = ["team"]

    def get_readonly_fields(self, request, obj=None):
        return ["team", "organisation"] if obj is not None else ["organisation"]

    def save_model(self, request, obj, form, change):
        obj.organisation = obj.team.organisation  # a budget belongs to its team's organisation
        _audited_save(request, obj, "team_budget.updated", BUDGET_TERMS, change)

    def delete_model(self, request, obj):
        with transaction.atomic():
            audit_record(
                actor=Actor.for_staff(request.user),
                organisation=obj.organisation,
                action="team_budget.deleted",
                target=obj,
                before={name: _plain(getattr(obj, name)) for name in BUDGET_TERMS},
            )
            obj.delete()

    def delete_queryset(self, request, queryset):
        for budget in queryset.select_related("team", "organisation"):
            self.delete_model(request, budget)


# --- Rollups --------------------------------------------------------------------------


class _RollupAdmin(ReadOnlyAdmin):
    list_filter = [("hour", admin.DateFieldListFilter), "organisation"]
    list_select_related = ["organisation"]
    search_fields = ["=api_id", "=api_version_id"]
    show_full_result_count = False
    ordering = ["-hour"]


@admin.register(UsageRollup)
class UsageRollupAdmin(_RollupAdmin):
    list_display = [
        "hour",
        "organisation",
        "api_id",
        "api_version_id",
        "application_id",
        "calls",
        "c4xx",
        "c5xx",
        "cost",
    ]
    search_fields = [*_RollupAdmin.search_fields, "=application_id"]


@admin.register(RouteRollup)
class RouteRollupAdmin(_RollupAdmin):
    list_display = ["hour", "organisation", "api_id", "method", "route", "status", "calls"]
    search_fields = [*_RollupAdmin.search_fields, "route"]
