"""The rules around the table: nobody decides their own request, closed APIs take no new
subscriptions, a team's waiting requests are capped, one live subscription per
application and API, automatic plans, and plan changes that wait for a decision."""

import datetime

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from apis.models import Api, Plan, Subscription
from apis.services import keys
from apis.services.applications import application_create
from apis.services.catalogue import version_create
from apis.services.lifecycle import version_transition
from apis.services.plans import plan_create, plan_retire
from apis.services.subscriptions import (
    subscription_act,
    subscription_change_plan_decide,
    subscription_change_plan_request,
    subscription_request,
)
from tenants.errors import Conflict, NotAllowed, ValidationFailed
from tenants.models import AuditEvent
from tests.apis.conftest import make_spec

from .conftest import publish_api

State = Subscription.State


def ask(world, *, application=None, plan=None, api=None, by="app_developer"):
    return subscription_request(
        application=application or world.application,
        api=api or world.api,
        plan=plan or world.manual,
        reason="We need it.",
        actor=world.actor(by),
    )


def act(world, subscription, action, by, reason=""):
    return subscription_act(
        subscription=subscription, action=action, actor=world.actor(by), reason=reason
    )


# --- Nobody decides their own request ----------------------------------------------


@pytest.mark.parametrize("requester", ["provider_admin", "dual"])
def test_a_provider_who_asked_cannot_decide_the_request(world, requester):
    subscription = ask(world, application=world.local_application, by=requester)

    for action, reason in (("approve", ""), ("reject", "No.")):
        with pytest.raises(NotAllowed, match="yourself"):
            act(world, subscription, action, requester, reason)
    subscription.refresh_from_db()
    assert subscription.state == State.PENDING

    approved = act(world, subscription, "approve", "api_maintainer")
    assert approved.state == State.APPROVED
    assert approved.decided_by == world.api_maintainer


def test_the_requester_cannot_resume_what_another_suspended(world):
    subscription = ask(world, application=world.local_application, by="dual")
    act(world, subscription, "approve", "api_maintainer")
    act(world, subscription, "suspend", "api_maintainer", "Leaking the key.")

    with pytest.raises(NotAllowed):
        act(world, subscription, "resume", "dual")
    assert act(world, subscription, "resume", "provider_admin").state == State.APPROVED


def test_nobody_decides_their_own_plan_change(world):
    enterprise = plan_create(
        api=world.api, actor=world.actor("api_maintainer"), name="Enterprise", approval="manual"
    )
    subscription = ask(world, application=world.local_application, by="local_developer")
    act(world, subscription, "approve", "api_maintainer")
    subscription_change_plan_request(
        subscription=subscription, plan=enterprise, actor=world.actor("dual")
    )

    with pytest.raises(NotAllowed, match="yourself"):
        subscription_change_plan_decide(
            subscription=subscription, approve=True, actor=world.actor("dual")
        )
    subscription.refresh_from_db()
    assert subscription.plan == world.manual
    assert subscription.requested_plan == enterprise

    decided = subscription_change_plan_decide(
        subscription=subscription, approve=True, actor=world.actor("api_maintainer")
    )
    assert decided.plan == enterprise
    assert decided.requested_plan is None


# --- What takes new subscriptions --------------------------------------------------


def _move(version, actor, *moves):
    for state, extra in moves:
        version_transition(version=version, to_state=state, actor=actor, **extra)
        version.refresh_from_db()


DEPRECATE = (
    "deprecated",
    {"reason": "v2 is out.", "sunset_at": timezone.localdate() + datetime.timedelta(days=30)},
)
CLOSINGS = {
    "deprecated": [("published", {}), DEPRECATE],
    "retired": [("published", {}), DEPRECATE, ("retired", {"reason": "Sunset."})],
    "blocked": [("published", {}), ("blocked", {"reason": "A leak."})],
    "draft": [],
}


@pytest.mark.parametrize("closing", sorted(CLOSINGS))
def test_a_closed_or_unpublished_api_takes_no_new_subscriptions(world, closing):
    maintainer = world.actor("api_maintainer")
    api = publish_api(
        organisation=world.provider,
        team=world.api_team,
        actor=maintainer,
        name="Ledger API",
        slug="ledger",
    )
    # Start again from a fresh API whose only version goes where the case says.
    api.versions.all().delete()
    version = version_create(api=api, raw=make_spec(title="Ledger API"), actor=maintainer)
    _move(version, maintainer, *CLOSINGS[closing])
    api.refresh_from_db()
    assert api.current_state == closing
    plan = plan_create(api=api, actor=maintainer, name="Basic", approval="automatic")

    # The API's own team sees it in every state, and still may not subscribe to it.
    own_app = application_create(
        team=world.api_team, name="Back office", actor=world.actor("api_developer")
    )
    with pytest.raises(Conflict, match=closing):
        ask(world, application=own_app, api=api, plan=plan, by="api_developer")
    # Another organisation sees a deprecated API (and is refused); the rest are hidden.
    with pytest.raises(Conflict if closing == "deprecated" else NotAllowed):
        ask(world, api=api, plan=plan)
    assert not Subscription.objects.filter(api=api).exists()


def test_an_api_the_consumer_cannot_see_is_refused(world):
    team_only = publish_api(
        organisation=world.provider,
        team=world.api_team,
        actor=world.actor("api_maintainer"),
        name="Payouts",
        slug="payouts",
        visibility=Api.Visibility.TEAM,
    )
    plan = plan_create(api=team_only, actor=world.actor("api_maintainer"), name="Internal")
    with pytest.raises(NotAllowed):
        ask(world, api=team_only, plan=plan)


def test_a_plan_of_another_api_or_a_closed_plan_is_refused(world):
    other = publish_api(
        organisation=world.provider,
        team=world.api_team,
        actor=world.actor("api_maintainer"),
        name="Refunds API",
        slug="refunds",
    )
    foreign = plan_create(api=other, actor=world.actor("api_maintainer"), name="Basic")
    with pytest.raises(ValidationFailed) as refused:
        ask(world, plan=foreign)
    assert "plan" in refused.value.fields

    plan_retire(plan=world.manual, actor=world.actor("api_maintainer"))
    with pytest.raises(ValidationFailed):
        ask(world, plan=Plan.objects.get(pk=world.manual.pk))


def test_viewers_and_outsiders_cannot_ask(world):
    for who in ("app_viewer", "api_maintainer", "outsider"):
        with pytest.raises(NotAllowed):
            ask(world, by=who)
    assert not Subscription.objects.exists()


# --- The team's cap on waiting requests -------------------------------------------


def test_a_team_has_at_most_the_pending_limit_waiting(world, settings):
    settings.SUBSCRIPTION_PENDING_LIMIT = 2
    developer = world.actor("app_developer")
    apps = [world.application] + [
        application_create(team=world.app_team, name=f"App {n}", actor=developer) for n in range(2)
    ]
    first = ask(world, application=apps[0])
    ask(world, application=apps[1])

    with pytest.raises(Conflict, match="2 requests waiting"):
        ask(world, application=apps[2])

    # An automatic plan waits for nobody: it is not held back by the cap.
    instant = ask(world, application=apps[2], plan=world.automatic)
    assert instant.state == State.APPROVED

    # A decision (or a withdrawal) makes room again.
    act(world, first, "cancel", "app_developer")
    other_api = publish_api(
        organisation=world.provider,
        team=world.api_team,
        actor=world.actor("api_maintainer"),
        name="Refunds API",
        slug="refunds",
    )
    plan = plan_create(api=other_api, actor=world.actor("api_maintainer"), name="Basic")
    assert ask(world, application=apps[2], api=other_api, plan=plan).state == State.PENDING


def test_the_cap_counts_only_the_team(world, settings):
    settings.SUBSCRIPTION_PENDING_LIMIT = 1
    ask(world)
    # Acme's Mobile team has its own allowance.
    local = ask(world, application=world.local_application, by="local_developer")
    assert local.state == State.PENDING


# --- One live subscription per application and API --------------------------------


def test_a_second_live_subscription_is_refused(world):
    first = ask(world)
    with pytest.raises(Conflict, match="already has a subscription"):
        ask(world, plan=world.automatic)

    act(world, first, "approve", "api_maintainer")
    with pytest.raises(Conflict):
        ask(world)
    act(world, first, "suspend", "api_maintainer", "Too many calls.")
    with pytest.raises(Conflict):
        ask(world)

    # Once it has ended, the application may ask again.
    act(world, first, "revoke", "api_maintainer", "Contract ended.")
    again = ask(world)
    assert again.pk != first.pk
    assert Subscription.objects.filter(application=world.application).count() == 2


@pytest.mark.parametrize("ended", ["rejected", "cancelled"])
def test_an_ended_request_leaves_room_for_a_new_one(world, ended):
    first = ask(world)
    if ended == "rejected":
        act(world, first, "reject", "api_maintainer", "Not now.")
    else:
        act(world, first, "cancel", "app_developer")
    assert ask(world).state == State.PENDING


def test_the_database_refuses_two_live_subscriptions(world):
    first = ask(world)
    with pytest.raises(IntegrityError), transaction.atomic():
        Subscription.objects.create(
            application=first.application,
            organisation=first.organisation,
            api=first.api,
            provider=first.provider,
            plan=world.automatic,
            state=State.SUSPENDED,
        )
    # Ended ones are history: any number of them.
    for state in (State.REJECTED, State.CANCELLED, State.REVOKED, State.REVOKED):
        Subscription.objects.create(
            application=first.application,
            organisation=first.organisation,
            api=first.api,
            provider=first.provider,
            plan=world.automatic,
            state=state,
        )


# --- Automatic plans ---------------------------------------------------------------


def test_an_automatic_plan_approves_at_once_as_the_system_and_issues_a_key(
    world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        subscription = ask(world, plan=world.automatic)

    assert subscription.state == State.APPROVED
    assert subscription.decided_by is None
    assert subscription.decided_at is not None
    events = AuditEvent.objects.filter(target_id=str(subscription.pk)).order_by("id")
    requested, approved = (
        events.filter(action="subscription.requested").get(),
        events.filter(action="subscription.approved").get(),
    )
    assert requested.actor_user == world.app_developer
    assert approved.actor_type == "system"
    credential = subscription.credentials.get()
    issued = AuditEvent.objects.get(action="credential.issued", target_id=str(credential.pk))
    assert issued.actor_type == "system"
    plaintext = keys.credential_reveal(credential=credential, actor=world.actor("app_developer"))
    assert keys.credential_authenticate(plaintext) == credential
    # Nobody's inbox had to see it: the consumers were told it is approved.
    assert not world.api_maintainer.notifications.filter(kind="subscription.requested").exists()
    assert world.app_developer.notifications.filter(kind="subscription.approved").exists()


# --- Plan changes -----------------------------------------------------------------


@pytest.fixture
def approved(world, django_capture_on_commit_callbacks):
    subscription = ask(world)
    subscription = act(world, subscription, "approve", "api_maintainer")
    credential = subscription.credentials.get()
    plaintext = keys.credential_reveal(credential=credential, actor=world.actor("app_developer"))
    return subscription, plaintext


def test_a_plan_change_waits_and_the_current_plan_stays_in_force(world, approved):
    subscription, plaintext = approved
    enterprise = plan_create(
        api=world.api, actor=world.actor("api_maintainer"), name="Enterprise", approval="manual"
    )
    subscription_change_plan_request(
        subscription=subscription,
        plan=enterprise,
        reason="Black Friday.",
        actor=world.actor("app_maintainer"),
    )
    subscription.refresh_from_db()
    assert subscription.state == State.APPROVED
    assert subscription.plan == world.manual
    assert subscription.requested_plan == enterprise
    assert subscription.plan_change_reason == "Black Friday."
    credential = keys.credential_authenticate(plaintext)
    assert credential.subscription.plan_id == world.manual.pk
    assert world.api_maintainer.notifications.filter(
        kind="subscription.plan_change_requested"
    ).exists()

    # Only the provider decides; a rejection needs a reason and keeps the old plan.
    with pytest.raises(NotAllowed):
        subscription_change_plan_decide(
            subscription=subscription, approve=True, actor=world.actor("app_maintainer")
        )
    with pytest.raises(ValidationFailed):
        subscription_change_plan_decide(
            subscription=subscription, approve=False, actor=world.actor("api_maintainer")
        )
    subscription_change_plan_decide(
        subscription=subscription,
        approve=False,
        reason="Not before the audit.",
        actor=world.actor("api_maintainer"),
    )
    subscription.refresh_from_db()
    assert (subscription.plan, subscription.requested_plan) == (world.manual, None)
    assert keys.credential_authenticate(plaintext) is not None
    with pytest.raises(Conflict, match="No plan change"):
        subscription_change_plan_decide(
            subscription=subscription, approve=True, actor=world.actor("api_maintainer")
        )

    subscription_change_plan_request(
        subscription=subscription, plan=enterprise, actor=world.actor("app_developer")
    )
    subscription_change_plan_decide(
        subscription=subscription, approve=True, actor=world.actor("provider_admin")
    )
    subscription.refresh_from_db()
    assert (subscription.plan, subscription.requested_plan) == (enterprise, None)
    assert keys.credential_authenticate(plaintext).subscription.plan_id == enterprise.pk
    assert list(
        AuditEvent.objects.filter(
            target_id=str(subscription.pk), action__startswith="subscription.plan_change"
        )
        .order_by("id")
        .values_list("action", flat=True)
    ) == [
        "subscription.plan_change_requested",
        "subscription.plan_change_rejected",
        "subscription.plan_change_requested",
        "subscription.plan_changed",
    ]


def test_a_change_to_an_automatic_plan_happens_at_once(world, approved):
    subscription, _ = approved
    changed = subscription_change_plan_request(
        subscription=subscription, plan=world.automatic, actor=world.actor("app_developer")
    )
    assert changed.plan == world.automatic
    assert changed.requested_plan is None
    event = AuditEvent.objects.get(
        target_id=str(subscription.pk), action="subscription.plan_changed"
    )
    assert event.actor_type == "system"


def test_plan_change_requests_are_checked(world, approved):
    subscription, _ = approved
    with pytest.raises(NotAllowed):
        subscription_change_plan_request(
            subscription=subscription, plan=world.automatic, actor=world.actor("app_viewer")
        )
    with pytest.raises(ValidationFailed):
        subscription_change_plan_request(
            subscription=subscription, plan=world.manual, actor=world.actor("app_developer")
        )
    act(world, subscription, "suspend", "api_maintainer", "Abuse.")
    with pytest.raises(Conflict):
        subscription_change_plan_request(
            subscription=subscription, plan=world.automatic, actor=world.actor("app_developer")
        )


@pytest.mark.parametrize("ending", ["revoke", "unsubscribe"])
def test_a_waiting_plan_change_ends_with_the_subscription(world, approved, ending):
    subscription, _ = approved
    enterprise = plan_create(
        api=world.api, actor=world.actor("api_maintainer"), name="Enterprise", approval="manual"
    )
    subscription_change_plan_request(
        subscription=subscription, plan=enterprise, actor=world.actor("app_developer")
    )
    if ending == "revoke":
        act(world, subscription, "revoke", "api_maintainer", "Contract ended.")
    else:
        act(world, subscription, "unsubscribe", "app_maintainer")

    subscription.refresh_from_db()
    assert subscription.requested_plan is None
    with pytest.raises(Conflict):
        subscription_change_plan_decide(
            subscription=subscription, approve=True, actor=world.actor("api_maintainer")
        )
    subscription.refresh_from_db()
    assert subscription.plan == world.manual
