"""Pages of applications, subscriptions, the approval inbox and webhooks."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from tenants.scoping import organisation_view

from . import selectors_subscriptions as selectors


@organisation_view()
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    waiting = selectors.inbox_list(
        organisation=request.organisation, user=request.user, is_admin=request.membership.is_admin
    )
    return render(request, "apis/subscriptions/inbox.html", {"waiting": waiting})


@organisation_view()
@require_GET
def subscription_detail(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = selectors.subscription_get(organisation=request.organisation, pk=pk)
    return render(
        request, "apis/subscriptions/subscription_detail.html", {"subscription": subscription}
    )


@organisation_view()
@require_GET
def application_detail(request: HttpRequest, pk: int) -> HttpResponse:
    application = selectors.application_get(organisation=request.organisation, pk=pk)
    return render(
        request, "apis/subscriptions/application_detail.html", {"application": application}
    )
