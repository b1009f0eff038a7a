"""Provisioning: carrying subscription decisions onto the gateway through an outbox.

A decision writes GatewayOperation rows in its own transaction (``enqueue``);
after commit a worker runs each one (``operation_execute``). Operations on one
key run in the order they were made. Running one twice does no harm: the
gateway key is named after the portal key's lookup id, so a provision that
crashed half-way finds its key instead of making a second one. Throttling and
connection faults are retried with backoff and jitter; anything else fails
visibly, with its error, until someone presses retry.
"""

import logging
import random
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from tenants.actors import Actor
from tenants.errors import Conflict, NotAllowed
from tenants.sealing import seal, unseal
from tenants.services.audit import audit_record

from ..gateways import GatewayError, adapter_for
from ..models import Credential, GatewayConnection, GatewayOperation, Plan, Subscription

logger = logging.getLogger(__name__)

KEY_CAPABLE = {GatewayConnection.Kind.AWS_REST, GatewayConnection.Kind.LITELLM}
# How long a running operation is its taker's. A worker that died mid-run leaves its
# operation running; past this lease another taker may run it again. Longer than the
# Celery hard time limit (portal/celery.py, 360 s), which kills a task still running, so
# a lease never lapses under an attempt still in flight.
RUNNING_LEASE = timedelta(minutes=10)
# Gateways whose keys carry a spending budget; AWS usage plans count requests, not money,
# so a plan's budget does not reach them.
BUDGETED = {GatewayConnection.Kind.LITELLM}


class OperationDeferred(Exception):
    """An earlier operation on the same key has not finished; try again later."""


def gateway_target(subscription: Subscription) -> GatewayConnection | None:
    """The connection that should hold the subscription's keys, if any."""
    connection = subscription.api.connection
    if connection is None or connection.kind not in KEY_CAPABLE:
        return None
    if connection.kind == GatewayConnection.Kind.AWS_REST and not subscription.plan.gateway_plan_id:
        return None  # a plan not bound to a usage plan gives the key nothing to attach to
    return connection


def budget_terms(plan: Plan) -> tuple[float | None, str | None]:
    """What a budgeted key is given of its plan: USD and the period it resets after
    (None: the key's lifetime), or (None, None) for a plan without a budget."""
    if plan.budget is None:
        return None, None
    return float(plan.budget), plan.quota_period or None


def budget_update_enqueue(*, subscription: Subscription) -> int:
    """Record a budget update for each key the gateway holds of the subscription, when
    its API is served through a gateway whose keys carry budgets. Returns how many."""
    connection = subscription.api.connection
    if connection is None or connection.kind not in BUDGETED:
        return 0
    if subscription.state not in (Subscription.State.APPROVED, Subscription.State.SUSPENDED):
        return 0
    written = 0
    for credential in keys_in_force(subscription):
        written += bool(
            enqueue(
                subscription=subscription,
                credential=credential,
                action=GatewayOperation.Action.SET_BUDGET,
            )
        )
    return written


def keys_in_force(subscription: Subscription):
    """Keys the gateway should hold: not revoked, and not replaced past their grace (the
    revoke at the end of the grace removed those from the gateway, or is about to)."""
    return subscription.credentials.filter(revoked_at__isnull=True).exclude(
        grace_until__lte=timezone.now()
    )


def in_force(credential: Credential) -> bool:
    """``keys_in_force`` for one key already loaded."""
    return credential.revoked_at is None and (
        credential.grace_until is None or credential.grace_until > timezone.now()
    )


def key_name(credential: Credential) -> str:
    return f"portico-{credential.lookup_id}"


def enqueue(
    *,
    subscription: Subscription,
    credential: Credential,
    action: str,
    value: str = "",
    not_before=None,
) -> GatewayOperation | None:
    """Record an operation for after commit (inside the caller's transaction)."""
    connection = gateway_target(subscription)
    if connection is None:
        return None
    operation = GatewayOperation.objects.create(
        organisation=subscription.provider,
        connection=connection,
        subscription=subscription,
        credential=credential,
        action=action,
        sealed_value=seal(value) if value else "",
        not_before=not_before,
    )
    if action in (GatewayOperation.Action.PROVISION, GatewayOperation.Action.ENABLE):
        Subscription.objects.filter(pk=subscription.pk).update(
            gateway_state=Subscription.GatewayState.PROVISIONING
        )
        subscription.gateway_state = Subscription.GatewayState.PROVISIONING
    if not_before is None:
        _run_after_commit(operation.pk)
    return operation


def _run_after_commit(operation_id: int) -> None:
    from ..tasks import execute_operation

    transaction.on_commit(lambda: execute_operation.delay(operation_id))


def retry_delay(attempt: int) -> float:
    """Exponential backoff with full jitter, capped."""
    base = settings.PROVISION_RETRY_BASE_DELAY
    return random.uniform(0, min(600.0, base * (2**attempt)))  # noqa: S311 - jitter only


def _takeable(now) -> Q:
    """Pending, or running under a lease that lapsed (its taker died). A running row
    without a start predates leases and counts as lapsed."""
    running = Q(state=GatewayOperation.State.RUNNING)
    return Q(state=GatewayOperation.State.PENDING) | (
        running & (Q(started_at__lt=now - RUNNING_LEASE) | Q(started_at__isnull=True))
    )


def _take(operation_id: int) -> GatewayOperation | None:
    """Claim the operation for this attempt, or None when it is not free to take.

    The claim is a row lock taken without waiting and a move to RUNNING committed before
    the gateway is called: a second delivery of the same task finds the row locked, or
    running under a live lease, and leaves it alone, so one operation runs once at a time.
    """
    now = timezone.now()
    with transaction.atomic():
        operation = (
            # Only the operation's row: a decision holding its subscription or key must not
            # make the worker skip it (and leave it to the stale sweep minutes later).
            GatewayOperation.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("credential", "subscription__plan", "subscription__api", "connection")
            .filter(_takeable(now), pk=operation_id)
            .first()
        )
        if operation is None:
            return None
        if operation.not_before and operation.not_before > timezone.now():
            return None
        # Earlier operations on the key go first, except those scheduled for later (the
        # revoke at the end of a rotation's grace): a suspension or revocation made
        # meanwhile must reach the gateway now, not when the grace period is over.
        earlier = (
            GatewayOperation.objects.filter(
                credential=operation.credential,
                state__in=[
                    GatewayOperation.State.PENDING,
                    GatewayOperation.State.RUNNING,
                    GatewayOperation.State.FAILED,
                ],
                pk__lt=operation.pk,
            )
            .exclude(state=GatewayOperation.State.PENDING, not_before__gt=timezone.now())
            .exists()
        )
        if earlier:
            raise OperationDeferred(operation_id)
        operation.state = GatewayOperation.State.RUNNING
        operation.started_at = now
        operation.attempts += 1
        operation.save(update_fields=["state", "started_at", "attempts"])
        return operation


def operation_execute(operation_id: int) -> GatewayOperation | None:
    """Carry one operation to the gateway. Raises GatewayError (retryable) for the task
    to retry; records anything final on the row."""
    operation = _take(operation_id)
    if operation is None:
        return None
    credential, subscription = operation.credential, operation.subscription
    try:
        adapter = adapter_for(operation.connection)
        new_state = _perform(adapter, operation, credential, subscription)
    except GatewayError as exc:
        final = not exc.retryable or operation.attempts >= settings.PROVISION_MAX_ATTEMPTS
        _record_failure(operation, exc.message, final=final)
        if final:
            return operation
        raise
    with transaction.atomic():
        operation.state = GatewayOperation.State.SUCCEEDED
        operation.finished_at = timezone.now()
        operation.sealed_value = ""
        operation.last_error = ""
        operation.save(update_fields=["state", "finished_at", "sealed_value", "last_error"])
        if new_state:
            Subscription.objects.filter(pk=subscription.pk).update(gateway_state=new_state)
        audit_record(
            actor=Actor.system(),
            organisation=operation.organisation,
            action=f"gateway.key_{operation.action}",
            target=subscription,
            after={
                "key": credential.display_prefix,
                "operation": operation.pk,
                "gateway_key_id": credential.gateway_key_id,
            },
        )
    logger.info("gateway operation %s (%s) succeeded", operation.pk, operation.action)
    return operation


def _perform(adapter, operation, credential, subscription) -> str:
    """Do the operation; returns the subscription's gateway state afterwards ('' = keep)."""
    states = Subscription.GatewayState
    action = operation.action
    if action == GatewayOperation.Action.PROVISION:
        if credential.revoked_at is not None:
            return ""  # revoked before it reached the gateway: the revoke op follows
        value = unseal(operation.sealed_value) if operation.sealed_value else ""
        if not value and not credential.gateway_key_id:
            raise GatewayError("The key's value is no longer available; rotate the key.")
        budget = {}
        if operation.connection.kind in BUDGETED and subscription.plan.budget is not None:
            amount, period = budget_terms(subscription.plan)
            budget = {"budget": amount, "budget_period": period}
        result = adapter.provision_key(
            name=key_name(credential),
            value=value,
            plan_ids=[subscription.plan.gateway_plan_id]
            if subscription.plan.gateway_plan_id
            else [],
            models=[subscription.api.external_id] if subscription.api.kind == "ai" else None,
            key_id=credential.gateway_key_id,
            **budget,
        )
        Credential.objects.filter(pk=credential.pk).update(gateway_key_id=result.external_id)
        credential.gateway_key_id = result.external_id
        if subscription.state == Subscription.State.SUSPENDED:
            adapter.set_key_enabled(key_id=result.external_id, enabled=False)
            return states.DISABLED
        return states.ACTIVE
    if not credential.gateway_key_id:
        return ""  # never reached the gateway: nothing to change there
    if action == GatewayOperation.Action.DISABLE:
        adapter.set_key_enabled(key_id=credential.gateway_key_id, enabled=False)
        return states.DISABLED
    if action == GatewayOperation.Action.ENABLE:
        adapter.set_key_enabled(key_id=credential.gateway_key_id, enabled=True)
        return states.ACTIVE
    if action == GatewayOperation.Action.SET_BUDGET:
        if not in_force(credential):
            return ""  # gone from the gateway, or about to be: no budget to set
        # The plan as it is now, not when the operation was written: of several changes
        # in a row each operation sets the latest, and a repeat sets the same again.
        amount, period = budget_terms(subscription.plan)
        adapter.set_key_budget(
            key_id=credential.gateway_key_id, budget=amount, budget_period=period
        )
        if subscription.gateway_state != states.FAILED:
            return ""
        # A failure marked the subscription (this operation's, now retried): the key's
        # earlier operations all went first, so it is where the subscription's state says.
        suspended = subscription.state == Subscription.State.SUSPENDED
        return states.DISABLED if suspended else states.ACTIVE
    adapter.revoke_key(key_id=credential.gateway_key_id)
    live = subscription.credentials.filter(revoked_at__isnull=True, replaced_at__isnull=True)
    return "" if live.exists() else states.REMOVED


def _record_failure(operation: GatewayOperation, message: str, *, final: bool) -> None:
    with transaction.atomic():
        operation.last_error = message[:2000]
        operation.state = GatewayOperation.State.FAILED if final else GatewayOperation.State.PENDING
        operation.save(update_fields=["last_error", "state"])
        if final:
            Subscription.objects.filter(pk=operation.subscription_id).update(
                gateway_state=Subscription.GatewayState.FAILED
            )
            audit_record(
                actor=Actor.system(),
                organisation=operation.organisation,
                action="gateway.operation_failed",
                target=operation.subscription,
                after={
                    "operation": operation.pk,
                    "action": operation.action,
                    "error": operation.last_error,
                },
            )
    logger.warning("gateway operation %s failed (final=%s): %s", operation.pk, final, message)


@transaction.atomic
def operation_retry(*, operation: GatewayOperation, actor: Actor) -> GatewayOperation:
    """Put a failed operation back in the queue (the API's maintainers and admins)."""
    from .subscriptions import is_provider

    if not is_provider(actor=actor, api=operation.subscription.api):
        raise NotAllowed("Only maintainers of the API's team and its admins retry its keys.")
    operation = GatewayOperation.objects.select_for_update().get(pk=operation.pk)
    if operation.state != GatewayOperation.State.FAILED:
        raise Conflict("Only failed operations can be retried.")
    operation.state = GatewayOperation.State.PENDING
    operation.attempts = 0
    operation.save(update_fields=["state", "attempts"])
    if operation.action in (GatewayOperation.Action.PROVISION, GatewayOperation.Action.ENABLE):
        Subscription.objects.filter(pk=operation.subscription_id).update(
            gateway_state=Subscription.GatewayState.PROVISIONING
        )
    audit_record(
        actor=actor,
        organisation=operation.organisation,
        action="gateway.operation_retried",
        target=operation.subscription,
        after={"operation": operation.pk},
    )
    _run_after_commit(operation.pk)
    return operation


def due_operation_ids(limit: int = 500) -> list[int]:
    """Operations whose time has come: deferred revokes at the end of a grace period, any
    whose delivery after commit was lost, and running ones whose taker died."""
    now = timezone.now()
    stale = now - timedelta(minutes=10)
    pending = Q(state=GatewayOperation.State.PENDING) & (
        Q(not_before__lte=now) | Q(not_before__isnull=True, created_at__lt=stale)
    )
    lapsed = _takeable(now) & Q(state=GatewayOperation.State.RUNNING)
    return list(
        GatewayOperation.objects.filter(pending | lapsed)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
