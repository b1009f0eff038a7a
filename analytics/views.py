"""Usage dashboards: the organisation's overview, one of its APIs, one of its
applications, AI spend and Lambda functions.

Every page reads rollups through analytics.selectors (raw invocations for Lambda),
takes its range and time zone from the query string, renders its body alone for
htmx, and exports every chart's series with ``?format=csv``.
"""

import datetime

from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from apis.models import ApiVersion
from tenants.forms import form_status
from tenants.scoping import organisation_view

from . import dashboards, functions
from . import selectors as usage
from .dashboards import Chart, Series, Window
from .forms import RangeForm, default_zone

BODY_TARGET = "usage-body"
PER_API_SERIES = 6


def _range(request: HttpRequest) -> tuple[RangeForm, Window]:
    params = {key: request.GET[key] for key in ("range", "from", "to", "tz") if key in request.GET}
    form = RangeForm(params or None)
    return form, form.window(now=timezone.now())


def _page(
    request: HttpRequest,
    template: str,
    context: dict,
    *,
    form: RangeForm,
    window: Window,
    charts: list[Chart],
    export: str,
) -> HttpResponse:
    if request.GET.get("format") == "csv":
        return _csv(charts, window, export)
    query = form.query(window)
    context.update(
        {
            "form": form,
            "window": window,
            "query": query,
            "tz_explicit": "tz" in request.GET,
            "charts": charts,
            "charts_json": dashboards.charts_json(charts, window),
            "ranges": dashboards.RANGES.items(),
        }
    )
    status = form_status(form)
    if request.htmx and request.htmx.target == BODY_TARGET:
        return render(request, f"{template}#body", context, status=status)
    return render(request, template, context, status=status)


def _csv(charts: list[Chart], window: Window, export: str) -> HttpResponse:
    response = HttpResponse(dashboards.charts_csv(charts), content_type="text/csv; charset=utf-8")
    day = window.start.astimezone(window.tz)
    filename = f"usage-{export}-{day:%Y%m%d}-{window.key}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _named(rows, labels: dict, default):
    return [(labels.get(ident, default(ident)), point) for ident, point in rows]


def _deleted_application(ident: int) -> usage.Consumer:
    return usage.Consumer(name=f"Deleted application #{ident}", team="", organisation="")


@organisation_view()
@require_GET
def usage_overview(request: HttpRequest) -> HttpResponse:
    form, window = _range(request)
    organisation = request.organisation
    apis = {
        api.pk: api for api in usage.provider_api_list(organisation=organisation, user=request.user)
    }
    rollups = usage.provider_rollups(organisation=organisation, api_ids=apis)
    data = dashboards.traffic(rollups, window)
    top_apis = [
        (apis[ident], point)
        for ident, point in dashboards.breakdown(rollups, window, "api_id", histogram=True)
        if ident in apis
    ]
    own = dashboards.breakdown(
        usage.consumer_rollups(organisation=organisation), window, "application_id"
    )
    teams = usage.application_team_map(organisation=organisation) if own else {}
    applications = [
        (ident, teams.get(ident, (f"#{ident}", 0, ""))[0], teams.get(ident, ("", 0, ""))[2], point)
        for ident, point in own
    ]
    context = {
        "total": data.total,
        "top_apis": top_apis,
        "applications": applications,
        "has_apis": bool(apis),
    }
    charts = dashboards.traffic_charts(data)
    return _page(
        request,
        "analytics/overview.html",
        context,
        form=form,
        window=window,
        charts=charts,
        export=organisation.slug,
    )


@organisation_view()
@require_GET
def usage_api(request: HttpRequest, api: str) -> HttpResponse:
    form, window = _range(request)
    organisation = request.organisation
    api = usage.provider_api_get(organisation=organisation, user=request.user, slug=api)
    rollups = usage.provider_rollups(organisation=organisation, api_ids=[api.pk])
    data = dashboards.traffic(rollups, window)
    by = dashboards.breakdowns(rollups, window, ("application_id", "api_version_id"))
    top_applications, by_version = by["application_id"], by["api_version_id"]
    labels = usage.consumer_labels(ids=[ident for ident, _ in top_applications])
    versions = dict(
        ApiVersion.objects.filter(api=api, pk__in=[ident for ident, _ in by_version])
        .order_by()
        .values_list("pk", "version")
    )
    top_routes, statuses = dashboards.route_summary(
        usage.route_rollups(organisation=organisation, api=api), window
    )
    context = {
        "api": api,
        "total": data.total,
        "top_applications": _named(top_applications, labels, _deleted_application),
        "versions": [(versions.get(ident, "unknown"), point) for ident, point in by_version],
        "routes": top_routes,
        "statuses": statuses,
    }
    return _page(
        request,
        "analytics/api.html",
        context,
        form=form,
        window=window,
        charts=dashboards.traffic_charts(data),
        export=api.slug,
    )


@organisation_view()
@require_GET
def usage_application(request: HttpRequest, pk: int) -> HttpResponse:
    form, window = _range(request)
    application = usage.consumer_application_get(organisation=request.organisation, pk=pk)
    rollups = usage.application_rollups(application=application)
    data = dashboards.traffic(rollups, window)
    per_api = dashboards.breakdown(rollups, window, "api_id", top=None)
    apis = usage.api_labels(ids=[ident for ident, _ in per_api])
    shown = [ident for ident, _ in per_api][:PER_API_SERIES]
    split = dashboards.split_series(rollups, window, "api_id", shown)
    charts = [
        *dashboards.traffic_charts(data),
        Chart(
            id="per-api",
            title="Calls per API",
            unit="calls",
            window=window,
            series=[
                Series(apis[ident].name if ident in apis else "Unknown API", split[ident])
                for ident in shown
            ],
        ),
    ]
    subscriptions = list(usage.application_subscription_list(application=application))
    context = {
        "application": application,
        "total": data.total,
        "per_api": [(apis.get(ident), point) for ident, point in per_api],
        "quotas": dashboards.quota_use(rollups, subscriptions, now=timezone.now()),
    }
    return _page(
        request,
        "analytics/application.html",
        context,
        form=form,
        window=window,
        charts=charts,
        export=f"application-{application.pk}",
    )


@organisation_view()
@require_GET
def usage_ai(request: HttpRequest) -> HttpResponse:
    form, window = _range(request)
    organisation = request.organisation
    now = timezone.now()
    # As a consumer: the organisation's applications calling AI models of anyone.
    spend = usage.consumer_rollups(organisation=organisation).filter(api_id__in=usage.ai_api_ids())
    consumer = dashboards.traffic(spend, window)
    by_application = dashboards.breakdown(spend, window, "application_id", top=None, order="cost")
    by_model = dashboards.breakdown(spend, window, "api_id", order="cost")
    applications = usage.application_team_map(organisation=organisation)
    by_team: dict[int, list] = {}
    for ident, point in by_application:
        _, team_id, team_name = applications.get(ident, ("", 0, ""))
        entry = by_team.setdefault(team_id, [team_name, dashboards.Point()])
        entry[1].add(point)
    month = dashboards.month_start(now, default_zone())
    spent_by_team: dict[int, float] = {}
    for row in (
        spend.filter(hour__gte=month)
        .values("application_id")
        .annotate(spent=Sum("cost"))
        .order_by()
    ):
        team_id = applications.get(row["application_id"], ("", 0, ""))[1]
        spent_by_team[team_id] = spent_by_team.get(team_id, 0.0) + (row["spent"] or 0.0)
    budgets = dashboards.budget_use(
        usage.team_budget_list(organisation=organisation), spent_by_team
    )
    # As a provider: the organisation's own AI models, by model and by consumer.
    models = {
        api.pk: api
        for api in usage.provider_api_list(organisation=organisation, user=request.user).filter(
            kind="ai"
        )
    }
    served = usage.provider_rollups(organisation=organisation, api_ids=models)
    provider = dashboards.traffic(served, window)
    served_by_model = dashboards.breakdown(served, window, "api_id", order="cost")
    served_to = dashboards.breakdown(served, window, "application_id", order="cost")
    model_labels = usage.api_labels(ids=[ident for ident, _ in by_model])
    consumers = usage.consumer_labels(ids=[ident for ident, _ in served_to])
    context = {
        "consumer_total": consumer.total,
        "by_team": sorted(by_team.values(), key=lambda item: (-item[1].cost, item[0])),
        "by_application": [
            (applications.get(ident, (f"#{ident}", 0, ""))[0], point)
            for ident, point in by_application
        ],
        "by_model": [(model_labels.get(ident), point) for ident, point in by_model],
        "budgets": budgets,
        "budget_month": month,
        "has_models": bool(models),
        "provider_total": provider.total,
        "served_by_model": [(models.get(ident), point) for ident, point in served_by_model],
        "served_to": _named(served_to, consumers, _deleted_application),
    }
    consumer_charts = dashboards.ai_charts(consumer)
    served_charts = dashboards.ai_charts(provider, prefix="served-", title="served")
    charts = [*consumer_charts, *(served_charts if models else [])]
    context.update({"consumer_charts": consumer_charts, "served_charts": served_charts})
    return _page(
        request,
        "analytics/ai.html",
        context,
        form=form,
        window=window,
        charts=charts,
        export="ai",
    )


@organisation_view()
@require_GET
def usage_lambda(request: HttpRequest) -> HttpResponse:
    form, window = _range(request)
    invocations = usage.invocations(organisation=request.organisation)
    counts, colds = functions.invocation_series(invocations, window)
    charts = [
        Chart(
            id="invocations",
            title="Invocations",
            unit="invocations",
            window=window,
            series=[Series("Invocations", counts), Series("Cold starts", colds)],
        )
    ]
    context = {"functions": functions.function_stats(invocations, window)}
    return _page(
        request,
        "analytics/lambda.html",
        context,
        form=form,
        window=window,
        charts=charts,
        export="lambda",
    )


def who_still_calls_days() -> int:
    return settings.USAGE_WHO_STILL_CALLS_DAYS


def who_still_calls_since(now: datetime.datetime) -> datetime.datetime:
    return dashboards.floor_hour(now) - datetime.timedelta(days=who_still_calls_days())
