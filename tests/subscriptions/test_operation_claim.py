"""An outbox operation runs once however often its task is delivered: taking it is a claim
(its row locked without waiting, then RUNNING under a lease, committed before the gateway
is called), so a second taker meanwhile gets nothing; a RUNNING operation whose lease
lapsed (its worker died) is taken again, by a task or by the sweep."""

import threading
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from apis.models import GatewayOperation, Subscription
from apis.services import provisioning
from apis.services.subscriptions import subscription_act, subscription_request
from tenants.models import AuditEvent

State = GatewayOperation.State


def pending_provision(world, gateway, monkeypatch) -> GatewayOperation:
    """An approval's provision, committed and left pending (its task not yet run)."""
    monkeypatch.setattr(provisioning, "_run_after_commit", lambda operation_id: None)
    subscription = subscription_request(
        application=world.application,
        api=gateway.api,
        plan=gateway.gold,
        actor=world.actor("app_developer"),
    )
    subscription = subscription_act(
        subscription=subscription, action="approve", actor=world.actor("api_maintainer")
    )
    operation = GatewayOperation.objects.get(subscription=subscription)
    assert operation.state == State.PENDING
    return operation


def in_thread(call, results: list, index: int) -> threading.Thread:
    def run():
        try:
            results[index] = call()
        except Exception as exc:  # the test inspects what the thread met
            results[index] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.mark.django_db(transaction=True)
def test_a_second_taker_while_the_first_is_at_the_gateway_gets_nothing(
    world, aws_gateway, proxy, monkeypatch
):
    gateway = aws_gateway(endpoint=proxy.url)
    operation = pending_provision(world, gateway, monkeypatch)
    # The first taker's call to create the key waits at the gateway until released.
    proxy.add(r"^POST /apikeys$", "hold")
    results: list[object] = [None, None]

    first = in_thread(lambda: provisioning.operation_execute(operation.pk), results, 0)
    assert proxy.held.wait(timeout=30)
    # The same task delivered twice: the duplicate runs while the first is in flight.
    second = in_thread(lambda: provisioning.operation_execute(operation.pk), results, 1)
    second.join(timeout=30)
    assert results[1] is None
    running = GatewayOperation.objects.get(pk=operation.pk)
    assert (running.state, running.attempts) == (State.RUNNING, 1)
    assert running.started_at is not None

    proxy.release.set()
    first.join(timeout=30)
    assert not first.is_alive()
    assert isinstance(results[0], GatewayOperation), results[0]
    done = GatewayOperation.objects.get(pk=operation.pk)
    assert (done.state, done.attempts) == (State.SUCCEEDED, 1)
    assert proxy.count(r"^POST /apikeys$") == 1
    assert len(gateway.api_keys()) == 1
    assert AuditEvent.objects.filter(action="gateway.key_provision").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_takers_at_once_run_the_operation_once(world, aws_gateway, monkeypatch):
    gateway = aws_gateway()
    operation = pending_provision(world, gateway, monkeypatch)
    barrier = threading.Barrier(2)
    results: list[object] = [None, None]

    def take():
        barrier.wait(timeout=10)
        return provisioning.operation_execute(operation.pk)

    threads = [in_thread(take, results, index) for index in range(2)]
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(type(r).__name__ for r in results) == ["GatewayOperation", "NoneType"], results
    done = GatewayOperation.objects.get(pk=operation.pk)
    assert (done.state, done.attempts) == (State.SUCCEEDED, 1)
    assert len(gateway.api_keys()) == 1
    assert AuditEvent.objects.filter(action="gateway.key_provision").count() == 1


def test_a_running_operation_under_its_lease_is_left_alone(world, aws_gateway, monkeypatch):
    gateway = aws_gateway()
    operation = pending_provision(world, gateway, monkeypatch)
    taken_at = timezone.now() - provisioning.RUNNING_LEASE / 2
    GatewayOperation.objects.filter(pk=operation.pk).update(
        state=State.RUNNING, started_at=taken_at, attempts=1
    )

    assert operation.pk not in provisioning.due_operation_ids()
    assert provisioning.operation_execute(operation.pk) is None

    operation.refresh_from_db()
    assert (operation.state, operation.attempts, operation.started_at) == (
        State.RUNNING,
        1,
        taken_at,
    )
    assert gateway.api_keys() == []


@pytest.mark.parametrize("started", ["lapsed", "unknown"])
def test_a_running_operation_whose_lease_lapsed_is_taken_again(
    world, aws_gateway, monkeypatch, started
):
    gateway = aws_gateway()
    operation = pending_provision(world, gateway, monkeypatch)
    # Its worker died mid-run (or took it before leases were kept).
    taken_at = (
        timezone.now() - provisioning.RUNNING_LEASE - timedelta(seconds=1)
        if started == "lapsed"
        else None
    )
    GatewayOperation.objects.filter(pk=operation.pk).update(
        state=State.RUNNING, started_at=taken_at, attempts=1
    )

    # The sweep finds it, and the task it starts runs it.
    assert operation.pk in provisioning.due_operation_ids()
    provisioning.operation_execute(operation.pk)

    operation.refresh_from_db()
    assert (operation.state, operation.attempts) == (State.SUCCEEDED, 2)
    assert operation.started_at > timezone.now() - provisioning.RUNNING_LEASE
    [key] = gateway.api_keys()
    operation.credential.refresh_from_db()
    assert operation.credential.gateway_key_id == key["id"]
    subscription = Subscription.objects.get(pk=operation.subscription_id)
    assert subscription.gateway_state == Subscription.GatewayState.ACTIVE
