"""Reads of applications, subscriptions, keys, outbox operations and webhooks,
scoped by organisation. A subscription belongs to two organisations: the
consumer's (its application's) and the provider's (its API's); each sees it
from its side, and nobody else sees it at all."""

from django.db.models import Q, QuerySet
from django.http import Http404

from tenants.models import Organisation, TeamMembership, User
from tenants.roles import OrgRole, TeamRole

from .models import (
    Api,
    Application,
    Credential,
    GatewayOperation,
    Plan,
    Subscription,
    Webhook,
    WebhookDelivery,
)


def _one(queryset: QuerySet, **lookup):
    found = queryset.filter(**lookup).first()
    if found is None:
        raise Http404("Not found.")
    return found


def plan_list(*, api: Api, include_closed: bool = False) -> QuerySet[Plan]:
    """Plans of an API the caller already sees; closed ones only for its owners."""
    plans = Plan.objects.filter(api=api)
    return plans if include_closed else plans.filter(is_active=True)


def plan_get(*, api: Api, pk: int, include_closed: bool = False) -> Plan:
    return _one(plan_list(api=api, include_closed=include_closed), pk=pk)


def application_list(*, organisation: Organisation) -> QuerySet[Application]:
    return Application.objects.filter(organisation=organisation).select_related("team")


def application_get(*, organisation: Organisation, pk: int) -> Application:
    return _one(application_list(organisation=organisation).select_related("organisation"), pk=pk)


def _subscriptions() -> QuerySet[Subscription]:
    return Subscription.objects.select_related(
        "application__team",
        "application__organisation",
        "organisation",
        "provider",
        "api__organisation",
        "api__team",
        "plan",
        "requested_plan",
        "requested_by",
        "decided_by",
    )


def subscription_list_consumer(*, organisation: Organisation) -> QuerySet[Subscription]:
    return _subscriptions().filter(organisation=organisation)


def subscription_list_provider(*, organisation: Organisation) -> QuerySet[Subscription]:
    return _subscriptions().filter(provider=organisation)


def subscription_get(*, organisation: Organisation, pk: int) -> Subscription:
    """A subscription seen from ``organisation``: as its consumer or its provider."""
    return _one(
        _subscriptions().filter(Q(organisation=organisation) | Q(provider=organisation)), pk=pk
    )


def inbox_list(*, organisation: Organisation, user: User, is_admin: bool) -> QuerySet[Subscription]:
    """Requests waiting for a decision that ``user`` may take."""
    waiting = subscription_list_provider(organisation=organisation).filter(
        Q(state=Subscription.State.PENDING) | Q(requested_plan__isnull=False)
    )
    if not is_admin:
        teams = TeamMembership.objects.filter(
            user=user, role=TeamRole.MAINTAINER, organisation=organisation
        ).values("team_id")
        waiting = waiting.filter(api__team_id__in=teams)
    return waiting.order_by("requested_at")


def credential_list(*, subscription: Subscription) -> QuerySet[Credential]:
    return Credential.objects.filter(subscription=subscription)


def credential_get(*, organisation: Organisation, pk: int) -> Credential:
    """A key of one of ``organisation``'s own subscriptions (consumers hold keys)."""
    return _one(
        Credential.objects.select_related("subscription__plan", "subscription__api").filter(
            organisation=organisation
        ),
        pk=pk,
    )


def operation_list(*, organisation: Organisation) -> QuerySet[GatewayOperation]:
    return GatewayOperation.objects.filter(organisation=organisation).select_related(
        "subscription__application", "credential", "connection"
    )


def operation_get(*, organisation: Organisation, pk: int) -> GatewayOperation:
    return _one(operation_list(organisation=organisation), pk=pk)


def webhook_list(*, organisation: Organisation) -> QuerySet[Webhook]:
    return Webhook.objects.filter(organisation=organisation)


def webhook_get(*, organisation: Organisation, pk: int) -> Webhook:
    return _one(webhook_list(organisation=organisation), pk=pk)


def delivery_list(*, webhook: Webhook) -> QuerySet[WebhookDelivery]:
    return WebhookDelivery.objects.filter(webhook=webhook, organisation=webhook.organisation)


def is_org_admin_role(role: str) -> bool:
    return OrgRole.at_least(role, OrgRole.ADMIN)
