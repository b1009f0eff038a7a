"""Pages of subscriptions: asking from the API page, the maintainers' approval inbox,
the organisation's subscriptions, and one subscription seen from either side.

A subscription belongs to two organisations, the consumer's (its application's)
and the provider's (its API's). Each sees it under its own ``/o/<org>/``; the
provider sees the consumer's application, team and organisation names and
nothing else of the consumer. The services decide who may do what; a refusal
they make for lack of rights is a 403 here.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tenants.actors import Actor
from tenants.errors import ApplicationError, Conflict, NotAllowed
from tenants.forms import add_application_error, form_status
from tenants.scoping import organisation_view

from . import selectors, selectors_consumers
from . import selectors_subscriptions as subscription_selectors
from .forms_subscriptions import ActionForm, DecisionForm, PlanChangeForm, SubscribeForm
from .models import Subscription
from .services import provisioning
from .services.applications import application_create
from .services.subscriptions import (
    ACTIONS,
    CLOSED_TO_NEW,
    PAST,
    is_consumer,
    is_provider,
    subscription_act,
    subscription_change_plan_decide,
    subscription_change_plan_request,
    subscription_request,
)

INBOX_TEMPLATE = "apis/subscriptions/inbox.html"
DETAIL_TEMPLATE = "apis/subscriptions/subscription_detail.html"
SUBSCRIBE_TEMPLATE = "apis/subscriptions/subscribe.html"


def refuse(error: ApplicationError):
    """A service's refusal for lack of rights is the page's 403."""
    if isinstance(error, NotAllowed):
        raise PermissionDenied(error.message) from error


def oob_messages(request: HttpRequest, status: int = 200) -> HttpResponse:
    """Only the messages, out of band: what htmx puts in place of a row that went away."""
    return render(request, "_messages_oob.html", status=status)


def inbox_oob(request: HttpRequest) -> HttpResponse:
    """The messages and the menu's inbox count, out of band: what htmx puts in place of
    an inbox row that went away."""
    return render(
        request, "apis/subscriptions/_inbox_oob.html", {"inbox_count": _inbox_count(request)}
    )


def _inbox_count(request: HttpRequest) -> int:
    return selectors_consumers.inbox_count(
        organisation=request.organisation,
        user=request.user,
        is_admin=request.membership.is_admin,
    )


def subscription_url(request: HttpRequest, subscription: Subscription) -> str:
    """The subscription's page under the organisation looking at it."""
    return reverse(
        "apis:subscription", kwargs={"org": request.organisation.slug, "pk": subscription.pk}
    )


# --- Asking -----------------------------------------------------------------------


def subscribe_context(*, user, membership, api, form=None, subscription=None) -> dict:
    """What the subscribe panel shows: for the API page and the panel's own answers."""
    organisation = membership.organisation
    teams = selectors_consumers.consumer_team_list(
        organisation=organisation, user=user, is_admin=membership.is_admin
    )
    applications = selectors_consumers.consumer_application_list(
        organisation=organisation, user=user, is_admin=membership.is_admin
    )
    plans = subscription_selectors.plan_list(api=api)
    if form is None:
        form = SubscribeForm(applications=applications, teams=teams, plans=plans)
    return {
        "api": api,
        "consumer_organisation": organisation,
        "form": form,
        "has_plans": plans.exists(),
        "closed": api.current_state in CLOSED_TO_NEW,
        "subscription": subscription,
        "subscription_url": reverse(
            "apis:subscription", kwargs={"org": organisation.slug, "pk": subscription.pk}
        )
        if subscription
        else "",
    }


def _api_from_query(request: HttpRequest):
    owner, _, slug = (request.GET.get("api") or "").partition("/")
    if not owner or not slug:
        raise Http404("Not found.")
    return selectors.api_get_visible(user=request.user, owner=owner, slug=slug)


@organisation_view()
@require_http_methods(["GET", "POST"])
def subscription_new(request: HttpRequest) -> HttpResponse:
    """Ask for a plan of ``?api=<owner>/<slug>`` for an application of this organisation."""
    membership = request.membership
    teams = selectors_consumers.consumer_team_list(
        organisation=request.organisation, user=request.user, is_admin=membership.is_admin
    )
    if not teams.exists():
        raise PermissionDenied("Only developers and maintainers of a team subscribe.")
    api = _api_from_query(request)
    form = SubscribeForm(
        request.POST or None,
        applications=selectors_consumers.consumer_application_list(
            organisation=request.organisation, user=request.user, is_admin=membership.is_admin
        ),
        teams=teams,
        plans=subscription_selectors.plan_list(api=api),
    )
    subscription = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        actor = Actor.from_request(request)
        try:
            # A refused request leaves no new application behind.
            with transaction.atomic():
                application = data["application"] or _new_application(data, actor)
                subscription = subscription_request(
                    application=application,
                    api=api,
                    plan=data["plan"],
                    reason=data["reason"],
                    actor=actor,
                )
        except ApplicationError as error:
            refuse(error)
            if "name" in error.fields:
                error.fields = {"new_application": error.fields["name"]}
            add_application_error(form, error)
            subscription = None
        else:
            if subscription.state == Subscription.State.APPROVED:
                messages.success(request, f"{application.name} is subscribed to {api.name}.")
            else:
                messages.success(
                    request,
                    f"Requested {api.name} for {application.name}; its maintainers decide.",
                )
            if not request.htmx:
                return redirect(subscription_url(request, subscription))
    context = subscribe_context(
        user=request.user, membership=membership, api=api, form=form, subscription=subscription
    )
    template = f"{SUBSCRIBE_TEMPLATE}#panel" if request.htmx else SUBSCRIBE_TEMPLATE
    return render(request, template, context, status=form_status(form))


def _new_application(data: dict, actor: Actor):
    return application_create(team=data["team"], name=data["new_application"], actor=actor)


# --- The approval inbox -----------------------------------------------------------------


@organisation_view()
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    return render(request, INBOX_TEMPLATE, _inbox_context(request))


def _inbox_context(request: HttpRequest, failed: Subscription | None = None) -> dict:
    waiting = list(
        subscription_selectors.inbox_list(
            organisation=request.organisation,
            user=request.user,
            is_admin=request.membership.is_admin,
        )
    )
    for item in waiting:
        _annotate(item, request.user)
        if failed is not None and item.pk == failed.pk:
            item.form = failed.form
    return {
        "waiting": waiting,
        "is_decider": selectors_consumers.is_decider(
            organisation=request.organisation,
            user=request.user,
            is_admin=request.membership.is_admin,
        ),
    }


def _annotate(item: Subscription, user) -> Subscription:
    """What an inbox row is: a new request or a plan change, and whether it is the
    user's own (which they may not decide)."""
    item.is_plan_change = item.state != Subscription.State.PENDING
    asked_by = item.plan_change_requested_by_id if item.is_plan_change else item.requested_by_id
    item.own = asked_by == user.pk
    return item


def _provider_subscription(request: HttpRequest, pk: int) -> Subscription:
    found = (
        subscription_selectors.subscription_list_provider(organisation=request.organisation)
        .filter(pk=pk)
        .first()
    )
    if found is None:
        raise Http404("Not found.")
    return found


def _decide(request: HttpRequest, pk: int, *, plan_change: bool) -> HttpResponse:
    subscription = _provider_subscription(request, pk)
    form = DecisionForm(request.POST)
    if form.is_valid():
        action, reason = form.cleaned_data["action"], form.cleaned_data["reason"]
        actor = Actor.from_request(request)
        try:
            if plan_change:
                subscription_change_plan_decide(
                    subscription=subscription,
                    approve=action == "approve",
                    reason=reason,
                    actor=actor,
                )
            else:
                subscription_act(
                    subscription=subscription, action=action, reason=reason, actor=actor
                )
        except Conflict as error:
            # Decided meanwhile (by someone else): the row has nothing left to do.
            messages.error(request, error.message)
            return inbox_oob(request) if request.htmx else redirect_inbox(request)
        except ApplicationError as error:
            refuse(error)
            add_application_error(form, error)
        else:
            what = "plan change" if plan_change else "request"
            messages.success(
                request,
                f"{PAST[action].capitalize()} the {what} of {subscription.application.name} "
                f"for {subscription.api.name}.",
            )
            return inbox_oob(request) if request.htmx else redirect_inbox(request)
    _annotate(subscription, request.user).form = form
    if request.htmx:
        context = {"item": subscription, "is_decider": True, "inbox_count": _inbox_count(request)}
        return render(request, f"{INBOX_TEMPLATE}#row", context, status=400)
    return render(request, INBOX_TEMPLATE, _inbox_context(request, subscription), status=400)


def redirect_inbox(request: HttpRequest) -> HttpResponse:
    return redirect(reverse("apis:inbox", kwargs={"org": request.organisation.slug}))


@organisation_view()
@require_POST
def inbox_decide(request: HttpRequest, pk: int) -> HttpResponse:
    """Approve or reject a request; htmx swaps the row away and shows the message."""
    return _decide(request, pk, plan_change=False)


@organisation_view()
@require_POST
def inbox_plan_decide(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, plan_change=True)


# --- The organisation's subscriptions ----------------------------------------------------


def _with_deprecations(subscriptions: list[Subscription]) -> list[Subscription]:
    found = selectors_consumers.deprecated_versions(api_ids={s.api_id for s in subscriptions})
    for subscription in subscriptions:
        subscription.deprecated = found.get(subscription.api_id, [])
    return subscriptions


@organisation_view()
@require_GET
def subscription_list(request: HttpRequest) -> HttpResponse:
    """As consumer; with ``?side=provider``, the subscriptions to this organisation's APIs."""
    side = "provider" if request.GET.get("side") == "provider" else "consumer"
    if side == "provider":
        # Only subscriptions to APIs the member may see: a team's own APIs stay the team's.
        subscriptions = subscription_selectors.subscription_list_provider(
            organisation=request.organisation
        ).filter(api__in=selectors.api_list_visible(user=request.user).values("pk"))
    else:
        subscriptions = subscription_selectors.subscription_list_consumer(
            organisation=request.organisation
        )
    context = {"subscriptions": _with_deprecations(list(subscriptions)), "side": side}
    return render(request, "apis/subscriptions/subscription_list.html", context)


def _detail_context(request: HttpRequest, subscription: Subscription, **forms) -> dict:
    organisation = request.organisation
    actor = Actor.from_request(request)
    consumer_side = subscription.organisation_id == organisation.pk
    provider_side = subscription.provider_id == organisation.pk
    can_consume = consumer_side and is_consumer(actor=actor, application=subscription.application)
    can_provide = provider_side and is_provider(actor=actor, api=subscription.api)
    history = list(selectors_consumers.subscription_history(subscription=subscription))
    for event in history:
        # Each side sees who acted on its own side; of the other, only the organisation.
        own = event.organisation_id == organisation.pk or event.actor_type == "system"
        event.shown_actor = event.actor_label if own else _other_side(subscription, event)
    other_plans = subscription_selectors.plan_list(api=subscription.api).exclude(
        pk=subscription.plan_id
    )
    context = {
        "subscription": subscription,
        "consumer_side": consumer_side,
        "provider_side": provider_side,
        "can_consume": can_consume,
        "can_provide": can_provide,
        "own_request": request.user.pk == subscription.requested_by_id,
        "history": history,
        "deprecated": _with_deprecations([subscription])[0].deprecated,
        "credentials": subscription.credentials.all() if consumer_side else [],
        "operations": subscription_selectors.operation_list(organisation=organisation).filter(
            subscription=subscription
        )
        if provider_side
        else [],
        "action_form": forms.get("action_form") or ActionForm(actions=ACTIONS),
        "plan_form": forms.get("plan_form") or PlanChangeForm(plans=other_plans),
        "has_other_plans": other_plans.exists(),
    }
    return context


def _other_side(subscription: Subscription, event) -> str:
    if event.organisation_id == subscription.provider_id:
        return subscription.provider.name
    return subscription.organisation.name


@organisation_view()
@require_GET
def subscription_detail(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = subscription_selectors.subscription_get(organisation=request.organisation, pk=pk)
    return render(request, DETAIL_TEMPLATE, _detail_context(request, subscription))


@organisation_view()
@require_POST
def subscription_action(request: HttpRequest, pk: int) -> HttpResponse:
    """Cancel, unsubscribe (consumer); suspend, resume, revoke (provider)."""
    subscription = subscription_selectors.subscription_get(organisation=request.organisation, pk=pk)
    form = ActionForm(request.POST, actions=ACTIONS)
    if form.is_valid():
        action = form.cleaned_data["action"]
        try:
            subscription_act(
                subscription=subscription,
                action=action,
                reason=form.cleaned_data["reason"],
                actor=Actor.from_request(request),
            )
        except Conflict as error:
            messages.error(request, error.message)
            return redirect(subscription_url(request, subscription))
        except ApplicationError as error:
            refuse(error)
            add_application_error(form, error)
        else:
            messages.success(request, f"Subscription {PAST[action]}.")
            return redirect(subscription_url(request, subscription))
    context = _detail_context(request, subscription, action_form=form)
    return render(request, DETAIL_TEMPLATE, context, status=400)


@organisation_view()
@require_POST
def subscription_plan(request: HttpRequest, pk: int) -> HttpResponse:
    """Ask for another plan (consumer side)."""
    subscription = subscription_selectors.subscription_get(organisation=request.organisation, pk=pk)
    plans = subscription_selectors.plan_list(api=subscription.api).exclude(pk=subscription.plan_id)
    form = PlanChangeForm(request.POST, plans=plans)
    if form.is_valid():
        try:
            changed = subscription_change_plan_request(
                subscription=subscription,
                plan=form.cleaned_data["plan"],
                reason=form.cleaned_data["reason"],
                actor=Actor.from_request(request),
            )
        except Conflict as error:
            messages.error(request, error.message)
            return redirect(subscription_url(request, subscription))
        except ApplicationError as error:
            refuse(error)
            add_application_error(form, error)
        else:
            if changed.requested_plan_id is None:
                messages.success(request, f"Now on {changed.plan.name}.")
            else:
                messages.success(request, "Plan change requested; the maintainers decide.")
            return redirect(subscription_url(request, subscription))
    context = _detail_context(request, subscription, plan_form=form)
    return render(request, DETAIL_TEMPLATE, context, status=400)


@organisation_view()
@require_POST
def operation_retry(request: HttpRequest, pk: int, operation: int) -> HttpResponse:
    """Queue a failed gateway operation again (provider side)."""
    subscription = subscription_selectors.subscription_get(organisation=request.organisation, pk=pk)
    found = subscription_selectors.operation_get(organisation=request.organisation, pk=operation)
    if found.subscription_id != subscription.pk:
        raise Http404("Not found.")
    actor = Actor.from_request(request)
    if not is_provider(actor=actor, api=subscription.api):
        raise PermissionDenied("Only maintainers of the API's team and its admins retry.")
    try:
        provisioning.operation_retry(operation=found, actor=actor)
    except ApplicationError as error:
        refuse(error)
        messages.error(request, error.message)
    else:
        messages.success(request, "Queued again; this page shows how it goes.")
    return redirect(subscription_url(request, subscription))
