"""The demo's usage data: generated access logs and REPORT lines in the emulator's
CloudWatch Logs, imported by CloudWatch sources so every dashboard has something."""

import datetime

import pytest
from django.urls import reverse

from analytics.demo import (
    HTTP_GROUP,
    LAMBDA_GROUP,
    REST_GROUP,
    logs_client,
    seed_usage_logs,
    targets,
    traffic,
)
from analytics.models import ImportRun, LogSource, UsageRollup
from apis.demo_gateways import DEMO_HTTP_APIS, DEMO_REST_APIS, seed_gateways
from apis.models import Api, Credential
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
    # The rollups the dashboards read: every synced API has traffic.
    assert set(
        UsageRollup.objects.filter(organisation__slug="acme").values_list("api_id", flat=True)
    ) == set(apis) & {row[4] for row in rest}
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
