"""Webhook pages for organisation admins: the list with "add", one webhook with its
delivery log (a failed delivery can be sent again), edit (and switch off), delete.
A new webhook's signing secret is shown in the answer that made it, once."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tenants.actors import Actor
from tenants.errors import ApplicationError
from tenants.forms import add_application_error, form_status
from tenants.roles import OrgRole
from tenants.scoping import organisation_view

from . import selectors_subscriptions as selectors
from .forms_subscriptions import WebhookForm
from .services import webhooks
from .views_subscriptions import refuse

DELIVERIES_PER_PAGE = 25


def _list_url(request: HttpRequest) -> str:
    return reverse("apis:webhook_list", kwargs={"org": request.organisation.slug})


def _url(request: HttpRequest, webhook) -> str:
    return reverse("apis:webhook", kwargs={"org": request.organisation.slug, "pk": webhook.pk})


@organisation_view(min_role=OrgRole.ADMIN)
@require_http_methods(["GET", "POST"])
def webhook_list(request: HttpRequest) -> HttpResponse:
    form = WebhookForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        try:
            webhook, secret = webhooks.webhook_create(
                organisation=request.organisation,
                url=form.cleaned_data["url"],
                events=form.cleaned_data["events"],
                actor=Actor.from_request(request),
            )
        except ApplicationError as error:
            refuse(error)
            add_application_error(form, error)
        else:
            messages.success(request, f"Webhook for {webhook.url} added.")
            created = {"webhook": webhook, "secret": secret}
            form = WebhookForm()
    context = {
        "webhooks": selectors.webhook_list(organisation=request.organisation),
        "form": form,
        "created": created,
    }
    response = render(request, "apis/webhooks/list.html", context, status=form_status(form))
    if created:
        add_never_cache_headers(response)
    return response


@organisation_view(min_role=OrgRole.ADMIN)
@require_GET
def webhook_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The webhook and its delivery log, newest first; htmx pages through the log."""
    webhook = selectors.webhook_get(organisation=request.organisation, pk=pk)
    page = Paginator(selectors.delivery_list(webhook=webhook), DELIVERIES_PER_PAGE).get_page(
        request.GET.get("page")
    )
    context = {"webhook": webhook, "page": page}
    if request.htmx:
        return render(request, "apis/webhooks/detail.html#deliveries", context)
    return render(request, "apis/webhooks/detail.html", context)


@organisation_view(min_role=OrgRole.ADMIN)
@require_POST
def delivery_redeliver(request: HttpRequest, webhook: int, pk: int) -> HttpResponse:
    """Send a failed delivery again: same payload and id, a fresh set of attempts. htmx
    gets the delivery's row back, with the message out of band."""
    hook = selectors.webhook_get(organisation=request.organisation, pk=webhook)
    delivery = selectors.delivery_list(webhook=hook).filter(pk=pk).first()
    if delivery is None:
        raise Http404("Not found.")
    try:
        delivery = webhooks.delivery_redeliver(delivery=delivery, actor=Actor.from_request(request))
    except ApplicationError as error:
        refuse(error)
        messages.error(request, error.message)
        delivery.refresh_from_db()
    else:
        messages.success(request, f"The {delivery.event} delivery is queued to be sent again.")
    if request.htmx:
        context = {"webhook": hook, "d": delivery, "with_messages": True}
        return render(request, "apis/webhooks/detail.html#delivery", context)
    return redirect(_url(request, hook))


@organisation_view(min_role=OrgRole.ADMIN)
@require_http_methods(["GET", "POST"])
def webhook_edit(request: HttpRequest, pk: int) -> HttpResponse:
    webhook = selectors.webhook_get(organisation=request.organisation, pk=pk)
    initial = {"url": webhook.url, "events": webhook.events, "is_active": webhook.is_active}
    form = WebhookForm(request.POST or None, webhook=webhook, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            webhooks.webhook_update(
                webhook=webhook,
                url=form.cleaned_data["url"],
                events=form.cleaned_data["events"],
                is_active=form.cleaned_data["is_active"],
                actor=Actor.from_request(request),
            )
        except ApplicationError as error:
            refuse(error)
            add_application_error(form, error)
        else:
            messages.success(request, "Webhook updated.")
            return redirect(_url(request, webhook))
    context = {"webhook": webhook, "form": form}
    return render(request, "apis/webhooks/edit.html", context, status=form_status(form))


@organisation_view(min_role=OrgRole.ADMIN)
@require_http_methods(["GET", "POST"])
def webhook_delete(request: HttpRequest, pk: int) -> HttpResponse:
    webhook = selectors.webhook_get(organisation=request.organisation, pk=pk)
    if request.method == "POST":
        try:
            webhooks.webhook_delete(webhook=webhook, actor=Actor.from_request(request))
        except ApplicationError as error:
            refuse(error)
            messages.error(request, error.message)
            return redirect(_url(request, webhook))
        messages.success(request, f"Webhook for {webhook.url} deleted.")
        return redirect(_list_url(request))
    count = selectors.delivery_list(webhook=webhook).count()
    return render(
        request, "apis/webhooks/delete.html", {"webhook": webhook, "delivery_count": count}
    )
