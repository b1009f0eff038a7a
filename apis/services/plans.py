"""Plans of an API: written by its maintainers."""

from django.db import transaction

from tenants.actors import Actor
from tenants.errors import Conflict, ValidationFailed
from tenants.services.audit import audit_record
from tenants.services.unique import save_unique

from ..models import Api, Plan, Subscription
from ..policies import require_team_maintainer
from .provisioning import BUDGETED, budget_terms, budget_update_enqueue

FIELDS = (
    "name",
    "description",
    "rate_limit",
    "burst_limit",
    "quota_limit",
    "quota_period",
    "approval",
    "key_grace_hours",
    "budget",
    "gateway_plan_id",
    "is_active",
)


def _state(plan: Plan) -> dict:
    state = {field: getattr(plan, field) for field in FIELDS}
    state["budget"] = str(plan.budget) if plan.budget is not None else None
    return state


def plan_validate(plan: Plan) -> None:
    """The plan's terms hold together; ``ValidationFailed`` with field errors if not."""
    if plan.quota_limit and not plan.quota_period:
        raise ValidationFailed(
            "Quota period missing.", fields={"quota_period": ["Say per day, week or month."]}
        )
    if plan.rate_limit is not None and plan.rate_limit <= 0:
        raise ValidationFailed("Bad rate.", fields={"rate_limit": ["Give a positive rate."]})
    if plan.budget is not None and plan.budget <= 0:
        raise ValidationFailed(
            "Bad budget.", fields={"budget": ["Give a positive amount, or none for no budget."]}
        )
    if plan.approval not in Plan.Approval.values:
        raise ValidationFailed("Unknown approval.", fields={"approval": ["Choose one."]})
    if plan.gateway_plan_id and plan.connection_id is None:
        plan.connection = plan.api.connection
        if plan.connection is None:
            raise ValidationFailed(
                "No gateway.",
                fields={"gateway_plan_id": ["This API did not come from a gateway connection."]},
            )


def _save(plan: Plan) -> None:
    save_unique(plan, field="name", message="This API has a plan of this name.")


@transaction.atomic
def plan_create(*, api: Api, actor: Actor, **values) -> Plan:
    require_team_maintainer(actor=actor, team=api.team)
    plan = Plan(
        api=api, organisation=api.organisation, **{k: v for k, v in values.items() if k in FIELDS}
    )
    plan_validate(plan)
    _save(plan)
    audit_record(
        actor=actor,
        organisation=api.organisation,
        action="plan.created",
        target=plan,
        after=_state(plan),
    )
    return plan


@transaction.atomic
def plan_update(*, plan: Plan, actor: Actor, **values) -> Plan:
    require_team_maintainer(actor=actor, team=plan.api.team)
    before = _state(plan)
    # The row as committed, locked until this commits: a plan change approved meanwhile
    # waits for the lock, so its subscription is either seen below or reads the new budget.
    terms = budget_terms(Plan.objects.select_for_update().get(pk=plan.pk))
    for key, value in values.items():
        if key in FIELDS:
            setattr(plan, key, value)
    plan_validate(plan)
    _save(plan)
    if budget_terms(plan) != terms:
        _update_key_budgets(plan)
    audit_record(
        actor=actor,
        organisation=plan.organisation,
        action="plan.updated",
        target=plan,
        before=before,
        after=_state(plan),
    )
    return plan


def _update_key_budgets(plan: Plan) -> None:
    """Carry a changed budget to the keys gateways already hold (LiteLLM's only)."""
    connection = plan.api.connection
    if connection is None or connection.kind not in BUDGETED:
        return
    subscriptions = plan.subscriptions.filter(
        state__in=[Subscription.State.APPROVED, Subscription.State.SUSPENDED]
    ).select_related("api__connection", "plan", "provider")
    for subscription in subscriptions:
        budget_update_enqueue(subscription=subscription)


@transaction.atomic
def plan_retire(*, plan: Plan, actor: Actor) -> Plan:
    """Plans with subscriptions are closed to new ones, never deleted."""
    require_team_maintainer(actor=actor, team=plan.api.team)
    if not plan.is_active:
        raise Conflict("This plan is already closed.")
    return plan_update(plan=plan, actor=actor, is_active=False)
