"""The catalogue in the admin site.

Staff look at everything and change nothing by hand: writes that matter go through
the services, which audit them. The one write offered here is moving versions through
the lifecycle, done by ``services.lifecycle.version_transition`` with
``Actor.for_staff``: recorded as the staff member, labelled as platform staff.
"""

import json

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import Count
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from tenants.actors import Actor
from tenants.errors import ApplicationError

from .models import Api, ApiVersion, LifecycleTransition, Operation, SpecDocument, Tag
from .services import lifecycle

SPEC_PREVIEW_CHARS = 20_000


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ApiVersionInline(admin.TabularInline):
    model = ApiVersion
    fk_name = "api"
    fields = ["version", "state", "spec_hash", "created_at"]
    readonly_fields = fields
    ordering = ["-created_at", "-id"]
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Api)
class ApiAdmin(ReadOnlyAdmin):
    list_display = [
        "name",
        "slug",
        "organisation",
        "team",
        "visibility",
        "kind",
        "current_version_state",
    ]
    list_filter = ["visibility", "kind", "organisation"]
    search_fields = ["name", "slug", "summary", "organisation__name", "organisation__slug"]
    list_select_related = ["organisation", "team", "current_version"]
    fields = [
        "organisation",
        "team",
        "slug",
        "name",
        "summary",
        "tags",
        "visibility",
        "kind",
        "current_version",
        "created_at",
        "updated_at",
    ]
    inlines = [ApiVersionInline]

    @admin.display(description="Current version", ordering="current_version__state")
    def current_version_state(self, api: Api) -> str:
        version = api.current_version
        return f"{version.version} ({version.get_state_display()})" if version else "–"


class TransitionActionForm(forms.Form):
    reason = forms.CharField(required=False, max_length=2000, widget=forms.Textarea({"rows": 3}))
    sunset_at = forms.DateField(
        required=False, label="Sunset date", widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, rule: lifecycle.Transition, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].required = rule.needs_reason
        self.fields["reason"].help_text = (
            "Owners and subscribers see it." if rule.needs_reason else "Optional."
        )
        if rule.needs_sunset:
            self.fields["sunset_at"].required = True
            self.fields["sunset_at"].help_text = "The date after which the version is retired."
        else:
            del self.fields["sunset_at"]

    def clean_sunset_at(self):
        sunset_at = self.cleaned_data.get("sunset_at")
        if sunset_at is not None and sunset_at <= timezone.localdate():
            raise forms.ValidationError("Choose a date after today.")
        return sunset_at


def _verbs() -> dict[str, tuple[str, lifecycle.Transition]]:
    """Each lifecycle move once, by verb: publish, block, deprecate, ..."""
    verbs: dict[str, tuple[str, lifecycle.Transition]] = {}
    for (_from, to_state), rule in lifecycle.TRANSITIONS.items():
        verbs.setdefault(rule.verb, (to_state, rule))
    return verbs


def _transition_action(verb: str, to_state: str, rule: lifecycle.Transition):
    def action(modeladmin, request, queryset):
        return modeladmin.transition_selected(request, queryset, verb, to_state, rule)

    action.__name__ = "lifecycle_" + verb.replace(" ", "_")
    action.short_description = f"Lifecycle: {verb} selected versions"
    action.allowed_permissions = ("transition",)
    return action


@admin.register(ApiVersion)
class ApiVersionAdmin(ReadOnlyAdmin):
    list_display = [
        "api",
        "version",
        "organisation",
        "state",
        "openapi_version",
        "short_hash",
        "created_at",
        "published_at",
    ]
    list_filter = ["state", "openapi_version", "organisation"]
    search_fields = ["version", "api__name", "api__slug", "spec_hash", "organisation__name"]
    list_select_related = ["api", "organisation"]
    date_hierarchy = "created_at"
    fields = [
        "api",
        "organisation",
        "version",
        "state",
        "openapi_version",
        "title",
        "description",
        "spec_hash",
        "base_url",
        "sunset_at",
        "previous",
        "changes",
        "gateway_refs",
        "created_by",
        "created_at",
        "published_at",
        "spec_link",
    ]
    actions = [_transition_action(verb, to, rule) for verb, (to, rule) in _verbs().items()]

    def has_transition_permission(self, request) -> bool:
        user = request.user
        return user.is_active and user.is_staff and user.has_perm("apis.change_apiversion")

    @admin.display(description="Spec hash")
    def short_hash(self, version: ApiVersion) -> str:
        return version.spec_hash[:12]

    @admin.display(description="Spec document")
    def spec_link(self, version: ApiVersion) -> str:
        pk = SpecDocument.objects.filter(api_version=version).values_list("pk", flat=True).first()
        if pk is None:
            return "–"
        url = reverse("admin:apis_specdocument_change", args=[pk])
        return format_html('<a href="{}">Show the document</a>', url)

    def transition_selected(self, request, queryset, verb, to_state, rule):
        """Ask for a reason (and sunset date) on a page of its own, then move each version."""
        applying = "apply" in request.POST
        form = TransitionActionForm(request.POST if applying else None, rule=rule)
        versions = list(queryset.select_related("api", "api__team", "organisation"))
        if applying and form.is_valid():
            self._apply(request, versions, verb, to_state, form.cleaned_data)
            return None
        rows = [(version, self._refusal(version, verb, to_state)) for version in versions]
        context = {
            **self.admin_site.each_context(request),
            "title": f"{verb.capitalize()} versions",
            "opts": self.model._meta,
            "verb": verb,
            "to_state": ApiVersion.State(to_state).label,
            "rows": rows,
            "form": form,
            "action_name": request.POST.get("action", ""),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "select_across": request.POST.get("select_across", "0"),
        }
        return TemplateResponse(request, "admin/apis/apiversion/transition.html", context)

    @staticmethod
    def _refusal(version: ApiVersion, verb: str, to_state: str) -> str:
        rule = lifecycle.TRANSITIONS.get((version.state, to_state))
        if rule is None or rule.verb != verb:
            return f"It is {version.get_state_display().lower()}; “{verb}” does not apply."
        return ""

    def _apply(self, request, versions, verb, to_state, data) -> None:
        actor = Actor.for_staff(request.user)
        moved, refused = [], []
        for version in versions:
            refusal = self._refusal(version, verb, to_state)
            if not refusal:
                try:
                    lifecycle.version_transition(
                        version=version,
                        to_state=to_state,
                        actor=actor,
                        reason=data.get("reason", ""),
                        sunset_at=data.get("sunset_at"),
                    )
                except ApplicationError as error:
                    refusal = error.message
            if refusal:
                refused.append(f"{version}: {refusal}")
            else:
                moved.append(str(version))
        if moved:
            self.message_user(
                request,
                f"{verb.capitalize()}: {', '.join(moved)}.",
                messages.SUCCESS,
            )
        for message in refused:
            self.message_user(request, f"Not changed: {message}", messages.WARNING)


@admin.register(Operation)
class OperationAdmin(ReadOnlyAdmin):
    list_display = ["method_upper", "path", "operation_id", "api_version", "deprecated"]
    list_filter = ["method", "deprecated", "organisation"]
    search_fields = ["path", "summary", "operation_id"]
    list_select_related = ["api_version", "api_version__api"]

    @admin.display(description="Method", ordering="method")
    def method_upper(self, operation: Operation) -> str:
        return operation.method.upper()


@admin.register(LifecycleTransition)
class LifecycleTransitionAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "api_version", "from_state", "to_state", "actor_label"]
    list_filter = ["to_state", "organisation"]
    search_fields = ["api_version__api__name", "api_version__version", "actor_label", "reason"]
    list_select_related = ["api_version", "api_version__api"]
    date_hierarchy = "created_at"


@admin.register(Tag)
class TagAdmin(ReadOnlyAdmin):
    list_display = ["name", "api_count"]
    search_fields = ["name"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(api_count=Count("apis"))

    @admin.display(description="APIs", ordering="api_count")
    def api_count(self, tag: Tag) -> int:
        return tag.api_count


@admin.register(SpecDocument)
class SpecDocumentAdmin(ReadOnlyAdmin):
    """The stored documents, to look at; a document changes only as a new version."""

    list_display = ["api_version", "source_format", "size_bytes"]
    list_filter = ["source_format"]
    search_fields = ["api_version__api__name", "api_version__version"]
    list_select_related = ["api_version", "api_version__api"]
    fields = ["api_version", "source_format", "size_bytes", "document_preview"]

    def get_queryset(self, request):
        # Lists stay light: a document can be megabytes.
        return super().get_queryset(request).defer("document")

    @admin.display(description="Document")
    def document_preview(self, spec: SpecDocument) -> str:
        text = json.dumps(spec.document, indent=2, ensure_ascii=False)
        if len(text) > SPEC_PREVIEW_CHARS:
            text = text[:SPEC_PREVIEW_CHARS] + f"\n… ({len(text):,} characters in all)"
        return format_html("<pre style='white-space: pre-wrap'>{}</pre>", text)
