"""Alert rule pages under the usage dashboards: the list with each rule's state, last
value and last evaluation; add, edit and delete.

Members read the rules of the APIs they see and of the organisation's applications.
Organisation admins, the API's maintainers and the application's team write them
(analytics.services.alerts decides; its refusals are 403 here). The list refreshes
itself through htmx as often as rules are evaluated, and filters by state in place.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from apis.selectors_consumers import consumer_application_list, consumer_team_list
from apis.views_subscriptions import refuse
from tenants.actors import Actor
from tenants.errors import ApplicationError
from tenants.forms import add_application_error, form_status
from tenants.scoping import organisation_view

from . import selectors as usage
from .forms_alerts import AlertRuleForm, target_value
from .models import AlertRule
from .services import alerts

LIST_TEMPLATE = "analytics/alerts/list.html"
RULES_TARGET = "alert-rules"


def _list_url(request: HttpRequest) -> str:
    return reverse("analytics:alert_list", kwargs={"org": request.organisation.slug})


def _writable_api_ids(request: HttpRequest) -> set[int]:
    return set(
        usage.alert_api_list(
            organisation=request.organisation,
            user=request.user,
            is_admin=request.membership.is_admin,
        ).values_list("pk", flat=True)
    )


def _writable_applications(request: HttpRequest):
    return consumer_application_list(
        organisation=request.organisation,
        user=request.user,
        is_admin=request.membership.is_admin,
    ).select_related("team")


def _may_write_rules(request: HttpRequest) -> bool:
    """Admins, and developers and maintainers of a team: those who may write some rule."""
    return consumer_team_list(
        organisation=request.organisation,
        user=request.user,
        is_admin=request.membership.is_admin,
    ).exists()


def _form(request: HttpRequest, data=None, **kwargs) -> AlertRuleForm:
    apis = usage.alert_api_list(
        organisation=request.organisation,
        user=request.user,
        is_admin=request.membership.is_admin,
    )
    return AlertRuleForm(data, apis=apis, applications=_writable_applications(request), **kwargs)


def _shown(rule: AlertRule, *, writable_api_ids: set[int], writable_app_ids: set[int]):
    rule.threshold_text = alerts.amount_text(rule, rule.threshold)
    rule.value_text = "" if rule.last_value is None else alerts.amount_text(rule, rule.last_value)
    rule.can_manage = (
        rule.api_id in writable_api_ids
        if rule.api_id is not None
        else rule.application_id in writable_app_ids
    )
    return rule


@organisation_view()
@require_GET
def alert_list(request: HttpRequest) -> HttpResponse:
    """Every rule, or with ``?state=firing`` (or ``ok``) those in that state."""
    state = request.GET.get("state", "")
    if state not in AlertRule.State.values:
        state = ""
    rules = usage.alert_rule_list(organisation=request.organisation, user=request.user)
    if state:
        rules = rules.filter(state=state)
    api_ids = _writable_api_ids(request)
    app_ids = set(_writable_applications(request).values_list("pk", flat=True))
    context = {
        "rules": [_shown(r, writable_api_ids=api_ids, writable_app_ids=app_ids) for r in rules],
        "state": state,
        "states": AlertRule.State.choices,
        "may_write": _may_write_rules(request),
    }
    if request.htmx and request.htmx.target == RULES_TARGET:
        return render(request, f"{LIST_TEMPLATE}#rules", context)
    return render(request, LIST_TEMPLATE, context)


@organisation_view()
@require_http_methods(["GET", "POST"])
def alert_new(request: HttpRequest) -> HttpResponse:
    if not _may_write_rules(request):
        raise PermissionDenied(
            "Only organisation admins, API maintainers and application teams write alert rules."
        )
    initial = {}
    for key in ("api", "application"):
        if request.GET.get(key, "").isdigit():
            initial["target"] = f"{key}:{request.GET[key]}"
    form = _form(request, request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            rule = alerts.alert_rule_create(
                organisation=request.organisation,
                actor=Actor.from_request(request),
                **form.rule_values(),
            )
        except ApplicationError as error:
            refuse(error)
            add_application_error(form, error)
        else:
            messages.success(request, f"Alert rule {rule.name} added.")
            return redirect(_list_url(request))
    return render(request, "analytics/alerts/form.html", {"form": form}, status=form_status(form))


def _managed_rule(request: HttpRequest, pk: int) -> tuple[AlertRule, Actor]:
    rule = usage.alert_rule_get(organisation=request.organisation, user=request.user, pk=pk)
    actor = Actor.from_request(request)
    try:
        alerts.require_rule_manager(actor=actor, rule=rule)
    except ApplicationError as error:
        refuse(error)
        raise
    return rule, actor


def _initial(rule: AlertRule) -> dict:
    initial = {name: getattr(rule, name) for name in alerts.FIELDS}
    initial["target"] = target_value(api=rule.api, application=rule.application)
    return initial


@organisation_view()
@require_http_methods(["GET", "POST"])
def alert_edit(request: HttpRequest, pk: int) -> HttpResponse:
    rule, actor = _managed_rule(request, pk)
    form = _form(request, request.POST or None, initial=_initial(rule))
    if request.method == "POST" and form.is_valid():
        try:
            alerts.alert_rule_update(rule=rule, actor=actor, **form.rule_values())
        except ApplicationError as error:
            refuse(error)
            add_application_error(form, error)
        else:
            messages.success(request, f"Alert rule {form.cleaned_data['name']} saved.")
            return redirect(_list_url(request))
    context = {"form": form, "rule": rule}
    return render(request, "analytics/alerts/form.html", context, status=form_status(form))


@organisation_view()
@require_http_methods(["GET", "POST"])
def alert_delete(request: HttpRequest, pk: int) -> HttpResponse:
    rule, actor = _managed_rule(request, pk)
    if request.method == "POST":
        try:
            alerts.alert_rule_delete(rule=rule, actor=actor)
        except ApplicationError as error:
            refuse(error)
            messages.error(request, error.message)
        else:
            messages.success(request, f"Alert rule {rule.name} deleted.")
        return redirect(_list_url(request))
    return render(request, "analytics/alerts/delete.html", {"rule": rule})
