"""The demo's usage data: generated access logs, REPORT lines and LiteLLM log lines in
the emulator's CloudWatch Logs, imported by CloudWatch sources so every dashboard has
something."""

import datetime
import json
import math
from collections import Counter, defaultdict

import pytest
import time_machine
from django.urls import reverse

from analytics.demo import (
    AI_GROUP,
    HTTP_GROUP,
    LAMBDA_GROUP,
    REST_GROUP,
    logs_client,
    seed_usage_logs,
    targets,
    traffic,
)
from analytics.models import ImportRun, LogSource, TeamBudget, UsageRollup
from analytics.templatetags.usage_tags import money, num
from apis.demo_gateways import DEMO_HTTP_APIS, DEMO_REST_APIS, seed_gateways
from apis.demo_models import DEMO_MODELS
from apis.models import Api, Application, Credential, Subscription
from portal.demo import seed
from tenants.models import User

from .logs import events, invocations

NOW = datetime.datetime.now(datetime.UTC)


@pytest.fixture
def synced(aws, db, settings):
    settings.CLOUDWATCH_CALLS_PER_SECOND = 100
    seed(password="demo-password-for-tests")
    seed_gateways(endpoint_url=aws.url)
    return aws


def _lines(client, group: str) -> list[dict]:
    return [
        json.loads(event["message"])
        for page in client.get_paginator("filter_log_events").paginate(logGroupName=group)
        for event in page["events"]
    ]


def _all_groups(client) -> dict[str, int]:
    counts = {}
    for group in client.describe_log_groups()["logGroups"]:
        name = group["logGroupName"]
        counts[name] = sum(
            len(page["events"])
            for page in client.get_paginator("filter_log_events").paginate(logGroupName=name)
        )
    return counts


def test_a_week_of_logs_is_put_in_the_emulator_and_imported(synced, client_for):
    runs = seed_usage_logs(endpoint_url=synced.url, days=2, scale=0.2, now=NOW)

    assert runs
    assert {run.status for run in runs} == {ImportRun.Status.SUCCEEDED}
    groups = _all_groups(logs_client(synced.url))
    assert {REST_GROUP, HTTP_GROUP} <= set(groups)
    functions = {name[len(LAMBDA_GROUP) :] for name in groups if name.startswith(LAMBDA_GROUP)}
    assert functions == {"orders", "inventory", "inventory-admin", "rates", "webhooks"}
    sources = {s.config["log_group"]: s for s in LogSource.objects.filter(kind="cloudwatch")}
    assert set(sources) == set(groups)
    assert all(s.connection.name.startswith("Acme AWS") for s in sources.values())
    # Every line was read and stored once, none refused.
    by_group = {run.source.config["log_group"]: run for run in runs}
    for group, count in groups.items():
        run = by_group[group]
        assert (run.read, run.rejected) == (count, 0), group
        assert run.imported == count, group

    # Each request resolves to the synced API it names; requests with a portal key to
    # the key's application.
    rest = events(sources[REST_GROUP].pk) + events(sources[HTTP_GROUP].pk)
    assert len(rest) == groups[REST_GROUP] + groups[HTTP_GROUP]
    apis = dict(Api.objects.filter(organisation__slug="acme").values_list("pk", "name"))
    assert {apis[row[4]] for row in rest} == {s.name for s in (*DEMO_REST_APIS, *DEMO_HTTP_APIS)}
    applications = {row[6] for row in rest} - {0}
    keyed = set(
        Credential.objects.exclude(gateway_key_id="").values_list(
            "subscription__application_id", flat=True
        )
    )
    assert keyed
    assert applications == keyed
    assert {row[1] for row in rest} == {sources[REST_GROUP].pk, sources[HTTP_GROUP].pk}
    # Lambda invocations by function, from the REPORT lines.
    stored = [
        row for group in groups if group.startswith(LAMBDA_GROUP)
        for row in invocations(sources[group].pk)
    ]  # fmt: skip
    assert {row[4] for row in stored} == functions
    assert any(row[10] is not None for row in stored)  # some cold starts
    # The rollups the dashboards read: every synced API and every AI model has traffic.
    models = set(
        Api.objects.filter(organisation__slug="acme", kind="ai").values_list("pk", flat=True)
    )
    assert len(models) == len(DEMO_MODELS)
    assert set(
        UsageRollup.objects.filter(organisation__slug="acme").values_list("api_id", flat=True)
    ) == set(apis) & ({row[4] for row in rest} | models)
    # And the dashboards show it.
    owner = client_for(User.objects.get(email="owner@acme.example"))
    overview = owner.get(reverse("analytics:overview", kwargs={"org": "acme"}))
    assert overview.status_code == 200
    page = overview.content.decode()
    assert "Orders API" in page
    assert "Acme mobile app" in page
    orders = Api.objects.get(organisation__slug="acme", name="Orders API")
    api_page = owner.get(reverse("analytics:api", kwargs={"org": "acme", "api": orders.slug}))
    assert api_page.status_code == 200
    assert "/orders/{orderId}" in api_page.content.decode()
    lambdas = owner.get(reverse("analytics:lambda", kwargs={"org": "acme"})).content.decode()
    assert all(function in lambdas for function in functions)


def test_a_demo_started_again_adds_only_what_is_new(synced):
    earlier = NOW - datetime.timedelta(hours=5)
    seed_usage_logs(endpoint_url=synced.url, days=1, scale=0.2, now=earlier)
    rest = LogSource.objects.get(config__log_group=REST_GROUP)
    before = events(rest.pk)
    synced.reset()  # a new demo: an empty emulator, the same database
    seed_gateways(endpoint_url=synced.url)

    runs = seed_usage_logs(endpoint_url=synced.url, days=1, scale=0.2, now=NOW)

    after = events(rest.pk)
    assert after[: len(before)] == before  # nothing before the last import changed
    assert len(after) > len(before)
    assert min(row[0] for row in after[len(before) :]) > max(row[0] for row in before)
    assert {run.status for run in runs} == {ImportRun.Status.SUCCEEDED}
    assert LogSource.objects.filter(config__log_group=REST_GROUP).count() == 1


def test_the_traffic_is_the_same_for_the_same_hours(synced):
    seed_usage_logs(endpoint_url=synced.url, days=1, scale=0.1, now=NOW)
    found = targets()
    end_ms = int(NOW.timestamp() * 1000)
    start_ms = end_ms - 6 * 3_600_000

    first = traffic(found, start_ms=start_ms, end_ms=end_ms, scale=0.1)
    later = traffic(found, start_ms=start_ms - 3_600_000, end_ms=end_ms + 3_600_000, scale=0.1)

    assert first
    assert set(first) <= set(later)
    assert all(start_ms < event.timestamp for event in first if event.group == REST_GROUP)


def _midday_days_into_a_month(now: datetime.datetime) -> datetime.datetime:
    """The latest midday (UTC) before ``now`` on the 4th of a month or later: the demo's
    two days of AI calls then fall in one month and one day's quota has half a day of calls,
    whatever day the test runs (the emulator takes lines up to 14 days old)."""
    moment = (now - datetime.timedelta(hours=12)).replace(
        hour=12, minute=0, second=0, microsecond=0
    )
    while moment.day < 4:
        moment -= datetime.timedelta(days=1)
    return moment


def test_the_ai_dashboard_shows_spend_per_team_application_and_model_and_a_near_budget(
    synced, client_for
):
    moment = _midday_days_into_a_month(NOW)
    with time_machine.travel(moment, tick=True):
        runs = seed_usage_logs(endpoint_url=synced.url, days=2, scale=0.2, now=moment)
        owner = client_for(User.objects.get(email="owner@acme.example"))
        ai_page = owner.get(reverse("analytics:ai", kwargs={"org": "acme"}))
        checkout = Application.objects.get(name="Checkout web")
        usage_page = owner.get(
            reverse("analytics:application", kwargs={"org": "acme", "pk": checkout.pk})
        )

    # The LiteLLM lines were all imported by a LiteLLM source, none refused.
    lines = _lines(logs_client(synced.url), AI_GROUP)
    assert lines
    source = LogSource.objects.get(config__log_group=AI_GROUP)
    assert (source.kind, source.format) == ("cloudwatch", "litellm")
    run = next(run for run in runs if run.source_id == source.pk)
    assert (run.status, run.read, run.imported, run.rejected) == (
        "succeeded",
        len(lines),
        len(lines),
        0,
    )
    # Each line's key hash is a demo application's key, and its model one of Acme's models.
    keys = dict(
        Credential.objects.filter(subscription__api__kind="ai").values_list(
            "digest", "subscription__application__name"
        )
    )
    application_of = [keys[line["metadata"]["user_api_key_hash"]] for line in lines]
    assert set(application_of) == {
        "Checkout web", "Sign-in service", "Account recovery", "Globex storefront"
    }  # fmt: skip
    assert {line["model_group"] for line in lines} == {model.name for model in DEMO_MODELS}
    stored = events(source.pk)
    assert len(stored) == len(lines)
    models = dict(Api.objects.filter(kind="ai").values_list("pk", "name"))
    assert {models[row[4]] for row in stored} == {model.name for model in DEMO_MODELS}
    assert 0 not in {row[6] for row in stored}

    # The AI page: tokens and cost per team, per application and per model, as the lines
    # say, and Identity past the warning of its budget while Payments has room.
    assert ai_page.status_code == 200
    page = ai_page.content.decode()
    teams = {"Checkout web": "Payments", "Sign-in service": "Identity"}
    teams["Account recovery"] = "Identity"
    spend = {
        "team": defaultdict(lambda: [0, []]),
        "application": defaultdict(lambda: [0, []]),
        "model": defaultdict(lambda: [0, []]),
    }
    for line, application in zip(lines, application_of, strict=True):
        if application not in teams:
            continue  # Globex's application: Acme sees it only as a provider
        tokens = line["prompt_tokens"] + line["completion_tokens"]
        for kind, name in (
            ("team", teams[application]),
            ("application", application),
            ("model", line["model_group"]),
        ):
            spend[kind][name][0] += tokens
            spend[kind][name][1].append(line["response_cost"])
    for name, (tokens, costs) in spend["team"].items():
        assert (
            f"<tr><td>{name}</td><td>{num(tokens)}</td><td>{money(math.fsum(costs))}</td></tr>"
            in page
        )
    for name, (tokens, costs) in spend["application"].items():
        assert (
            f"<tr><td>{name}</td><td>{num(tokens)}</td><td>{money(math.fsum(costs))}</td></tr>"
            in page
        )
    for name, (tokens, costs) in spend["model"].items():
        assert (
            f"<tr><td>{name}</td><td>Acme Corp</td><td>{num(tokens)}</td>"
            f"<td>{money(math.fsum(costs))}</td></tr>"
        ) in page
    assert set(spend["model"]) == {model.name for model in DEMO_MODELS}
    budgets = {b.team.slug: b for b in TeamBudget.objects.select_related("team")}
    assert set(budgets) == {"identity", "payments"}
    identity_spent = math.fsum(spend["team"]["Identity"][1])
    assert 80 <= 100 * identity_spent / float(budgets["identity"].monthly_limit) < 100
    assert "past 80 % of the budget" in page
    assert page.count('data-level="warning"') == 1
    warning = page[page.index('data-level="warning"') :]
    assert warning[: warning.index("</li>")].count("Identity") == 2  # the name and the meter
    assert page.count('data-level="ok"') == 1
    # As the models' provider, Acme sees Globex's calls too.
    served = page[page.index('data-testid="ai-served-consumers"') :]
    assert "<td>Globex storefront</td>" in served[: served.index("</table>")]

    # Checkout web's usage page: its calls to gpt-4o-mini today against the plan's quota.
    assert usage_page.status_code == 200
    subscription = Subscription.objects.select_related("plan").get(
        application=checkout, api__name="gpt-4o-mini"
    )
    midnight = moment.replace(hour=0).timestamp()
    today = Counter(
        application
        for line, application in zip(lines, application_of, strict=True)
        if line["model_group"] == "gpt-4o-mini" and line["startTime"] >= midnight
    )["Checkout web"]
    assert today > 0
    plan = subscription.plan
    assert (
        f"{num(today)} of {num(plan.quota_limit)} calls {plan.get_quota_period_display()}"
        in usage_page.content.decode()
    )
