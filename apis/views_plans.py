"""Plan pages of an API, for its maintainers: the list (open and closed), add, edit,
close. A plan with subscriptions is never deleted, only closed to new ones."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tenants.actors import Actor
from tenants.errors import ApplicationError
from tenants.forms import add_application_error, form_status
from tenants.scoping import organisation_view

from . import selectors
from . import selectors_subscriptions as subscription_selectors
from .forms_subscriptions import PlanForm, plan_initial
from .models import Api, Subscription
from .policies import can_manage_api
from .services import plans
from .views_subscriptions import refuse


def _managed_api(request: HttpRequest, slug: str) -> Api:
    api = selectors.api_get_owned(user=request.user, organisation=request.organisation, slug=slug)
    if not can_manage_api(user=request.user, api=api):
        raise PermissionDenied("Only maintainers of the owning team and admins manage plans.")
    return api


def _list_url(api: Api) -> str:
    return reverse("apis:plan_list", kwargs={"org": api.organisation.slug, "api": api.slug})


@organisation_view()
@require_GET
def plan_list(request: HttpRequest, api: str) -> HttpResponse:
    api = _managed_api(request, api)
    found = subscription_selectors.plan_list(api=api, include_closed=True).annotate(
        live=Count("subscriptions", filter=Q(subscriptions__state__in=Subscription.LIVE_STATES))
    )
    return render(
        request,
        "apis/plans/list.html",
        {"api": api, "plans": found.order_by("-is_active", "name")},
    )


@organisation_view()
@require_http_methods(["GET", "POST"])
def plan_new(request: HttpRequest, api: str) -> HttpResponse:
    api = _managed_api(request, api)
    form = PlanForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            plan = plans.plan_create(
                api=api, actor=Actor.from_request(request), **form.cleaned_data
            )
        except ApplicationError as error:
            refuse(error)
            add_application_error(form, error)
        else:
            messages.success(request, f"Plan {plan.name} added.")
            return redirect(_list_url(api))
    context = {"api": api, "form": form, "plan": None}
    return render(request, "apis/plans/form.html", context, status=form_status(form))


@organisation_view()
@require_http_methods(["GET", "POST"])
def plan_edit(request: HttpRequest, api: str, pk: int) -> HttpResponse:
    api = _managed_api(request, api)
    plan = subscription_selectors.plan_get(api=api, pk=pk, include_closed=True)
    form = PlanForm(request.POST or None, initial=plan_initial(plan))
    if request.method == "POST" and form.is_valid():
        try:
            plans.plan_update(plan=plan, actor=Actor.from_request(request), **form.cleaned_data)
        except ApplicationError as error:
            refuse(error)
            add_application_error(form, error)
        else:
            messages.success(request, f"Plan {plan.name} updated.")
            return redirect(_list_url(api))
    context = {"api": api, "form": form, "plan": plan}
    return render(request, "apis/plans/form.html", context, status=form_status(form))


@organisation_view()
@require_POST
def plan_close(request: HttpRequest, api: str, pk: int) -> HttpResponse:
    """Close a plan to new subscriptions; those it has keep it."""
    api = _managed_api(request, api)
    plan = subscription_selectors.plan_get(api=api, pk=pk, include_closed=True)
    try:
        plans.plan_retire(plan=plan, actor=Actor.from_request(request))
    except ApplicationError as error:
        refuse(error)
        messages.error(request, error.message)
    else:
        messages.success(request, f"Plan {plan.name} is closed to new subscriptions.")
    return redirect(_list_url(api))
