"""The subscription table: every state × action × role, across two organisations and
inside one. A move is allowed exactly when TRANSITIONS has it and the role is on the
move's side; then it writes one audit event, tells the right people in the portal and
by e-mail after commit, and sends one signed webhook to each organisation involved,
all named after the state it reaches (a resume is "subscription.approved" again), beside
the event of the key it issues or ends.
Anything else is refused and leaves no trace."""

import pytest
from django.core import mail
from django.db import transaction

from apis.models import Subscription, WebhookDelivery
from apis.services.subscriptions import CONSUMER, PAST, TRANSITIONS, subscription_act
from apis.services.subscriptions import subscription_request as request
from apis.services.webhooks import SIGNATURE_HEADER, verify
from tenants.actors import Actor
from tenants.errors import Conflict, NotAllowed, ValidationFailed
from tenants.models import AuditEvent, Notification

State = Subscription.State
STATES = list(State.values)
ACTIONS = sorted({action for _, action in TRANSITIONS})

# How each starting state is reached through the services, by the setup decider.
PATHS = {
    State.PENDING: [],
    State.APPROVED: [("approve", "")],
    State.REJECTED: [("reject", "Not for this use.")],
    State.CANCELLED: [("cancel", "")],
    State.SUSPENDED: [("approve", ""), ("suspend", "Too many calls.")],
    State.REVOKED: [("approve", ""), ("revoke", "Contract ended.")],
}


SCENARIOS = {
    # Globex's Storefront team subscribes to Acme's public API.
    "two_organisations": {
        "application": "application",
        "requester": "app_developer",
        "consumer_org": "consumer",
        "roles": {
            "app_developer": CONSUMER,
            "app_maintainer": CONSUMER,
            "app_viewer": None,
            "consumer_admin": CONSUMER,
            "api_maintainer": "provider",
            "api_developer": None,
            "provider_admin": "provider",
            "outsider": None,
            "staff": "both",
        },
        "consumers": {"app_developer", "app_maintainer", "consumer_owner"},
        "hooks": {"acme", "globex"},
    },
    # Acme's Mobile team subscribes to its own organisation's API.
    "same_organisation": {
        "application": "local_application",
        "requester": "local_developer",
        "consumer_org": "provider",
        "roles": {
            "local_developer": CONSUMER,
            "local_maintainer": CONSUMER,
            "local_viewer": None,
            "provider_admin": "both",  # admin of the one organisation: both sides
            "api_maintainer": "provider",
            "api_developer": None,
            "provider_member": None,
            "dual": "both",  # maintainer of the API's team, developer of the app's team
            "outsider": None,
            "staff": "both",
        },
        "consumers": {"local_developer", "local_maintainer", "dual"},
        "hooks": {"acme"},
    },
}
PROVIDERS = {"api_maintainer", "second_maintainer", "dual", "provider_admin", "provider_owner"}
# The key event a move sends beside its own (each starting state holds at most one key).
KEY_EVENTS = {
    "approve": "credential.issued",
    "revoke": "credential.revoked",
    "unsubscribe": "credential.revoked",
}


def expected(state: str, action: str, side: str | None) -> type[Exception] | None:
    move = TRANSITIONS.get((state, action))
    if move is None:
        return Conflict
    if side not in (move.side, "both"):
        return NotAllowed
    return None


def subscription_in(world, scenario: dict, state: str) -> Subscription:
    subscription = request(
        application=getattr(world, scenario["application"]),
        api=world.api,
        plan=world.manual,
        reason="The checkout needs it.",
        actor=world.actor(scenario["requester"]),
    )
    for action, reason in PATHS[state]:
        actor = scenario["requester"] if action == "cancel" else "second_maintainer"
        subscription = subscription_act(
            subscription=subscription, action=action, actor=world.actor(actor), reason=reason
        )
    assert subscription.state == state
    return subscription


class Marks:
    """What existed before the move, to list what the move added."""

    def __init__(self, receiver):
        self.audit = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
        self.notes = Notification.objects.order_by("-id").values_list("id", flat=True).first() or 0
        self.deliveries = (
            WebhookDelivery.objects.order_by("-id").values_list("id", flat=True).first() or 0
        )
        mail.outbox.clear()
        receiver.clear()

    def audit_events(self):
        return list(AuditEvent.objects.filter(id__gt=self.audit).order_by("id"))

    def notifications(self):
        return list(
            Notification.objects.filter(id__gt=self.notes).select_related("user").order_by("id")
        )

    def delivery_rows(self):
        return list(WebhookDelivery.objects.filter(id__gt=self.deliveries))


def assert_no_trace(marks: Marks, receiver, subscription: Subscription, state: str) -> None:
    subscription.refresh_from_db()
    assert subscription.state == state
    assert marks.audit_events() == []
    assert marks.notifications() == []
    assert marks.delivery_rows() == []
    assert mail.outbox == []
    assert receiver.received == []


def assert_effects(world, scenario, marks, receiver, subscription, action, actor_name) -> None:
    move = TRANSITIONS[(subscription.state, action)]
    # Audit actions, notices and events are named after the state the move reaches.
    past = move.to
    subscription.refresh_from_db()
    assert subscription.state == move.to

    # One audit event of the move (approval also records the key it issued), in the
    # organisation of the side that moved.
    events = marks.audit_events()
    assert [e.action for e in events if e.action.startswith("subscription.")] == [
        f"subscription.{past}"
    ]
    event = next(e for e in events if e.action.startswith("subscription."))
    side_org = world.provider if move.side != CONSUMER else getattr(world, scenario["consumer_org"])
    assert event.organisation == side_org
    assert event.actor_user == world.people[actor_name]
    assert event.target_id == str(subscription.pk)
    assert event.after["state"] == move.to
    assert {e.action for e in events} - {f"subscription.{past}"} == (
        {"credential.issued"} if action == "approve" else set()
    )

    # The other side hears of it, in the portal and by e-mail after commit.
    told = {n.user.email for n in marks.notifications()}
    who = PROVIDERS if move.side == CONSUMER else scenario["consumers"]
    assert told == {world.people[name].email for name in who}
    assert {n.kind for n in marks.notifications()} == {f"subscription.{past}"}
    assert sorted(to for message in mail.outbox for to in message.to) == sorted(told)
    assert all(world.api.name in message.subject for message in mail.outbox)

    # One signed delivery to each organisation involved, and no other; a move that issues
    # or ends the key sends that key's event beside it.
    rows = marks.delivery_rows()
    moves = [r for r in rows if r.event.startswith("subscription.")]
    assert sorted(r.webhook.organisation.slug for r in moves) == sorted(scenario["hooks"])
    assert {r.event for r in moves} == {f"subscription.{past}"}
    key_event = KEY_EVENTS.get(action)
    assert sorted((r.webhook.organisation.slug, r.event) for r in rows if r not in moves) == (
        sorted((slug, key_event) for slug in scenario["hooks"]) if key_event else []
    )
    assert {r.state for r in rows} == {WebhookDelivery.State.SUCCEEDED}
    for slug in ("acme", "globex"):
        got = receiver.at(f"/{slug}")
        assert len(got) == (1 + bool(key_event) if slug in scenario["hooks"] else 0)
        got = [d for d in got if d.header("X-Portico-Event").startswith("subscription.")]
        for delivery in got:
            assert delivery.header("X-Portico-Event") == f"subscription.{past}"
            assert verify(
                world.hook_secrets[slug], delivery.header(SIGNATURE_HEADER), delivery.body
            )
            data = delivery.json()["data"]["subscription"]
            assert data["id"] == subscription.pk
            assert data["state"] == move.to
            assert data["application"]["name"] == getattr(world, scenario["application"]).name


@pytest.mark.parametrize("scenario_name", sorted(SCENARIOS))
@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("state", STATES)
def test_subscription_table(
    world, hooks, django_capture_on_commit_callbacks, scenario_name, state, action
):
    scenario = SCENARIOS[scenario_name]
    for role, side in scenario["roles"].items():
        outcome = expected(state, action, side)
        move = TRANSITIONS.get((state, action))
        savepoint = transaction.savepoint()
        subscription = subscription_in(world, scenario, state)
        marks = Marks(hooks)
        actor = world.actor(role)

        if outcome is None and move.needs_reason:
            # A move that needs a reason is refused without one, and leaves no trace.
            with (
                pytest.raises(ValidationFailed) as refused,
                django_capture_on_commit_callbacks(execute=True),
            ):
                subscription_act(subscription=subscription, action=action, actor=actor, reason=" ")
            assert "reason" in refused.value.fields, role
            assert_no_trace(marks, hooks, subscription, state)

        reason = "Stated reason." if move is None or move.needs_reason else ""
        if outcome is None:
            with django_capture_on_commit_callbacks(execute=True):
                subscription_act(
                    subscription=subscription, action=action, actor=actor, reason=reason
                )
            assert_effects(world, scenario, marks, hooks, subscription, action, role)
        else:
            with pytest.raises(outcome), django_capture_on_commit_callbacks(execute=True):
                subscription_act(
                    subscription=subscription, action=action, actor=actor, reason=reason
                )
            assert_no_trace(marks, hooks, subscription, state)
        transaction.savepoint_rollback(savepoint)


def test_the_table_covers_what_the_service_knows():
    assert set(PAST) == set(ACTIONS)
    assert {move.to for move in TRANSITIONS.values()} <= set(STATES)
    # Every move of the table is allowed to someone in each scenario and refused to others.
    for scenario in SCENARIOS.values():
        for (state, action), _move in TRANSITIONS.items():
            outcomes = {expected(state, action, side) for side in scenario["roles"].values()}
            assert outcomes == {None, NotAllowed}, (state, action)


def test_an_unknown_action_is_invalid(world):
    subscription = request(
        application=world.application,
        api=world.api,
        plan=world.manual,
        actor=world.actor("app_developer"),
    )
    with pytest.raises(ValidationFailed) as refused:
        subscription_act(
            subscription=subscription, action="destroy", actor=world.actor("api_maintainer")
        )
    assert "action" in refused.value.fields


def test_system_decides_without_a_person(world, django_capture_on_commit_callbacks):
    subscription = request(
        application=world.application,
        api=world.api,
        plan=world.manual,
        actor=world.actor("app_developer"),
    )
    with django_capture_on_commit_callbacks(execute=True):
        subscription = subscription_act(
            subscription=subscription, action="approve", actor=Actor.system()
        )
    assert subscription.state == State.APPROVED
    assert subscription.decided_by is None
    event = AuditEvent.objects.get(action="subscription.approved", target_id=str(subscription.pk))
    assert event.actor_type == "system"
