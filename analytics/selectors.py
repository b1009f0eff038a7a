"""Reads behind the usage dashboards and the log source pages, each scoped by the
organisation looking.

Dashboards have two sides, and nothing else: as a provider an organisation sees the
rollups it imported for its own APIs (only those its user sees: team-only APIs stay
with their team), with the consumers' application name, team and organisation; as a
consumer it sees the rollups of its own applications, whichever organisation imported
them, and nothing of other applications. Log sources, their uploads and import runs
are the organisation's owners' and admins' (the callers check the role: runs sample
raw log lines). "Missing" and "not yours" are both 404.
"""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Max, OuterRef, Q, QuerySet, Subquery, Sum
from django.http import Http404

from apis.models import Api, ApiVersion, Application, Subscription
from apis.selectors import api_list_visible, is_api_owner
from apis.selectors_subscriptions import application_get
from tenants.models import Organisation, User
from tenants.roles import TeamRole

from .models import (
    AlertRule,
    FunctionInvocation,
    ImportRun,
    LogSource,
    LogUpload,
    RouteRollup,
    TeamBudget,
    UsageRollup,
)

UNRESOLVED = 0


def provider_api_list(*, organisation: Organisation, user: User) -> QuerySet[Api]:
    """The organisation's own APIs that ``user`` sees, without the catalogue's prefetches."""
    return (
        api_list_visible(user=user)
        .filter(organisation=organisation)
        .prefetch_related(None)
        .only("pk", "name", "slug", "kind", "organisation", "team")
        .order_by("name")
    )


def provider_api_get(*, organisation: Organisation, user: User, slug: str) -> Api:
    api = (
        provider_api_list(organisation=organisation, user=user)
        .filter(slug=slug)
        .select_related("organisation", "team")
        .first()
    )
    if api is None:
        raise Http404("Not found.")
    return api


def provider_rollups(*, organisation: Organisation, api_ids: Iterable[int]) -> QuerySet:
    """Rollups the organisation imported for the given APIs of its own."""
    return UsageRollup.objects.filter(organisation=organisation, api_id__in=list(api_ids))


def _one(queryset: QuerySet, pk):
    """The row of ``queryset`` with id ``pk``; none, or a malformed id, is 404."""
    try:
        found = queryset.filter(pk=int(pk)).first()
    except (TypeError, ValueError):
        found = None
    if found is None:
        raise Http404("Not found.")
    return found


def log_source_list(*, organisation: Organisation) -> QuerySet[LogSource]:
    return (
        LogSource.objects.filter(organisation=organisation)
        .select_related("organisation", "api", "connection")
        .order_by("name", "id")
    )


def log_source_get(*, organisation: Organisation, pk) -> LogSource:
    """One log source of ``organisation``; anything else, or a malformed id, is 404."""
    return _one(log_source_list(organisation=organisation), pk)


def log_source_list_with_last_run(*, organisation: Organisation) -> list[LogSource]:
    """The organisation's sources, each with ``last_run``: its newest ImportRun or None.
    Two queries."""
    newest = (
        ImportRun.objects.filter(source=OuterRef("pk")).order_by("-started_at", "-id").values("pk")
    )
    found = list(
        log_source_list(organisation=organisation).annotate(last_run_id=Subquery(newest[:1]))
    )
    runs = ImportRun.objects.in_bulk([s.last_run_id for s in found if s.last_run_id])
    for source in found:
        source.last_run = runs.get(source.last_run_id)
    return found


def import_run_list(*, source: LogSource) -> QuerySet[ImportRun]:
    """The source's runs, newest first."""
    return ImportRun.objects.filter(source=source).order_by("-started_at", "-id")


def import_run_get(*, source: LogSource, pk) -> ImportRun:
    return _one(import_run_list(source=source), pk)


def log_upload_list(*, source: LogSource) -> QuerySet[LogUpload]:
    """The files given to the source, newest first."""
    return LogUpload.objects.filter(source=source).order_by("-created_at", "-id")


def log_upload_get(*, source: LogSource, pk) -> LogUpload:
    return _one(log_upload_list(source=source), pk)


def alert_api_list(*, organisation: Organisation, user: User, is_admin: bool) -> QuerySet[Api]:
    """The organisation's APIs whose alert rules ``user`` writes: every one they see for
    admins, else those of the teams they maintain."""
    apis = provider_api_list(organisation=organisation, user=user)
    if is_admin:
        return apis
    return apis.filter(
        team__memberships__user=user, team__memberships__role=TeamRole.MAINTAINER
    ).distinct()


def alert_rule_list(*, organisation: Organisation, user: User) -> QuerySet[AlertRule]:
    """The organisation's alert rules on the APIs ``user`` sees and on its applications."""
    visible = api_list_visible(user=user).filter(organisation=organisation).values("pk")
    return (
        AlertRule.objects.filter(organisation=organisation)
        .filter(Q(api__in=visible) | Q(application__isnull=False))
        .select_related("organisation", "api", "application__team")
        .order_by("name", "id")
    )


def alert_rule_get(*, organisation: Organisation, user: User, pk: int) -> AlertRule:
    rule = alert_rule_list(organisation=organisation, user=user).filter(pk=pk).first()
    if rule is None:
        raise Http404("Not found.")
    return rule


def route_rollups(*, organisation: Organisation, api: Api) -> QuerySet[RouteRollup]:
    if api.organisation_id != organisation.pk:
        raise Http404("Not found.")
    return RouteRollup.objects.filter(organisation=organisation, api_id=api.pk)


def consumer_application_ids(*, organisation: Organisation) -> QuerySet:
    return Application.objects.filter(organisation=organisation).values("pk")


def consumer_rollups(*, organisation: Organisation) -> QuerySet[UsageRollup]:
    """Rollups of the organisation's own applications, whoever imported them."""
    return UsageRollup.objects.filter(
        application_id__in=consumer_application_ids(organisation=organisation)
    )


def consumer_application_get(*, organisation: Organisation, pk: int) -> Application:
    return application_get(organisation=organisation, pk=pk)


def application_rollups(*, application: Application) -> QuerySet[UsageRollup]:
    return UsageRollup.objects.filter(application_id=application.pk)


def ai_api_ids() -> QuerySet:
    return Api.objects.filter(kind=Api.Kind.AI).values("pk")


@dataclass(frozen=True)
class Consumer:
    """What a provider may know of an application calling its API."""

    name: str
    team: str
    organisation: str


UNRESOLVED_CONSUMER = Consumer(name="No application (key not matched)", team="", organisation="")


def consumer_labels(*, ids: Iterable[int]) -> dict[int, Consumer]:
    """Name, team and organisation of the applications with ``ids`` (ids taken from a
    provider's own rollups): one query."""
    wanted = {ident for ident in ids if ident != UNRESOLVED}
    found = {
        pk: Consumer(name=name, team=team, organisation=org)
        for pk, name, team, org in Application.objects.filter(pk__in=wanted).values_list(
            "pk", "name", "team__name", "organisation__name"
        )
    }
    found[UNRESOLVED] = UNRESOLVED_CONSUMER
    return found


def api_labels(*, ids: Iterable[int]) -> dict[int, Api]:
    """APIs named in rollups the caller already may read: one query."""
    wanted = {ident for ident in ids if ident != UNRESOLVED}
    return {
        api.pk: api
        for api in Api.objects.filter(pk__in=wanted)
        .select_related("organisation")
        .only("pk", "name", "slug", "kind", "organisation__name", "organisation__slug")
    }


def application_subscription_list(*, application: Application) -> QuerySet[Subscription]:
    """The application's subscriptions that may be used: approved or suspended."""
    return (
        Subscription.objects.filter(
            application=application,
            state__in=[Subscription.State.APPROVED, Subscription.State.SUSPENDED],
        )
        .select_related("plan", "api__organisation")
        .order_by("api__name")
    )


def application_team_map(*, organisation: Organisation) -> dict[int, tuple[str, int, str]]:
    """application id → (application name, team id, team name) for the organisation."""
    return {
        pk: (name, team_id, team_name)
        for pk, name, team_id, team_name in Application.objects.filter(
            organisation=organisation
        ).values_list("pk", "name", "team_id", "team__name")
    }


def team_budget_list(*, organisation: Organisation) -> QuerySet[TeamBudget]:
    return (
        TeamBudget.objects.filter(organisation=organisation)
        .select_related("team")
        .order_by("team__name")
    )


def invocations(*, organisation: Organisation) -> QuerySet[FunctionInvocation]:
    return FunctionInvocation.objects.filter(organisation_id=organisation.pk)


@dataclass(frozen=True)
class Caller:
    consumer: Consumer
    calls: int
    last_seen: datetime.datetime


def version_caller_list(
    *, user: User, version: ApiVersion, since: datetime.datetime, limit: int = 50
) -> list[Caller] | None:
    """The applications that called a deprecated version since ``since``, most calls
    first; None unless ``user`` owns the API and the version is deprecated."""
    api = version.api
    if version.state != ApiVersion.State.DEPRECATED or not is_api_owner(user=user, api=api):
        return None
    rows = list(
        UsageRollup.objects.filter(
            organisation_id=api.organisation_id,
            api_id=api.pk,
            api_version_id=version.pk,
            hour__gte=since,
        )
        .values("application_id")
        .annotate(total=Sum("calls"), last=Max("hour"))
        .filter(total__gt=0)
        .order_by("-total", "application_id")[:limit]
    )
    labels = consumer_labels(ids=[row["application_id"] for row in rows])
    return [
        Caller(
            consumer=labels.get(row["application_id"], UNRESOLVED_CONSUMER),
            calls=row["total"],
            last_seen=row["last"],
        )
        for row in rows
    ]
