"""Subscriptions: one table of transitions, one service that applies them.

Consumers (developers and maintainers of the application's team, and their
organisation's admins) ask, cancel, change plan and may end their own
subscription. Providers (maintainers of the API's team and the API
organisation's admins) approve, reject, suspend, resume and revoke. Nobody
decides their own request. Every move locks the subscription row, so two
people deciding at once make one decision.
"""

from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from tenants.actors import Actor
from tenants.errors import Conflict, NotAllowed, ValidationFailed
from tenants.models import Membership, Team, TeamMembership
from tenants.roles import OrgRole, TeamRole
from tenants.services.audit import audit_record

from .. import selectors
from ..models import Api, Application, GatewayOperation, Plan, Subscription
from ..policies import can_manage_api
from . import keys, provisioning
from .events import emit
from .subscription_notices import notify_subscription

State = Subscription.State

CONSUMER, PROVIDER = "consumer", "provider"


@dataclass(frozen=True)
class Move:
    to: str
    side: str
    needs_reason: bool = False


TRANSITIONS: dict[tuple[str, str], Move] = {
    (State.PENDING, "approve"): Move(State.APPROVED, PROVIDER),
    (State.PENDING, "reject"): Move(State.REJECTED, PROVIDER, needs_reason=True),
    (State.PENDING, "cancel"): Move(State.CANCELLED, CONSUMER),
    (State.APPROVED, "suspend"): Move(State.SUSPENDED, PROVIDER, needs_reason=True),
    (State.SUSPENDED, "resume"): Move(State.APPROVED, PROVIDER),
    (State.APPROVED, "revoke"): Move(State.REVOKED, PROVIDER, needs_reason=True),
    # Ending a suspended subscription must not need a resume, which would enable its keys.
    (State.SUSPENDED, "revoke"): Move(State.REVOKED, PROVIDER, needs_reason=True),
    # The consumer ends its own subscription; its keys stop working at once.
    (State.APPROVED, "unsubscribe"): Move(State.CANCELLED, CONSUMER),
    (State.SUSPENDED, "unsubscribe"): Move(State.CANCELLED, CONSUMER),
}
ACTIONS = sorted({action for _, action in TRANSITIONS})
PAST = {
    "approve": "approved",
    "reject": "rejected",
    "cancel": "cancelled",
    "suspend": "suspended",
    "resume": "resumed",
    "revoke": "revoked",
    "unsubscribe": "ended",
}
CLOSED_TO_NEW = {"deprecated", "retired", "blocked", "draft", ""}


def is_consumer(*, actor: Actor, application: Application) -> bool:
    """Developers and maintainers of the application's team, and its organisation's admins."""
    if actor.kind == "system" or actor.is_platform_staff:
        return True
    user = actor.user
    role = (
        Membership.objects.filter(organisation_id=application.organisation_id, user=user)
        .values_list("role", flat=True)
        .first()
    )
    if role is None:
        return False
    if OrgRole.at_least(role, OrgRole.ADMIN):
        return True
    return TeamMembership.objects.filter(
        team_id=application.team_id,
        user=user,
        role__in=[TeamRole.MAINTAINER, TeamRole.DEVELOPER],
    ).exists()


def is_provider(*, actor: Actor, api: Api) -> bool:
    if actor.kind == "system" or actor.is_platform_staff:
        return True
    return can_manage_api(user=actor.user, api=api)


def _payload(subscription: Subscription) -> dict:
    return {
        "state": subscription.state,
        "plan": subscription.plan.name,
        "application": subscription.application.name,
        "api": f"{subscription.api.organisation.slug}/{subscription.api.slug}",
    }


@transaction.atomic
def subscription_request(
    *, application: Application, api: Api, plan: Plan, reason: str = "", actor: Actor
) -> Subscription:
    """Ask for ``plan`` of ``api`` for ``application``; automatic plans approve at once."""
    if not is_consumer(actor=actor, application=application):
        raise NotAllowed("Only developers and maintainers of the application's team subscribe.")
    if (
        actor.user is not None
        and not selectors.api_list_visible(user=actor.user).filter(pk=api.pk).exists()
    ):
        raise NotAllowed("You cannot see this API.")
    if plan.api_id != api.pk or not plan.is_active:
        raise ValidationFailed("Unknown plan.", fields={"plan": ["Choose a plan of this API."]})
    if api.current_state in CLOSED_TO_NEW:
        raise Conflict(
            f"{api.name} takes no new subscriptions while its current version is "
            f"{api.current_state or 'unpublished'}."
        )
    # Lock the team's row so two requests at once respect the cap: one row, where locking
    # every application of the team cost a request more the more applications it had.
    list(Team.objects.select_for_update().filter(pk=application.team_id).values_list("pk"))
    pending = Subscription.objects.filter(
        application__team_id=application.team_id, state=State.PENDING
    ).count()
    # The cap keeps inboxes sane; an automatic plan's request waits in nobody's inbox.
    if plan.approval == Plan.Approval.MANUAL and pending >= settings.SUBSCRIPTION_PENDING_LIMIT:
        raise Conflict(
            f"Your team has {pending} requests waiting; wait for decisions or cancel some "
            "before asking for more."
        )
    try:
        with transaction.atomic():
            subscription = Subscription.objects.create(
                application=application,
                organisation=application.organisation,
                api=api,
                provider=api.organisation,
                plan=plan,
                reason=reason.strip()[:2000],
                requested_by=actor.user,
            )
    except IntegrityError as exc:
        raise Conflict(
            f"{application.name} already has a subscription to {api.name} that is pending, "
            "approved or suspended."
        ) from exc
    audit_record(
        actor=actor,
        organisation=application.organisation,
        action="subscription.requested",
        target=subscription,
        after=_payload(subscription),
    )
    emit(
        subscription=subscription,
        event="subscription.requested",
        extra={"reason": subscription.reason},
    )
    if plan.approval == Plan.Approval.AUTOMATIC:
        return _apply(
            subscription, "approve", Actor.system(), reason="Approved automatically by the plan."
        )
    notify_subscription(subscription, "requested")
    return subscription


@transaction.atomic
def subscription_act(
    *, subscription: Subscription, action: str, actor: Actor, reason: str = ""
) -> Subscription:
    """Apply ``action`` (approve, reject, cancel, suspend, resume, revoke)."""
    return _apply(subscription, action, actor, reason=reason)


def _apply(subscription: Subscription, action: str, actor: Actor, *, reason: str) -> Subscription:
    subscription = (
        Subscription.objects.select_for_update(of=("self",))
        .select_related(
            "api__organisation",
            "application__team",
            "application__organisation",
            "plan",
            "provider",
            "organisation",
        )
        .get(pk=subscription.pk)
    )
    move = TRANSITIONS.get((subscription.state, action))
    if move is None:
        if action not in ACTIONS:
            raise ValidationFailed("Unknown action.", fields={"action": [f"'{action}'?"]})
        state = subscription.get_state_display().lower()
        article = "An" if state[0] in "aeiou" else "A"
        raise Conflict(f"{article} {state} subscription cannot be {PAST[action]}.")
    allowed = (
        is_provider(actor=actor, api=subscription.api)
        if move.side == PROVIDER
        else is_consumer(actor=actor, application=subscription.application)
    )
    if not allowed:
        who = (
            "maintainers of the API's team and its organisation's admins"
            if move.side == PROVIDER
            else "the application's team"
        )
        raise NotAllowed(f"Only {who} may {action} this subscription.")
    if (
        move.side == PROVIDER
        and actor.user is not None
        and actor.user.pk == subscription.requested_by_id
    ):
        raise NotAllowed("You cannot decide a request you made yourself.")
    reason = reason.strip()
    if move.needs_reason and not reason:
        raise ValidationFailed(
            f"Say why you {action} this subscription.",
            fields={"reason": [f"A reason is needed to {action}."]},
        )
    before = _payload(subscription)
    subscription.state = move.to
    if action in ("approve", "reject"):
        subscription.decided_by = actor.user
        subscription.decided_at = timezone.now()
        subscription.decision_reason = reason[:2000]
    elif reason:
        subscription.decision_reason = reason[:2000]
    if move.to not in Subscription.LIVE_STATES:
        _drop_plan_change(subscription)
    subscription.save()
    if action == "approve":
        keys.credential_issue_on_approval(subscription=subscription, actor=actor)
    elif action == "suspend":
        _each_key(subscription, GatewayOperation.Action.DISABLE)
    elif action == "resume":
        _each_key(subscription, GatewayOperation.Action.ENABLE)
    elif action in ("revoke", "unsubscribe"):
        keys.revoke_credentials(subscription=subscription, actor=actor)
    audit_record(
        actor=actor,
        organisation=subscription.provider if move.side == PROVIDER else subscription.organisation,
        action=f"subscription.{move.to}",
        target=subscription,
        before=before,
        after={**_payload(subscription), **({"reason": reason} if reason else {})},
    )
    emit(
        subscription=subscription,
        event=f"subscription.{move.to}",
        extra={"reason": reason} if reason else None,
    )
    notify_subscription(subscription, move.to, reason=reason)
    return subscription


def _drop_plan_change(subscription: Subscription) -> None:
    """An ended subscription has no plan change waiting (nor in anyone's inbox)."""
    subscription.requested_plan = None
    subscription.plan_change_requested_by = None


def _each_key(subscription: Subscription, action: str) -> None:
    for credential in provisioning.keys_in_force(subscription):
        provisioning.enqueue(subscription=subscription, credential=credential, action=action)


@transaction.atomic
def subscription_change_plan_request(
    *, subscription: Subscription, plan: Plan, reason: str = "", actor: Actor
) -> Subscription:
    """Ask for another plan; the current one keeps working until the change is decided.
    An automatic plan is switched to at once."""
    subscription = (
        Subscription.objects.select_for_update(of=("self",))
        .select_related("api", "plan")
        .get(pk=subscription.pk)
    )
    if not is_consumer(actor=actor, application=subscription.application):
        raise NotAllowed("Only the application's team changes its plan.")
    if subscription.state != State.APPROVED:
        raise Conflict("Only an approved subscription can change plan.")
    if plan.api_id != subscription.api_id or not plan.is_active:
        raise ValidationFailed("Unknown plan.", fields={"plan": ["Choose a plan of this API."]})
    if plan.pk == subscription.plan_id:
        raise ValidationFailed("Same plan.", fields={"plan": ["This is the current plan."]})
    subscription.requested_plan = plan
    subscription.plan_change_reason = reason.strip()[:2000]
    subscription.plan_change_requested_by = actor.user
    subscription.save(
        update_fields=["requested_plan", "plan_change_reason", "plan_change_requested_by"]
    )
    audit_record(
        actor=actor,
        organisation=subscription.organisation,
        action="subscription.plan_change_requested",
        target=subscription,
        before={"plan": subscription.plan.name},
        after={"requested_plan": plan.name},
    )
    emit(
        subscription=subscription,
        event="subscription.plan_change_requested",
        extra={"requested_plan": plan.name},
    )
    if plan.approval == Plan.Approval.AUTOMATIC:
        return _decide_plan_change(
            subscription,
            approve=True,
            actor=Actor.system(),
            reason="Switched automatically by the plan.",
        )
    notify_subscription(subscription, "plan_change_requested")
    return subscription


@transaction.atomic
def subscription_change_plan_decide(
    *, subscription: Subscription, approve: bool, actor: Actor, reason: str = ""
) -> Subscription:
    subscription = (
        Subscription.objects.select_for_update(of=("self",))
        .select_related("api", "plan")
        .get(pk=subscription.pk)
    )
    return _decide_plan_change(subscription, approve=approve, actor=actor, reason=reason)


def _decide_plan_change(subscription, *, approve: bool, actor: Actor, reason: str):
    if subscription.requested_plan_id is None:
        raise Conflict("No plan change is waiting for a decision.")
    if not is_provider(actor=actor, api=subscription.api):
        raise NotAllowed("Only maintainers of the API's team and its admins decide.")
    if actor.user is not None and actor.user.pk == subscription.plan_change_requested_by_id:
        raise NotAllowed("You cannot decide a request you made yourself.")
    if not approve and not reason.strip():
        raise ValidationFailed("Say why.", fields={"reason": ["A reason is needed to reject."]})
    old, new = subscription.plan, subscription.requested_plan
    if approve:
        # Locked as plan_update locks it: an edit of the plan's budget made meanwhile
        # either sees this subscription on it or is what the budget update below reads.
        new = Plan.objects.select_for_update().get(pk=new.pk)
        subscription.plan = new
    subscription.requested_plan = None
    subscription.plan_change_requested_by = None
    subscription.save(update_fields=["plan", "requested_plan", "plan_change_requested_by"])
    if approve and old.gateway_plan_id != new.gateway_plan_id:
        # The key moves to the new usage plan: provision again (idempotent) and let the
        # gateway drop the old attachment with the old key's replacement on rotation.
        _each_key(subscription, GatewayOperation.Action.PROVISION)
    if approve and provisioning.budget_terms(old) != provisioning.budget_terms(new):
        provisioning.budget_update_enqueue(subscription=subscription)
    verb = "plan_changed" if approve else "plan_change_rejected"
    audit_record(
        actor=actor,
        organisation=subscription.provider,
        action=f"subscription.{verb}",
        target=subscription,
        before={"plan": old.name},
        after={"plan": subscription.plan.name, **({"reason": reason} if reason else {})},
    )
    emit(
        subscription=subscription,
        event=f"subscription.{verb}",
        extra={"previous_plan": old.name, "reason": reason},
    )
    notify_subscription(subscription, verb, reason=reason)
    return subscription


def revoke_for_retired_api(*, api: Api, actor: Actor, reason: str) -> int:
    """When an API has no version left that consumers may use, end its subscriptions
    (and their keys, through the outbox). Returns how many ended."""
    ended = 0
    for subscription in Subscription.objects.select_for_update().filter(
        api=api, state__in=[State.APPROVED, State.SUSPENDED, State.PENDING]
    ):
        if subscription.state == State.PENDING:
            subscription.state = State.REJECTED
        else:
            subscription.state = State.REVOKED
            keys.revoke_credentials(subscription=subscription, actor=actor)
        subscription.decision_reason = reason[:2000]
        _drop_plan_change(subscription)
        subscription.save(
            update_fields=["state", "decision_reason", "requested_plan", "plan_change_requested_by"]
        )
        audit_record(
            actor=actor,
            organisation=api.organisation,
            action=f"subscription.{subscription.state}",
            target=subscription,
            after={**_payload(subscription), "reason": reason},
        )
        emit(
            subscription=subscription,
            event=f"subscription.{subscription.state}",
            extra={"reason": reason},
        )
        notify_subscription(subscription, subscription.state, reason=reason)
        ended += 1
    return ended
