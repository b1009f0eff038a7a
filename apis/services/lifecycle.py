"""The lifecycle of a version: one table of transitions, one service that moves them."""

import datetime
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from tenants.actors import Actor
from tenants.errors import Conflict, ValidationFailed
from tenants.services.audit import audit_record

from .. import notifications, search
from ..models import ApiVersion, LifecycleTransition
from ..policies import require_team_maintainer
from ..selectors import AUDIENCE_STATES
from .catalogue import refresh_current_version

State = ApiVersion.State


@dataclass(frozen=True)
class Transition:
    verb: str
    needs_reason: bool = False
    needs_sunset: bool = False


TRANSITIONS: dict[tuple[str, str], Transition] = {
    (State.DRAFT, State.PUBLISHED): Transition("publish"),
    (State.DRAFT, State.PROTOTYPE): Transition("prototype"),
    (State.PROTOTYPE, State.PUBLISHED): Transition("publish"),
    (State.PROTOTYPE, State.DRAFT): Transition("return to draft"),
    (State.PUBLISHED, State.BLOCKED): Transition("block", needs_reason=True),
    (State.BLOCKED, State.PUBLISHED): Transition("unblock"),
    (State.PUBLISHED, State.DEPRECATED): Transition(
        "deprecate", needs_reason=True, needs_sunset=True
    ),
    (State.DEPRECATED, State.RETIRED): Transition("retire", needs_reason=True),
}


def allowed_transitions(state: str) -> list[tuple[str, Transition]]:
    return [(to, rule) for (frm, to), rule in TRANSITIONS.items() if frm == state]


@transaction.atomic
def version_transition(
    *,
    version: ApiVersion,
    to_state: str,
    actor: Actor,
    reason: str = "",
    sunset_at: datetime.date | None = None,
) -> LifecycleTransition:
    """Move ``version`` to ``to_state`` if the table allows it and the actor may."""
    api = version.api
    require_team_maintainer(actor=actor, team=api.team)
    version = ApiVersion.objects.select_for_update().select_related("api").get(pk=version.pk)
    from_state = version.state
    rule = TRANSITIONS.get((from_state, to_state))
    if rule is None:
        if to_state not in State.values:
            raise ValidationFailed("Unknown state.", fields={"to_state": ["No such state."]})
        raise Conflict(
            f"A {State(from_state).label.lower()} version cannot become "
            f"{State(to_state).label.lower()}."
        )
    reason = reason.strip()
    if rule.needs_reason and not reason:
        raise ValidationFailed(
            f"Say why you {rule.verb} this version.",
            fields={"reason": [f"A reason is needed to {rule.verb}."]},
        )
    if rule.needs_sunset:
        if sunset_at is None:
            raise ValidationFailed(
                "A sunset date is needed.",
                fields={"sunset_at": ["Give the date after which the version is retired."]},
            )
        if sunset_at <= timezone.localdate():
            raise ValidationFailed(
                "The sunset date must be in the future.",
                fields={"sunset_at": ["Choose a date after today."]},
            )
    version.state = to_state
    if to_state == State.DEPRECATED:
        version.sunset_at = sunset_at
    if to_state == State.PUBLISHED and version.published_at is None:
        version.published_at = timezone.now()
    version.save(update_fields=["state", "sunset_at", "published_at"])
    transition = LifecycleTransition.objects.create(
        api_version=version,
        organisation=version.organisation,
        from_state=from_state,
        to_state=to_state,
        actor=actor.user,
        actor_label=actor.label[:200],
        reason=reason,
        sunset_at=sunset_at if rule.needs_sunset else None,
    )
    audit_record(
        actor=actor,
        organisation=version.organisation,
        action=f"api_version.{rule.verb.replace(' ', '_')}",
        target=version,
        before={"state": from_state},
        after={
            "state": to_state,
            **({"reason": reason} if reason else {}),
            **({"sunset_at": sunset_at.isoformat()} if rule.needs_sunset else {}),
        },
    )
    refresh_current_version(version.api)
    search.search_refresh(version.api)
    notifications.lifecycle_changed(transition)
    if to_state == State.RETIRED and version.api.current_state not in AUDIENCE_STATES:
        # Nothing left that consumers may use: their subscriptions and keys end too.
        from .subscriptions import revoke_for_retired_api

        revoke_for_retired_api(
            api=version.api,
            actor=actor,
            reason=f"{version.api.name} {version.version} was retired.",
        )
    return transition
