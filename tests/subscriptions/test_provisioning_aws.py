"""Provisioning onto AWS API Gateway (moto): what each decision leaves on the gateway, the
grace period of a rotation, a gateway that is down and comes back, an answer lost on the
way back, a refusal that fails visibly until someone retries, and plan changes."""

import datetime
import json
import threading
from decimal import Decimal

import pytest
import time_machine
from django.db import connections, transaction
from django.utils import timezone

from apis.models import GatewayOperation, Subscription
from apis.services import keys, provisioning
from apis.services.subscriptions import (
    subscription_act,
    subscription_change_plan_decide,
    subscription_change_plan_request,
    subscription_request,
)
from apis.tasks import run_due_operations
from tenants.errors import NotAllowed
from tenants.models import AuditEvent

GatewayState = Subscription.GatewayState


class Flow:
    """Decisions on one subscription, each committed (its callbacks run) before the next."""

    def __init__(self, world, gateway, capture):
        self.world, self.gateway, self.capture = world, gateway, capture
        self.subscription = None

    def request(self, plan=None):
        with self.capture(execute=True):
            self.subscription = subscription_request(
                application=self.world.application,
                api=self.gateway.api,
                plan=plan or self.gateway.gold,
                actor=self.world.actor("app_developer"),
            )
        return self.subscription

    def act(self, action, by="api_maintainer", reason="Stated reason."):
        with self.capture(execute=True):
            self.subscription = subscription_act(
                subscription=self.subscription,
                action=action,
                actor=self.world.actor(by),
                reason=reason,
            )
        self.subscription.refresh_from_db()
        return self.subscription

    def approved(self):
        self.request()
        self.act("approve", reason="")
        credential = self.subscription.credentials.get()
        value = keys.credential_reveal(
            credential=credential, actor=self.world.actor("app_developer")
        )
        credential.refresh_from_db()
        return credential, value

    def operations(self):
        return list(
            GatewayOperation.objects.filter(subscription=self.subscription).values_list(
                "action", "state"
            )
        )


@pytest.fixture
def flow(world, django_capture_on_commit_callbacks):
    return lambda gateway: Flow(world, gateway, django_capture_on_commit_callbacks)


def test_an_approval_puts_the_portals_key_on_its_usage_plan(aws_gateway, flow, proxy):
    gateway = aws_gateway(endpoint=proxy.url)
    steps = flow(gateway)
    steps.request()
    assert gateway.api_keys() == []
    sent = len(proxy.requests)

    steps.act("approve", reason="")

    credential = steps.subscription.credentials.get()
    value = keys.credential_reveal(credential=credential, actor=steps.world.actor("app_developer"))
    [key] = gateway.api_keys()
    assert key["value"] == value
    assert key["name"] == f"portico-{credential.lookup_id}"
    assert key["enabled"] is True
    assert gateway.plan_key_ids(gateway.gold) == [key["id"]]
    assert gateway.plan_key_ids(gateway.silver) == []
    credential.refresh_from_db()
    assert credential.gateway_key_id == key["id"]
    assert steps.subscription.gateway_state == GatewayState.ACTIVE
    operation = GatewayOperation.objects.get(subscription=steps.subscription)
    assert (operation.state, operation.attempts, operation.sealed_value) == ("succeeded", 1, "")
    event = AuditEvent.objects.get(action="gateway.key_provision")
    assert event.actor_type == "system"
    assert event.after["gateway_key_id"] == key["id"]
    # Two calls: create the key, attach it. Nothing lists the account's keys.
    assert [line.split("/")[1] for line in proxy.requests[sent:]] == ["apikeys", "usageplans"]
    assert proxy.requests[sent:][0] == "POST /apikeys"


def test_a_plan_s_budget_is_not_for_aws_and_the_key_is_made_as_usual(aws_gateway, flow):
    gateway = aws_gateway()
    gateway.gold.budget = Decimal("40.00")
    gateway.gold.quota_period = "month"
    gateway.gold.save(update_fields=["budget", "quota_period"])
    steps = flow(gateway)
    steps.request()

    steps.act("approve", reason="")

    [key] = gateway.api_keys()
    assert gateway.plan_key_ids(gateway.gold) == [key["id"]]
    assert steps.subscription.gateway_state == GatewayState.ACTIVE
    operation = GatewayOperation.objects.get(subscription=steps.subscription)
    assert (operation.state, operation.last_error) == ("succeeded", "")


def test_suspend_resume_and_revoke_reach_the_gateway(aws_gateway, flow):
    gateway = aws_gateway()
    steps = flow(gateway)
    _, value = steps.approved()

    assert steps.act("suspend").gateway_state == GatewayState.DISABLED
    assert [k["enabled"] for k in gateway.api_keys()] == [False]
    assert steps.act("resume").gateway_state == GatewayState.ACTIVE
    assert [k["enabled"] for k in gateway.api_keys()] == [True]
    steps.act("suspend")
    # Revoked straight from suspension: the key goes without being enabled first.
    assert steps.act("revoke").gateway_state == GatewayState.REMOVED
    assert gateway.api_keys() == []
    assert steps.operations() == [
        ("provision", "succeeded"),
        ("disable", "succeeded"),
        ("enable", "succeeded"),
        ("disable", "succeeded"),
        ("revoke", "succeeded"),
    ]
    assert keys.credential_authenticate(value) is None


def test_unsubscribing_removes_the_key(aws_gateway, flow):
    gateway = aws_gateway()
    steps = flow(gateway)
    steps.approved()
    assert steps.act("unsubscribe", by="app_maintainer", reason="").gateway_state == (
        GatewayState.REMOVED
    )
    assert gateway.api_keys() == []


def test_rotation_provisions_the_new_key_and_removes_the_old_after_the_grace(
    aws_gateway, flow, django_capture_on_commit_callbacks
):
    gateway = aws_gateway()
    gateway.gold.key_grace_hours = 6
    gateway.gold.save(update_fields=["key_grace_hours"])
    steps = flow(gateway)
    start = datetime.datetime(2026, 5, 4, 8, 0, tzinfo=datetime.UTC)
    with time_machine.travel(start, tick=False) as traveller:
        old, old_value = steps.approved()
        with django_capture_on_commit_callbacks(execute=True):
            new, new_value = keys.credential_rotate(
                credential=old, actor=steps.world.actor("app_developer")
            )
        assert sorted(k["value"] for k in gateway.api_keys()) == sorted([old_value, new_value])
        new.refresh_from_db()
        assert sorted(gateway.plan_key_ids(gateway.gold)) == sorted(
            [old.gateway_key_id, new.gateway_key_id]
        )
        deferred = GatewayOperation.objects.get(credential=old, action="revoke")
        assert deferred.not_before == start + datetime.timedelta(hours=6)

        traveller.move_to(deferred.not_before - datetime.timedelta(seconds=1))
        run_due_operations()
        assert len(gateway.api_keys()) == 2
        assert keys.credential_authenticate(old_value) == old

        traveller.move_to(deferred.not_before + datetime.timedelta(seconds=1))
        run_due_operations()
        [key] = gateway.api_keys()
        assert key["value"] == new_value
        assert keys.credential_authenticate(old_value) is None
        deferred.refresh_from_db()
        assert deferred.state == "succeeded"
        steps.subscription.refresh_from_db()
        assert steps.subscription.gateway_state == GatewayState.ACTIVE
        run_due_operations()  # nothing left to do, nothing breaks
        assert len(gateway.api_keys()) == 1


@pytest.mark.parametrize("ending", ["suspend", "revoke"])
def test_a_decision_during_the_grace_reaches_the_old_key_at_once(
    aws_gateway, flow, django_capture_on_commit_callbacks, ending
):
    gateway = aws_gateway()
    steps = flow(gateway)
    old, _ = steps.approved()
    with django_capture_on_commit_callbacks(execute=True):
        keys.credential_rotate(credential=old, actor=steps.world.actor("app_developer"))

    steps.act(ending)

    if ending == "suspend":
        assert [k["enabled"] for k in gateway.api_keys()] == [False, False]
    else:
        assert gateway.api_keys() == []


def test_the_grace_s_deferred_removal_after_a_revocation_finds_the_key_gone_and_succeeds(
    aws_gateway, flow, django_capture_on_commit_callbacks
):
    gateway = aws_gateway()
    steps = flow(gateway)
    start = datetime.datetime(2026, 5, 4, 8, 0, tzinfo=datetime.UTC)
    with time_machine.travel(start, tick=False) as traveller:
        old, _ = steps.approved()
        with django_capture_on_commit_callbacks(execute=True):
            keys.credential_rotate(credential=old, actor=steps.world.actor("app_developer"))
        deferred = GatewayOperation.objects.get(credential=old, action="revoke", state="pending")
        steps.act("revoke")
        assert gateway.api_keys() == []

        traveller.move_to(deferred.not_before + datetime.timedelta(seconds=1))
        run_due_operations()
        deferred.refresh_from_db()
        assert deferred.state == "succeeded", deferred.error
        assert not GatewayOperation.objects.filter(state="failed").exists()
        assert gateway.api_keys() == []


def test_a_gateway_that_is_down_then_up_gets_one_key(
    aws_gateway, flow, proxy, fast_gateway_failures, eager_retries
):
    gateway = aws_gateway(endpoint=proxy.url)
    steps = flow(gateway)
    steps.request()
    proxy.add(r"^POST /apikeys$", "close", times=2)  # refused twice, then forwarded

    steps.act("approve", reason="")

    operation = GatewayOperation.objects.get(subscription=steps.subscription)
    assert (operation.state, operation.attempts, operation.last_error) == ("succeeded", 3, "")
    assert proxy.count(r"^POST /apikeys$") == 3
    assert len(gateway.api_keys()) == 1
    assert steps.subscription.gateway_state == GatewayState.ACTIVE


def test_an_answer_lost_on_the_way_back_still_gives_one_key(aws_gateway, flow, proxy, settings):
    settings.GATEWAY_MAX_ATTEMPTS = 3  # botocore retries the lost answer itself
    settings.GATEWAY_TIMEOUT = 5
    gateway = aws_gateway(endpoint=proxy.url)
    steps = flow(gateway)
    steps.request()
    proxy.add(r"^POST /apikeys$", "lose", times=1)
    sent = len(proxy.requests)

    steps.act("approve", reason="")

    # The first create made the key; the retry's create was refused as a duplicate value,
    # and the key was found by its name.
    assert [line for line in proxy.requests[sent:] if "apikeys" in line] == [
        "POST /apikeys",
        "POST /apikeys",
        "GET /apikeys",
    ]
    [key] = gateway.api_keys()
    credential = steps.subscription.credentials.get()
    credential.refresh_from_db()
    assert credential.gateway_key_id == key["id"]
    assert gateway.plan_key_ids(gateway.gold) == [key["id"]]
    assert steps.subscription.gateway_state == GatewayState.ACTIVE


def test_provisioning_again_finds_the_key_by_name(
    aws_gateway, flow, django_capture_on_commit_callbacks
):
    gateway = aws_gateway()
    steps = flow(gateway)
    steps.request()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        steps.subscription = subscription_act(
            subscription=steps.subscription,
            action="approve",
            actor=steps.world.actor("api_maintainer"),
        )
    credential = steps.subscription.credentials.get()
    # An earlier attempt created the key and died before the portal heard of it.
    gateway.client.create_api_key(
        name=provisioning.key_name(credential), value=credential.open_reveal(), enabled=True
    )
    for callback in callbacks:
        callback()

    [key] = gateway.api_keys()
    credential.refresh_from_db()
    assert credential.gateway_key_id == key["id"]
    assert gateway.plan_key_ids(gateway.gold) == [key["id"]]


def test_a_refusal_fails_visibly_until_a_provider_retries(
    aws_gateway, flow, proxy, fast_gateway_failures, django_capture_on_commit_callbacks
):
    gateway = aws_gateway(endpoint=proxy.url)
    steps = flow(gateway)
    steps.request()
    proxy.add(
        r"^POST /usageplans/[^/]+/keys$",
        "body",
        body=json.dumps({"message": "Invalid usage plan"}).encode(),
        status=400,
        headers={"x-amzn-ErrorType": "BadRequestException"},
    )

    steps.act("approve", reason="")

    operation = GatewayOperation.objects.get(subscription=steps.subscription)
    assert operation.state == GatewayOperation.State.FAILED
    assert operation.attempts == 1  # a refusal is not retried
    assert "BadRequestException" in operation.last_error
    assert operation.sealed_value  # kept for the retry
    assert steps.subscription.gateway_state == GatewayState.FAILED
    failed = AuditEvent.objects.get(action="gateway.operation_failed")
    assert failed.after["operation"] == operation.pk
    assert len(gateway.api_keys()) == 1  # created, but on no plan

    with pytest.raises(NotAllowed):
        provisioning.operation_retry(operation=operation, actor=steps.world.actor("app_developer"))
    with django_capture_on_commit_callbacks(execute=True):
        provisioning.operation_retry(operation=operation, actor=steps.world.actor("api_maintainer"))

    operation.refresh_from_db()
    assert (operation.state, operation.attempts, operation.sealed_value) == ("succeeded", 1, "")
    steps.subscription.refresh_from_db()
    assert steps.subscription.gateway_state == GatewayState.ACTIVE
    [key] = gateway.api_keys()
    assert gateway.plan_key_ids(gateway.gold) == [key["id"]]
    assert AuditEvent.objects.filter(action="gateway.operation_retried").count() == 1


def test_a_plan_change_moves_the_key_to_the_new_usage_plan(
    aws_gateway, flow, django_capture_on_commit_callbacks
):
    gateway = aws_gateway()
    steps = flow(gateway)
    credential, value = steps.approved()
    with django_capture_on_commit_callbacks(execute=True):
        subscription_change_plan_request(
            subscription=steps.subscription,
            plan=gateway.silver,
            actor=steps.world.actor("app_developer"),
        )
    # Until the change is decided, the key stays where it is.
    assert gateway.plan_key_ids(gateway.gold) == [credential.gateway_key_id]
    assert gateway.plan_key_ids(gateway.silver) == []

    with django_capture_on_commit_callbacks(execute=True):
        subscription_change_plan_decide(
            subscription=steps.subscription,
            approve=True,
            actor=steps.world.actor("api_maintainer"),
        )

    # AWS refuses a key on two plans of one stage: it moved, it was not copied.
    assert gateway.plan_key_ids(gateway.gold) == []
    assert gateway.plan_key_ids(gateway.silver) == [credential.gateway_key_id]
    assert [k["value"] for k in gateway.api_keys()] == [value]
    steps.subscription.refresh_from_db()
    assert steps.subscription.gateway_state == GatewayState.ACTIVE


@pytest.mark.django_db(transaction=True)
def test_an_operation_is_taken_while_its_plan_and_api_rows_are_locked(
    aws_gateway, world, monkeypatch
):
    gateway = aws_gateway()
    subscription = subscription_request(
        application=world.application,
        api=gateway.api,
        plan=gateway.gold,
        actor=world.actor("app_developer"),
    )
    # The operation is committed, and run by hand below rather than after the commit.
    monkeypatch.setattr(provisioning, "_run_after_commit", lambda operation_id: None)
    subscription = subscription_act(
        subscription=subscription, action="approve", actor=world.actor("api_maintainer")
    )
    operation = GatewayOperation.objects.get(subscription=subscription)
    locked, release = threading.Event(), threading.Event()

    def hold():
        try:
            with transaction.atomic():
                # A maintainer editing the plan or the API holds their rows meanwhile.
                type(gateway.gold).objects.select_for_update().get(pk=gateway.gold.pk)
                type(gateway.api).objects.select_for_update().get(pk=gateway.api.pk)
                locked.set()
                release.wait(timeout=30)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert locked.wait(timeout=10)
        done = provisioning.operation_execute(operation.pk)
    finally:
        release.set()
        holder.join(timeout=30)
    assert done is not None
    operation.refresh_from_db()
    assert operation.state == GatewayOperation.State.SUCCEEDED
    assert len(gateway.api_keys()) == 1
    assert timezone.now() >= operation.finished_at


def test_after_a_rotation_s_grace_decisions_leave_the_removed_old_key_alone(
    aws_gateway, flow, django_capture_on_commit_callbacks
):
    gateway = aws_gateway()
    gateway.gold.key_grace_hours = 1
    gateway.gold.save(update_fields=["key_grace_hours"])
    silver_later = gateway.silver
    steps = flow(gateway)
    start = datetime.datetime(2026, 5, 4, 8, 0, tzinfo=datetime.UTC)
    with time_machine.travel(start, tick=False) as traveller:
        old, _ = steps.approved()
        with django_capture_on_commit_callbacks(execute=True):
            new, _ = keys.credential_rotate(
                credential=old, actor=steps.world.actor("app_developer")
            )
        traveller.move_to(start + datetime.timedelta(hours=2))
        run_due_operations()
        new.refresh_from_db()
        assert [k["id"] for k in gateway.api_keys()] == [new.gateway_key_id]

        # The old key is gone from the gateway: suspending, resuming and moving plans
        # touch only the key in force, and nothing fails.
        assert steps.act("suspend").gateway_state == GatewayState.DISABLED
        assert steps.act("resume").gateway_state == GatewayState.ACTIVE
        with django_capture_on_commit_callbacks(execute=True):
            subscription_change_plan_request(
                subscription=steps.subscription,
                plan=silver_later,
                actor=steps.world.actor("app_developer"),
            )
            subscription_change_plan_decide(
                subscription=steps.subscription,
                approve=True,
                actor=steps.world.actor("api_maintainer"),
            )
        steps.subscription.refresh_from_db()
        assert steps.subscription.gateway_state == GatewayState.ACTIVE
        assert gateway.plan_key_ids(gateway.silver) == [new.gateway_key_id]
        assert not GatewayOperation.objects.filter(state=GatewayOperation.State.FAILED).exists()
        assert GatewayOperation.objects.filter(credential=old).count() == 2  # provision, revoke
