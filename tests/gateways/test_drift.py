"""Drift: where the portal and its gateways disagree, found from what syncs recorded."""

import datetime

from django.urls import reverse
from django.utils import timezone

from apis.models import Api, ApiVersion, GatewayDeployment, Plan, SyncRun
from apis.selectors_gateways import DRIFT_CHECKS, drift_list
from apis.services.lifecycle import version_transition
from apis.services.sync import sync_connection
from tenants.actors import Actor

from .moto_apis import create_rest_api


def sync(connection) -> SyncRun:
    run = sync_connection(connection=connection, trigger=SyncRun.Trigger.COMMAND)
    assert run.status == SyncRun.Status.SUCCEEDED, run.errors
    return run


def retire(version: ApiVersion, actor: Actor) -> None:
    for state, extra in (
        ("published", {}),
        (
            "deprecated",
            {
                "reason": "Replaced by v2.",
                "sunset_at": timezone.localdate() + datetime.timedelta(days=30),
            },
        ),
        ("retired", {"reason": "Sunset reached."}),
    ):
        version_transition(version=version, to_state=state, actor=actor, **extra)
        version.refresh_from_db()


def kinds(organisation) -> list[str]:
    return [item.kind.code for item in drift_list(organisation=organisation)]


def test_no_drift_after_a_clean_sync(aws, apigw, cast, aws_connection):
    api_id = create_rest_api(apigw, "orders")
    apigw.create_usage_plan(
        name="gold",
        apiStages=[{"apiId": api_id, "stage": "prod"}],
        throttle={"rateLimit": 10, "burstLimit": 20},
    )
    sync(aws_connection)
    assert drift_list(organisation=cast.org) == []


def test_a_retired_version_still_deployed_is_drift_until_the_stage_goes(
    aws, apigw, cast, aws_connection
):
    api_id = create_rest_api(apigw, "orders")
    sync(aws_connection)
    deployment = GatewayDeployment.objects.get(api__external_id=api_id)
    retire(deployment.version, Actor.for_user(cast.owner))

    [item] = drift_list(organisation=cast.org)
    assert item.kind.code == "retired_deployed"
    assert item.kind.level == "warning"
    assert item.connection == aws_connection
    assert item.subject == f"orders {deployment.version.version}"
    assert "Stage prod" in item.detail
    assert item.link == deployment.version.get_absolute_url()

    apigw.delete_stage(restApiId=api_id, stageName="prod")
    sync(aws_connection)
    assert "retired_deployed" not in kinds(cast.org)


def test_a_usage_plan_changed_on_the_gateway_is_drift(aws, apigw, cast, aws_connection):
    api_id = create_rest_api(apigw, "orders")
    plan = apigw.create_usage_plan(
        name="gold",
        apiStages=[{"apiId": api_id, "stage": "prod"}],
        throttle={"rateLimit": 10, "burstLimit": 20},
        quota={"limit": 1000, "period": "DAY"},
    )
    sync(aws_connection)
    assert kinds(cast.org) == []

    apigw.update_usage_plan(
        usagePlanId=plan["id"],
        patchOperations=[{"op": "replace", "path": "/throttle/rateLimit", "value": "50"}],
    )
    sync(aws_connection)

    portal_plan = Plan.objects.get(gateway_plan_id=plan["id"])
    assert portal_plan.rate_limit == 10  # the portal keeps its terms
    [item] = drift_list(organisation=cast.org)
    assert item.kind.code == "plan_changed"
    assert item.subject == "orders: gold"
    assert "The gateway has rate 50/s" in item.detail
    assert "the portal has rate 10/s" in item.detail

    # Bringing the portal in line ends the drift.
    Plan.objects.filter(pk=portal_plan.pk).update(rate_limit=50)
    assert drift_list(organisation=cast.org) == []


def test_an_api_the_gateway_no_longer_lists_is_information(aws, apigw, cast, aws_connection):
    api_id = create_rest_api(apigw, "orders")
    sync(aws_connection)
    apigw.delete_rest_api(restApiId=api_id)
    sync(aws_connection)

    [item] = drift_list(organisation=cast.org)
    assert item.kind.code == "api_missing"
    assert item.kind.level == "info"
    assert item.link == Api.objects.get(external_id=api_id).get_absolute_url()


def test_warnings_come_before_information(aws, apigw, cast, aws_connection):
    gone = create_rest_api(apigw, "legacy")
    kept = create_rest_api(apigw, "orders")
    sync(aws_connection)
    apigw.delete_rest_api(restApiId=gone)
    sync(aws_connection)
    retire(
        GatewayDeployment.objects.get(api__external_id=kept).version,
        Actor.for_user(cast.owner),
    )
    assert kinds(cast.org) == ["retired_deployed", "api_missing"]


def test_drift_of_another_organisation_is_not_ours(aws, apigw, cast, aws_connection):
    api_id = create_rest_api(apigw, "orders")
    sync(aws_connection)
    apigw.delete_rest_api(restApiId=api_id)
    sync(aws_connection)
    assert drift_list(organisation=cast.other_org) == []


def test_a_usage_plan_gone_from_the_gateway_is_information_and_shown_on_its_plans(
    aws, apigw, cast, aws_connection, client_for
):
    api_id = create_rest_api(apigw, "orders")
    plan = apigw.create_usage_plan(
        name="gold",
        apiStages=[{"apiId": api_id, "stage": "prod"}],
        throttle={"rateLimit": 10, "burstLimit": 20},
    )
    sync(aws_connection)
    apigw.delete_usage_plan(usagePlanId=plan["id"])
    sync(aws_connection)

    # Not also "changed on the gateway": what it observed there is only when it went.
    [item] = drift_list(organisation=cast.org)
    assert (item.kind.code, item.kind.level) == ("plan_missing", "info")
    assert item.subject == "orders: gold"
    assert item.detail.startswith(f"Usage plan {plan['id']} not listed by the gateway since ")
    assert item.detail.endswith("closed to new subscriptions.")
    api = Api.objects.get(external_id=api_id)
    assert item.link == reverse("apis:plan_list", kwargs={"org": "acme", "api": api.slug})

    page = client_for(cast.admin).get(item.link).content.decode()
    gold = page[page.index("<strong>gold</strong>") :]
    gold = gold[: gold.index("</tr>")]
    went = Plan.objects.get(gateway_plan_id=plan["id"]).gateway_observed["missing_since"]
    assert f"missing since {went[:10]}" in gold
    assert "closed" in gold
    other = client_for(cast.outsider).get(item.link)
    assert other.status_code == 404


def test_each_check_is_a_function_of_the_organisation(cast):
    # New kinds of drift are added as one more check; each returns an iterable of items.
    assert all(callable(check) for check in DRIFT_CHECKS)
    assert all(list(check(cast.org)) == [] for check in DRIFT_CHECKS)


def test_the_drift_page_groups_items_by_kind(aws, apigw, cast, aws_connection, client_for):
    gone = create_rest_api(apigw, "legacy")
    plan_api = create_rest_api(apigw, "orders")
    plan = apigw.create_usage_plan(
        name="gold",
        apiStages=[{"apiId": plan_api, "stage": "prod"}],
        throttle={"rateLimit": 10, "burstLimit": 20},
    )
    sync(aws_connection)
    apigw.delete_rest_api(restApiId=gone)
    apigw.update_usage_plan(
        usagePlanId=plan["id"],
        patchOperations=[{"op": "replace", "path": "/throttle/burstLimit", "value": "99"}],
    )
    sync(aws_connection)

    page = client_for(cast.admin).get(reverse("apis:drift", kwargs={"org": "acme"}))
    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="drift-plan_changed"' in html
    assert 'id="drift-api_missing"' in html
    assert 'id="drift-retired_deployed"' not in html
    assert html.index("drift-plan_changed") < html.index("drift-api_missing")
    assert "burst 99" in html
    assert aws_connection.get_absolute_url() in html


def test_the_drift_page_says_when_there_is_none(cast, client_for):
    page = client_for(cast.admin).get(reverse("apis:drift", kwargs={"org": "acme"}))
    assert "No drift" in page.content.decode()


def test_the_drift_endpoint_lists_items(aws, apigw, cast, aws_connection, api_for):
    api_id = create_rest_api(apigw, "orders")
    sync(aws_connection)
    apigw.delete_rest_api(restApiId=api_id)
    sync(aws_connection)

    body = api_for(cast.owner).get("/api/v1/organisations/acme/drift/").json()
    assert body["count"] == 1
    [item] = body["results"]
    assert item["kind"] == "api_missing"
    assert item["level"] == "info"
    assert item["connection"] == aws_connection.pk
    assert item["connection_name"] == "aws"
    assert item["subject"] == "orders"
    assert item["link"].endswith(Api.objects.get(external_id=api_id).get_absolute_url())
    assert item["link"].startswith("http")
