"""A plan's budget reaching keys LiteLLM already holds: editing the plan, or moving a
subscription to a plan with another budget, writes one ``set_budget`` operation per key
in force, carried out as ``POST /key/update`` against the recorded-response proxy.
AWS-backed plans get none."""

import json
from decimal import Decimal

import pytest

from apis.models import GatewayOperation, Plan, Subscription
from apis.services import keys, provisioning
from apis.services.plans import plan_create, plan_update
from apis.services.subscriptions import (
    subscription_act,
    subscription_change_plan_decide,
    subscription_change_plan_request,
    subscription_request,
)
from tenants.keys import digest
from tenants.models import AuditEvent
from tests.gateways.replay import Reply

from .test_provisioning_litellm import FIXTURES, litellm, model_api  # noqa: F401

SET_BUDGET = GatewayOperation.Action.SET_BUDGET


def generated(request) -> Reply:
    """LiteLLM's answer to /key/generate, for whichever key was sent."""
    answer = json.loads((FIXTURES / "key_generate.json").read_text())
    value = request.json()["key"]
    answer.update(key=value, token=digest(value), token_id=digest(value))
    return Reply.json(answer)


@pytest.fixture
def proxy_keys(litellm):  # noqa: F811
    litellm.add("POST", "/key/generate", generated)
    litellm.add("POST", "/key/update", Reply.json_file(FIXTURES / "key_update.json"))
    return litellm


@pytest.fixture
def approved(world, proxy_keys, model_api, django_capture_on_commit_callbacks):  # noqa: F811
    """An approved subscription to the model on a plan of $10 a month, its key on LiteLLM."""
    api, plan = model_api
    plan = plan_update(
        plan=plan, actor=world.actor("api_maintainer"), budget=Decimal("10"), quota_period="month"
    )
    subscription = subscription_request(
        application=world.application, api=api, plan=plan, actor=world.actor("app_developer")
    )
    with django_capture_on_commit_callbacks(execute=True):
        subscription = subscription_act(
            subscription=subscription, action="approve", actor=world.actor("api_maintainer")
        )
    return subscription


def updates(proxy) -> list[dict]:
    return [r.json() for r in proxy.received("POST", "/key/update")]


def budget_operations(**filters) -> list[GatewayOperation]:
    return list(GatewayOperation.objects.filter(action=SET_BUDGET, **filters))


def test_a_budget_change_updates_every_key_in_force_on_litellm(
    world, proxy_keys, approved, django_capture_on_commit_callbacks
):
    first = approved.credentials.get()
    with django_capture_on_commit_callbacks(execute=True):
        second, _ = keys.credential_rotate(credential=first, actor=world.actor("app_developer"))
    with django_capture_on_commit_callbacks(execute=True):
        third, _ = keys.credential_rotate(credential=second, actor=world.actor("app_developer"))
    # The first key's grace is over: the gateway no longer holds it.
    first.refresh_from_db()
    type(first).objects.filter(pk=first.pk).update(grace_until=first.replaced_at)
    live = {second.pk, third.pk}
    assert updates(proxy_keys) == []

    with django_capture_on_commit_callbacks(execute=True):
        plan_update(
            plan=approved.plan,
            actor=world.actor("api_maintainer"),
            budget=Decimal("40.00"),
        )

    operations = budget_operations()
    assert {o.credential_id for o in operations} == live
    assert {(o.state, o.attempts) for o in operations} == {("succeeded", 1)}
    tokens = {c.gateway_key_id for c in approved.credentials.filter(pk__in=live)}
    assert len(tokens) == 2
    assert sorted(updates(proxy_keys), key=lambda b: b["key"]) == [
        {"key": token, "max_budget": 40.0, "budget_duration": "30d"} for token in sorted(tokens)
    ]
    assert AuditEvent.objects.filter(action="gateway.key_set_budget").count() == 2
    approved.refresh_from_db()
    assert approved.gateway_state == Subscription.GatewayState.ACTIVE


@pytest.mark.parametrize(
    ("values", "sent"),
    [
        ({"quota_period": "day"}, {"max_budget": 10.0, "budget_duration": "1d"}),
        ({"quota_period": ""}, {"max_budget": 10.0, "budget_duration": None}),
        ({"budget": None}, {"max_budget": None, "budget_duration": None}),
    ],
)
def test_a_new_period_or_no_budget_reaches_the_key(
    world, proxy_keys, approved, django_capture_on_commit_callbacks, values, sent
):
    with django_capture_on_commit_callbacks(execute=True):
        plan_update(plan=approved.plan, actor=world.actor("api_maintainer"), **values)

    token = approved.credentials.get().gateway_key_id
    assert updates(proxy_keys) == [{"key": token, **sent}]


def test_an_unchanged_budget_writes_nothing(
    world, proxy_keys, approved, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        plan_update(
            plan=approved.plan,
            actor=world.actor("api_maintainer"),
            budget=Decimal("10.00"),
            quota_period="month",
            description="Same money, new words.",
            rate_limit=5,
        )

    assert budget_operations() == []
    assert callbacks == []
    assert updates(proxy_keys) == []


def test_a_period_change_without_a_budget_writes_nothing(
    world, proxy_keys, approved, django_capture_on_commit_callbacks
):
    plan = approved.plan
    with django_capture_on_commit_callbacks(execute=True):
        plan_update(plan=plan, actor=world.actor("api_maintainer"), budget=None)
    assert len(budget_operations()) == 1

    with django_capture_on_commit_callbacks(execute=True):
        plan_update(plan=plan, actor=world.actor("api_maintainer"), quota_period="day")

    assert len(budget_operations()) == 1


def test_a_suspended_subscription_s_key_is_updated_and_stays_blocked(
    world, proxy_keys, approved, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        subscription_act(
            subscription=approved,
            action="suspend",
            reason="Unpaid.",
            actor=world.actor("api_maintainer"),
        )
    with django_capture_on_commit_callbacks(execute=True):
        plan_update(plan=approved.plan, actor=world.actor("api_maintainer"), budget=Decimal("2"))

    (operation,) = budget_operations()
    assert operation.state == GatewayOperation.State.SUCCEEDED
    assert [b["max_budget"] for b in updates(proxy_keys)] == [2.0]
    assert proxy_keys.received("POST", "/key/unblock") == []
    approved.refresh_from_db()
    assert approved.gateway_state == Subscription.GatewayState.DISABLED


def test_a_plan_change_to_another_budget_updates_the_key(
    world,
    proxy_keys,
    approved,
    django_capture_on_commit_callbacks,
):
    api = approved.api
    pro = plan_create(
        api=api,
        actor=world.actor("api_maintainer"),
        name="Pro",
        approval="manual",
        budget=Decimal("250"),
        quota_period="week",
    )
    with django_capture_on_commit_callbacks(execute=True):
        subscription_change_plan_request(
            subscription=approved, plan=pro, actor=world.actor("app_developer")
        )
    assert budget_operations() == []  # the old plan holds until the change is decided

    with django_capture_on_commit_callbacks(execute=True):
        subscription_change_plan_decide(
            subscription=approved, approve=True, actor=world.actor("api_maintainer")
        )

    (operation,) = budget_operations(subscription=approved)
    assert operation.state == GatewayOperation.State.SUCCEEDED
    token = approved.credentials.get().gateway_key_id
    assert updates(proxy_keys) == [{"key": token, "max_budget": 250.0, "budget_duration": "7d"}]


def test_a_plan_change_between_equal_budgets_writes_nothing(
    world,
    proxy_keys,
    approved,
    django_capture_on_commit_callbacks,
):
    api = approved.api
    twin = plan_create(
        api=api,
        actor=world.actor("api_maintainer"),
        name="Twin",
        approval="automatic",
        budget=Decimal("10.00"),
        quota_period="month",
        rate_limit=3,
    )
    with django_capture_on_commit_callbacks(execute=True):
        changed = subscription_change_plan_request(
            subscription=approved, plan=twin, actor=world.actor("app_developer")
        )

    assert changed.plan == twin
    assert budget_operations() == []
    assert updates(proxy_keys) == []


def test_aws_backed_plans_get_no_budget_operations(
    world, aws_gateway, django_capture_on_commit_callbacks
):
    gateway = aws_gateway()
    subscription = subscription_request(
        application=world.application,
        api=gateway.api,
        plan=gateway.gold,
        actor=world.actor("app_developer"),
    )
    with django_capture_on_commit_callbacks(execute=True):
        subscription = subscription_act(
            subscription=subscription, action="approve", actor=world.actor("api_maintainer")
        )
    assert subscription.credentials.get().gateway_key_id

    with django_capture_on_commit_callbacks(execute=True):
        plan_update(
            plan=gateway.gold,
            actor=world.actor("api_maintainer"),
            budget=Decimal("40"),
            quota_period="month",
        )

    assert budget_operations() == []
    assert set(
        GatewayOperation.objects.filter(subscription=subscription).values_list("action", flat=True)
    ) == {GatewayOperation.Action.PROVISION}


def test_a_proxy_that_is_down_gets_the_update_on_a_retry(
    world, proxy_keys, approved, django_capture_on_commit_callbacks, eager_retries, settings
):
    settings.PROVISION_RETRY_BASE_DELAY = 0
    proxy_keys.add(
        "POST",
        "/key/update",
        Reply.json({"error": {"message": "db unavailable"}}, status=503),
        Reply.json_file(FIXTURES / "key_update.json"),
    )

    with django_capture_on_commit_callbacks(execute=True):
        plan_update(plan=approved.plan, actor=world.actor("api_maintainer"), budget=Decimal("40"))

    (operation,) = budget_operations()
    assert (operation.state, operation.attempts, operation.last_error) == ("succeeded", 2, "")
    first, second = updates(proxy_keys)
    assert (
        first
        == second
        == {
            "key": approved.credentials.get().gateway_key_id,
            "max_budget": 40.0,
            "budget_duration": "30d",
        }
    )
    # Delivered again after it succeeded: taken by nobody, nothing sent.
    assert provisioning.operation_execute(operation.pk) is None
    assert len(updates(proxy_keys)) == 2


def test_a_refused_update_fails_visibly_until_a_provider_retries(
    world, proxy_keys, approved, django_capture_on_commit_callbacks
):
    proxy_keys.add(
        "POST",
        "/key/update",
        Reply.json({"error": {"message": "Key not found", "code": "404"}}, status=404),
        Reply.json_file(FIXTURES / "key_update.json"),
    )
    with django_capture_on_commit_callbacks(execute=True):
        plan_update(plan=approved.plan, actor=world.actor("api_maintainer"), budget=Decimal("40"))

    (operation,) = budget_operations()
    assert (operation.state, operation.attempts) == ("failed", 1)
    assert "404" in operation.last_error
    approved.refresh_from_db()
    assert approved.gateway_state == Subscription.GatewayState.FAILED

    # The plan changes again meanwhile: the retry sets what the plan says now.
    plan_update(plan=approved.plan, actor=world.actor("api_maintainer"), budget=Decimal("55"))
    with django_capture_on_commit_callbacks(execute=True):
        provisioning.operation_retry(operation=operation, actor=world.actor("api_maintainer"))

    operation.refresh_from_db()
    assert operation.state == GatewayOperation.State.SUCCEEDED
    assert [b["max_budget"] for b in updates(proxy_keys)] == [40.0, 55.0]
    approved.refresh_from_db()
    assert approved.gateway_state == Subscription.GatewayState.ACTIVE
    assert Plan.objects.get(pk=approved.plan_id).budget == Decimal("55")
