"""Pages of a consumer's applications and their keys.

A key's value is shown once: a key issued on approval waits sealed for one
"Show key"; a rotated or newly issued key is shown in the answer that made it.
Those answers are rendered, not redirected to (the value cannot survive a
redirect), and are never cached.
"""

from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tenants.actors import Actor
from tenants.errors import ApplicationError
from tenants.forms import add_application_error, form_status
from tenants.scoping import organisation_view
from tenants.selectors import member_user_list

from . import selectors_consumers
from . import selectors_subscriptions as selectors
from .forms_subscriptions import ApplicationEditForm, ApplicationForm
from .models import Application, Credential, Subscription
from .services import applications, keys
from .services.applications import application_create
from .services.subscriptions import is_consumer
from .views_subscriptions import refuse

DETAIL_TEMPLATE = "apis/subscriptions/application_detail.html"


@dataclass(frozen=True)
class Revealed:
    """A key's value in the one answer that shows it."""

    credential: Credential
    plaintext: str
    rotated: bool = False

    @property
    def subscription_id(self) -> int:
        return self.credential.subscription_id


@organisation_view()
@require_http_methods(["GET", "POST"])
def application_list(request: HttpRequest) -> HttpResponse:
    teams = selectors_consumers.consumer_team_list(
        organisation=request.organisation,
        user=request.user,
        is_admin=request.membership.is_admin,
    )
    has_teams = teams.exists()
    if request.method == "POST" and not has_teams:
        raise PermissionDenied("Only developers and maintainers of a team add applications.")
    form = ApplicationForm(request.POST or None, teams=teams) if has_teams else None
    if request.method == "POST" and form.is_valid():
        try:
            application = application_create(
                team=form.cleaned_data["team"],
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                actor=Actor.from_request(request),
            )
        except ApplicationError as error:
            refuse(error)
            add_application_error(form, error)
        else:
            messages.success(request, f"Application {application.name} added.")
            return redirect(application)
    applications = selectors.application_list(organisation=request.organisation).order_by("name")
    context = {"applications": applications, "form": form}
    return render(
        request, "apis/subscriptions/application_list.html", context, status=form_status(form)
    )


def _with_key_state(subscription: Subscription) -> Subscription:
    subscription.has_live_key = any(
        c.revoked_at is None and c.replaced_at is None for c in subscription.credentials.all()
    )
    return subscription


def _subscriptions_of(request: HttpRequest, application: Application) -> list[Subscription]:
    found = (
        selectors.subscription_list_consumer(organisation=request.organisation)
        .filter(application=application)
        .prefetch_related("credentials")
    )
    return [_with_key_state(s) for s in found]


def _detail_context(request: HttpRequest, application: Application, revealed=None) -> dict:
    actor = Actor.from_request(request)
    return {
        "application": application,
        "subscriptions": _subscriptions_of(request, application),
        "can_consume": is_consumer(actor=actor, application=application),
        "revealed": revealed,
    }


@organisation_view()
@require_GET
def application_detail(request: HttpRequest, pk: int) -> HttpResponse:
    application = selectors.application_get(organisation=request.organisation, pk=pk)
    return render(request, DETAIL_TEMPLATE, _detail_context(request, application))


def _managed_application(request: HttpRequest, pk: int) -> tuple[Application, Actor]:
    application = selectors.application_get(organisation=request.organisation, pk=pk)
    actor = Actor.from_request(request)
    if not is_consumer(actor=actor, application=application):
        raise PermissionDenied("Only the application's team changes it.")
    return application, actor


@organisation_view()
@require_http_methods(["GET", "POST"])
def application_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Name, description and owners, for the application's team and the admins."""
    application, actor = _managed_application(request, pk)
    initial = {
        "name": application.name,
        "description": application.description,
        "owners": list(application.owners.all()),
    }
    form = ApplicationEditForm(
        request.POST or None,
        members=member_user_list(organisation=request.organisation),
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        try:
            applications.application_update(
                application=application,
                actor=actor,
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                owners=list(form.cleaned_data["owners"]),
            )
        except ApplicationError as error:
            refuse(error)
            add_application_error(form, error)
            application.refresh_from_db()  # the refused values were rolled back
        else:
            messages.success(request, f"Application {application.name} saved.")
            return redirect(application)
    return render(
        request,
        "apis/subscriptions/application_edit.html",
        {"application": application, "form": form},
        status=form_status(form),
    )


@organisation_view()
@require_http_methods(["GET", "POST"])
def application_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Refused while the application has live subscriptions (pending, approved, suspended):
    they are ended first, from either side, so that keys leave the gateways."""
    application, actor = _managed_application(request, pk)
    if request.method == "POST":
        try:
            applications.application_delete(application=application, actor=actor)
        except ApplicationError as error:
            refuse(error)
            messages.error(request, error.message)
            return redirect(application)
        messages.success(request, f"Application {application.name} deleted.")
        return redirect(reverse("apis:application_list", kwargs={"org": request.organisation.slug}))
    live = [
        s for s in _subscriptions_of(request, application) if s.state in Subscription.LIVE_STATES
    ]
    return render(
        request,
        "apis/subscriptions/application_delete.html",
        {"application": application, "live": live},
    )


# --- Keys ---------------------------------------------------------------------------


def _consumer_subscription(request: HttpRequest, pk: int) -> Subscription:
    found = (
        selectors.subscription_list_consumer(organisation=request.organisation)
        .filter(pk=pk)
        .prefetch_related("credentials")
        .first()
    )
    if found is None:
        raise Http404("Not found.")
    return found


def _may_hold_keys(request: HttpRequest, subscription: Subscription) -> Actor:
    actor = Actor.from_request(request)
    if not is_consumer(actor=actor, application=subscription.application):
        raise PermissionDenied("Only the application's team manages its keys.")
    return actor


def _keys_answer(request: HttpRequest, subscription_id: int, revealed=None) -> HttpResponse:
    """htmx: the subscription's keys box; otherwise the application's page, or a redirect
    to it when there is no value to show."""
    subscription = _consumer_subscription(request, subscription_id)
    application = subscription.application
    if request.htmx:
        context = {
            "sub": _with_key_state(subscription),
            "application": application,
            "can_consume": True,
            "revealed": revealed,
        }
        response = render(request, f"{DETAIL_TEMPLATE}#keys", context)
    elif revealed is None:
        return redirect(application)
    else:
        response = render(request, DETAIL_TEMPLATE, _detail_context(request, application, revealed))
    add_never_cache_headers(response)
    return response


def _key(request: HttpRequest, pk: int) -> tuple[Credential, Actor]:
    credential = selectors.credential_get(organisation=request.organisation, pk=pk)
    subscription = _consumer_subscription(request, credential.subscription_id)
    return credential, _may_hold_keys(request, subscription)


@organisation_view()
@require_POST
def key_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    """Show a key issued on approval, once."""
    credential, actor = _key(request, pk)
    revealed = None
    try:
        plaintext = keys.credential_reveal(credential=credential, actor=actor)
    except ApplicationError as error:
        refuse(error)
        messages.error(request, error.message)
    else:
        revealed = Revealed(credential=credential, plaintext=plaintext)
    return _keys_answer(request, credential.subscription_id, revealed)


@organisation_view()
@require_POST
def key_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    credential, actor = _key(request, pk)
    revealed = None
    try:
        new, plaintext = keys.credential_rotate(credential=credential, actor=actor)
    except ApplicationError as error:
        refuse(error)
        messages.error(request, error.message)
    else:
        credential.refresh_from_db()
        messages.success(
            request,
            f"New key issued; {credential.prefix}… keeps working until "
            f"{credential.grace_until:%Y-%m-%d %H:%M} UTC.",
        )
        revealed = Revealed(credential=new, plaintext=plaintext, rotated=True)
    return _keys_answer(request, credential.subscription_id, revealed)


@organisation_view()
@require_POST
def key_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    credential, actor = _key(request, pk)
    try:
        keys.credential_revoke(credential=credential, actor=actor)
    except ApplicationError as error:
        refuse(error)
        messages.error(request, error.message)
    else:
        messages.success(request, f"Key {credential.prefix}… revoked.")
    return _keys_answer(request, credential.subscription_id)


@organisation_view()
@require_POST
def key_issue(request: HttpRequest, pk: int) -> HttpResponse:
    """A new key for an approved subscription without one."""
    subscription = _consumer_subscription(request, pk)
    actor = _may_hold_keys(request, subscription)
    revealed = None
    try:
        credential, plaintext = keys.credential_issue(subscription=subscription, actor=actor)
    except ApplicationError as error:
        refuse(error)
        messages.error(request, error.message)
    else:
        revealed = Revealed(credential=credential, plaintext=plaintext)
    return _keys_answer(request, subscription.pk, revealed)
