from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from .models import (
    AccessToken,
    AuditEvent,
    Invitation,
    Membership,
    Notification,
    Organisation,
    Team,
    TeamMembership,
    User,
)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "is_staff", "is_active", "last_login"]
    list_filter = ["is_staff", "is_superuser", "is_active"]
    search_fields = ["email", "first_name", "last_name"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Personal info", {"fields": ["first_name", "last_name"]}),
        (
            "Permissions",
            {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]},
        ),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


class TeamInline(admin.TabularInline):
    model = Team
    extra = 0
    fields = ["slug", "name"]
    show_change_link = True


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "slug"]
    inlines = [TeamInline, MembershipInline]


class TeamMembershipInline(admin.TabularInline):
    model = TeamMembership
    extra = 0
    autocomplete_fields = ["user"]
    exclude = ["organisation"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "organisation", "created_at"]
    list_filter = ["organisation"]
    search_fields = ["name", "slug", "organisation__name"]
    list_select_related = ["organisation"]
    inlines = [TeamMembershipInline]

    def save_formset(self, request, form, formset, change):
        for instance in formset.save(commit=False):
            instance.organisation = form.instance.organisation
            instance.save()
        formset.save_m2m()
        for obj in formset.deleted_objects:
            obj.delete()


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organisation", "role", "created_at"]
    list_filter = ["role", "organisation"]
    search_fields = ["user__email", "organisation__name"]
    list_select_related = ["user", "organisation"]
    autocomplete_fields = ["user", "organisation"]


@admin.register(TeamMembership)
class TeamMembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "team", "organisation", "role"]
    list_filter = ["role", "organisation"]
    search_fields = ["user__email", "team__name"]
    list_select_related = ["user", "team", "organisation"]
    readonly_fields = ["organisation"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "organisation", "role", "team", "status", "expires_at"]
    list_filter = ["role", "organisation"]
    search_fields = ["email", "organisation__name"]
    list_select_related = ["organisation", "team"]
    readonly_fields = ["token_digest", "accepted_at", "accepted_by", "created_at", "invited_by"]


@admin.register(AccessToken)
class AccessTokenAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "display_prefix",
        "user",
        "organisation",
        "scope",
        "expires_at",
        "revoked_at",
        "last_used_at",
    ]
    list_filter = ["scope", "organisation"]
    search_fields = ["name", "lookup_id", "user__email"]
    list_select_related = ["user", "organisation"]
    readonly_fields = ["lookup_id", "secret_digest", "user", "created_at", "last_used_at"]

    def has_add_permission(self, request) -> bool:
        return False  # tokens are created by their owners, shown to them once


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the audit log is append-only, here too."""

    list_display = [
        "created_at",
        "organisation",
        "actor_label",
        "action",
        "target_label",
        "request_id",
    ]
    list_filter = ["action", "actor_type", "organisation"]
    search_fields = ["action", "actor_label", "target_label", "target_id", "request_id"]
    date_hierarchy = "created_at"
    list_select_related = ["organisation"]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """Read-only: notifications are written by ``notify`` and read by their user; staff may
    look and delete, never write one or mark it read on the user's behalf."""

    list_display = ["created_at", "user", "organisation", "kind", "title", "read_at"]
    list_filter = ["kind", ("read_at", admin.EmptyFieldListFilter), "organisation"]
    search_fields = ["title", "kind", "user__email", "organisation__name"]
    date_hierarchy = "created_at"
    list_select_related = ["user", "organisation"]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
