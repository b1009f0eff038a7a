"""Two people deciding at once make one decision: the subscription row is locked, so
the second sees the first's result and is refused. Each thread has its own database
connection and the data is committed (transactional tests)."""

import threading

import pytest
from django.db import connections

from apis.models import Credential, GatewayOperation, Subscription
from apis.services.subscriptions import subscription_act, subscription_request
from tenants.errors import Conflict
from tenants.models import AuditEvent

pytestmark = pytest.mark.django_db(transaction=True)


def race(*calls):
    """Run the calls in threads that start together; returns each one's result or error."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait(timeout=10)
            results[index] = call()
        except Exception as exc:  # the test inspects what each thread met
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return results


def test_two_maintainers_approving_at_once_make_one_approval(world, aws_gateway):
    gateway = aws_gateway()
    subscription = subscription_request(
        application=world.application,
        api=gateway.api,
        plan=gateway.gold,
        actor=world.actor("app_developer"),
    )

    def approve(name):
        return lambda: subscription_act(
            subscription=Subscription.objects.get(pk=subscription.pk),
            action="approve",
            actor=world.actor(name),
        )

    results = race(approve("api_maintainer"), approve("second_maintainer"))

    approved = [r for r in results if isinstance(r, Subscription)]
    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(approved) == 1, results
    assert len(refused) == 1, results
    assert refused[0].message == "An approved subscription cannot be approved."
    subscription.refresh_from_db()
    assert subscription.state == Subscription.State.APPROVED
    assert subscription.decided_by_id == approved[0].decided_by_id
    assert (
        AuditEvent.objects.filter(
            action="subscription.approved", target_id=str(subscription.pk)
        ).count()
        == 1
    )
    assert Credential.objects.filter(subscription=subscription).count() == 1
    operations = GatewayOperation.objects.filter(subscription=subscription)
    assert [(o.action, o.state) for o in operations] == [("provision", "succeeded")]
    # The operation ran after the winner's commit: one key on the gateway, on its plan.
    assert subscription.gateway_state == Subscription.GatewayState.ACTIVE
    [key] = gateway.api_keys()
    assert gateway.plan_key_ids(gateway.gold) == [key["id"]]


def test_two_requests_for_the_same_application_at_once_make_one_subscription(world):
    def ask(name):
        return lambda: subscription_request(
            application=world.application,
            api=world.api,
            plan=world.manual,
            actor=world.actor(name),
        )

    results = race(ask("app_developer"), ask("app_maintainer"))

    assert sorted(type(r).__name__ for r in results) == ["Conflict", "Subscription"], results
    assert Subscription.objects.filter(application=world.application).count() == 1
    assert AuditEvent.objects.filter(action="subscription.requested").count() == 1


def test_approve_and_cancel_at_once_end_in_one_state(world):
    subscription = subscription_request(
        application=world.application,
        api=world.api,
        plan=world.manual,
        actor=world.actor("app_developer"),
    )

    def move(action, name):
        return lambda: subscription_act(
            subscription=Subscription.objects.get(pk=subscription.pk),
            action=action,
            actor=world.actor(name),
        )

    results = race(move("approve", "api_maintainer"), move("cancel", "app_maintainer"))

    [winner] = [r for r in results if isinstance(r, Subscription)]
    [loser] = [r for r in results if isinstance(r, Conflict)]
    subscription.refresh_from_db()
    assert subscription.state == winner.state
    keys = Credential.objects.filter(subscription=subscription).count()
    assert keys == (1 if winner.state == Subscription.State.APPROVED else 0)
    moves = AuditEvent.objects.filter(target_id=str(subscription.pk)).exclude(
        action="subscription.requested"
    )
    assert [e.action for e in moves if e.action.startswith("subscription.")] == [
        f"subscription.{winner.state}"
    ]
    assert loser.message
