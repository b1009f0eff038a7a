"""Reads of gateway connections, their runs, and the drift between portal and gateways.

Drift is what the portal and a gateway disagree on. Each kind of drift is one
check: a function from an organisation to the items it finds. ``DRIFT_CHECKS``
lists them; a new kind of drift is one more function in that list.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from tenants.models import Organisation, User

from .models import (
    Api,
    ApiVersion,
    Credential,
    GatewayConnection,
    GatewayDeployment,
    GatewayKey,
    Plan,
    SyncRun,
)
from .selectors import api_list_visible
from .services.sync import PLAN_MISSING_SINCE


def connection_list(*, organisation: Organisation) -> QuerySet[GatewayConnection]:
    return (
        GatewayConnection.objects.filter(organisation=organisation)
        .select_related("organisation", "team", "last_run")
        .order_by("name")
    )


def connection_get(*, organisation: Organisation, pk) -> GatewayConnection:
    """One connection of ``organisation``; anything else, or a malformed id, is 404."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise Http404("Not found.") from None
    connection = connection_list(organisation=organisation).filter(pk=pk).first()
    if connection is None:
        raise Http404("Not found.")
    return connection


def run_list(*, connection: GatewayConnection) -> QuerySet[SyncRun]:
    return SyncRun.objects.filter(
        connection=connection, organisation=connection.organisation
    ).order_by("-started_at", "-id")


def run_get(*, connection: GatewayConnection, pk) -> SyncRun:
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise Http404("Not found.") from None
    run = run_list(connection=connection).filter(pk=pk).first()
    if run is None:
        raise Http404("Not found.")
    return run


def connection_api_list(*, connection: GatewayConnection, user: User) -> QuerySet[Api]:
    """The APIs the connection brought in that ``user`` may see, missing ones included."""
    return (
        api_list_visible(user=user)
        .filter(connection=connection, organisation=connection.organisation)
        .order_by("name")
    )


# --- Drift ----------------------------------------------------------------------


@dataclass(frozen=True)
class DriftKind:
    code: str
    title: str
    level: str  # "warning": portal and gateway disagree; "info": worth knowing


RETIRED_DEPLOYED = DriftKind(
    "retired_deployed", "Retired in the portal, still served by the gateway", "warning"
)
PLAN_CHANGED = DriftKind(
    "plan_changed", "Usage plan changed on the gateway, not in the portal", "warning"
)
API_MISSING = DriftKind("api_missing", "No longer listed by the gateway", "info")
PLAN_MISSING = DriftKind("plan_missing", "Usage plan no longer on the gateway", "info")
REVOKED_KEY_ENABLED = DriftKind(
    "revoked_key_enabled", "Revoked in the portal, still enabled on the gateway", "warning"
)


@dataclass(frozen=True)
class DriftItem:
    kind: DriftKind
    connection: GatewayConnection
    subject: str
    detail: str
    link: str


DriftCheck = Callable[[Organisation], Iterable[DriftItem]]


def _retired_but_deployed(organisation: Organisation) -> Iterable[DriftItem]:
    deployments = (
        GatewayDeployment.objects.filter(
            organisation=organisation,
            missing_since__isnull=True,
            version__state=ApiVersion.State.RETIRED,
        )
        .select_related(
            "connection", "connection__organisation", "api", "api__organisation", "version"
        )
        .order_by("api__name", "stage")
    )
    for deployment in deployments:
        version = deployment.version
        yield DriftItem(
            kind=RETIRED_DEPLOYED,
            connection=deployment.connection,
            subject=f"{deployment.api.name} {version.version}",
            detail=f"Stage {deployment.stage} still serves this retired version.",
            link=version.get_absolute_url(),
        )


def _describe_limits(limits: dict) -> str:
    parts = []
    if limits.get("rate_limit") is not None:
        parts.append(f"rate {limits['rate_limit']:g}/s")
    if limits.get("burst_limit") is not None:
        parts.append(f"burst {limits['burst_limit']}")
    if limits.get("quota_limit") is not None:
        parts.append(f"quota {limits['quota_limit']} per {limits.get('quota_period') or 'period'}")
    return ", ".join(parts) or "no limits"


def _plan_changed_on_gateway(organisation: Organisation) -> Iterable[DriftItem]:
    plans = (
        Plan.objects.filter(organisation=organisation, connection__isnull=False)
        .exclude(gateway_plan_id="")
        .exclude(gateway_observed={})
        .exclude(gateway_observed__has_key=PLAN_MISSING_SINCE)
        .select_related("connection", "connection__organisation", "api", "api__organisation")
        .order_by("api__name", "name")
    )
    for plan in plans:
        if plan.gateway_observed == plan.limits():
            continue
        yield DriftItem(
            kind=PLAN_CHANGED,
            connection=plan.connection,
            subject=f"{plan.api.name}: {plan.name}",
            detail=(
                f"The gateway has {_describe_limits(plan.gateway_observed)}; "
                f"the portal has {_describe_limits(plan.limits())}."
            ),
            link=plan.api.get_absolute_url(),
        )


def _api_missing(organisation: Organisation) -> Iterable[DriftItem]:
    apis = (
        Api.objects.filter(
            organisation=organisation, connection__isnull=False, missing_since__isnull=False
        )
        .select_related("connection", "connection__organisation", "organisation")
        .order_by("name")
    )
    for api in apis:
        yield DriftItem(
            kind=API_MISSING,
            connection=api.connection,
            subject=api.name,
            detail=f"Not listed by the gateway since {api.missing_since:%Y-%m-%d %H:%M} UTC.",
            link=api.get_absolute_url(),
        )


def _plan_missing(organisation: Organisation) -> Iterable[DriftItem]:
    """Plans whose usage plan the last sync did not find: the sync closed them."""
    plans = (
        Plan.objects.filter(
            organisation=organisation,
            connection__isnull=False,
            gateway_observed__has_key=PLAN_MISSING_SINCE,
        )
        .select_related("connection", "connection__organisation", "api", "api__organisation")
        .order_by("api__name", "name")
    )
    for plan in plans:
        since = str(plan.gateway_observed[PLAN_MISSING_SINCE])[:16].replace("T", " ")
        yield DriftItem(
            kind=PLAN_MISSING,
            connection=plan.connection,
            subject=f"{plan.api.name}: {plan.name}",
            detail=(
                f"Usage plan {plan.gateway_plan_id} not listed by the gateway since {since} "
                "UTC; the plan is "
                + ("closed to new subscriptions." if not plan.is_active else "still open.")
            ),
            link=reverse("apis:plan_list", kwargs={"org": organisation.slug, "api": plan.api.slug}),
        )


def _revoked_key_enabled(organisation: Organisation) -> Iterable[DriftItem]:
    """Keys of the organisation's APIs that ended in the portal (revoked, or replaced and
    past their grace) while the last sync saw them enabled on the gateway: the outbox has
    not removed them yet, or someone enabled them again there. Matched by the value's
    digest, or by the gateway's key id where the gateway does not show values."""
    ended = Credential.objects.filter(subscription__provider=organisation).filter(
        Q(revoked_at__isnull=False) | Q(grace_until__lte=timezone.now())
    )
    keys = (
        GatewayKey.objects.filter(
            organisation=organisation, enabled=True, missing_since__isnull=True
        )
        .filter(
            Q(value_digest__in=ended.exclude(digest="").values("digest"))
            | Q(external_id__in=ended.exclude(gateway_key_id="").values("gateway_key_id"))
        )
        .select_related("connection", "connection__organisation")
        .order_by("name", "external_id")
    )
    for key in keys:
        credential = (
            ended.filter(
                Q(digest=key.value_digest)
                if key.value_digest
                else Q(gateway_key_id=key.external_id, subscription__api__connection=key.connection)
            )
            .select_related("subscription__api", "subscription__application")
            .first()
        )
        if credential is None:
            continue  # an id that matched a key of another connection
        subscription = credential.subscription
        when = credential.revoked_at or credential.grace_until
        yield DriftItem(
            kind=REVOKED_KEY_ENABLED,
            connection=key.connection,
            subject=(
                f"{subscription.api.name}: key {credential.display_prefix}… of "
                f"{subscription.application.name}"
            ),
            detail=(
                f"Ended in the portal on {when:%Y-%m-%d %H:%M} UTC; the gateway's key "
                f"{key.name or key.external_id} was still enabled at the last sync."
            ),
            link=reverse(
                "apis:subscription", kwargs={"org": organisation.slug, "pk": subscription.pk}
            ),
        )


DRIFT_CHECKS: list[DriftCheck] = [
    _retired_but_deployed,
    _plan_changed_on_gateway,
    _revoked_key_enabled,
    _api_missing,
    _plan_missing,
]


def drift_list(*, organisation: Organisation) -> list[DriftItem]:
    """Every drift item of the organisation, warnings first, in the order of the checks."""
    items = [item for check in DRIFT_CHECKS for item in check(organisation)]
    return sorted(items, key=lambda item: item.kind.level != "warning")


def drift_groups(items: list[DriftItem]) -> list[tuple[DriftKind, list[DriftItem]]]:
    groups: dict[str, tuple[DriftKind, list[DriftItem]]] = {}
    for item in items:
        groups.setdefault(item.kind.code, (item.kind, []))[1].append(item)
    return list(groups.values())
