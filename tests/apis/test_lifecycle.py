"""The lifecycle of a version: which moves exist, who may make them, what they write."""

import datetime
import itertools

import pytest
import time_machine
from django.db import transaction

from apis import notifications
from apis.models import Api, ApiVersion, LifecycleTransition
from apis.services import lifecycle
from apis.services.catalogue import version_create
from apis.services.lifecycle import TRANSITIONS, allowed_transitions, version_transition
from tenants.actors import Actor
from tenants.errors import Conflict, NotAllowed, ValidationFailed
from tenants.models import AuditEvent, Notification
from tenants.roles import TeamRole
from tests.factories import TeamFactory, member_of

from .conftest import make_spec

State = ApiVersion.State
STATES = list(State.values)
NOW = datetime.datetime(2030, 3, 1, 12, 0, tzinfo=datetime.UTC)
TODAY = NOW.date()
TOMORROW = TODAY + datetime.timedelta(days=1)

# The design, written out here rather than read from the table it checks.
ALLOWED = {
    ("draft", "published"),
    ("draft", "prototype"),
    ("prototype", "published"),
    ("prototype", "draft"),
    ("published", "blocked"),
    ("blocked", "published"),
    ("published", "deprecated"),
    ("deprecated", "retired"),
}
NEEDS_REASON = {("published", "blocked"), ("published", "deprecated"), ("deprecated", "retired")}
# The owning team's maintainer, developer and viewer; the maintainer of another team of the
# same organisation ("neighbour"); and Globex's owner, who maintains a team of Globex.
ROLES = ["owner", "admin", "member", "maintainer", "developer", "viewer", "neighbour", "outsider"]
MANAGERS = {"owner", "admin", "maintainer"}


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def other_maintainer(cast):
    return member_of(
        cast.org, team=cast.team, team_role=TeamRole.MAINTAINER, email="second@acme.test"
    )


@pytest.fixture
def neighbour(cast):
    """The maintainer of another team of Acme: no say over the payments team's APIs."""
    platform = TeamFactory(organisation=cast.org, name="Platform", slug="platform")
    return member_of(cast.org, team=platform, team_role=TeamRole.MAINTAINER, email="np@acme.test")


def _set_state(version: ApiVersion, state: str) -> ApiVersion:
    """Put a version in ``state`` directly: set-up, not a move under test."""
    ApiVersion.objects.filter(pk=version.pk).update(state=state)
    version.refresh_from_db()
    return version


def _counts() -> tuple[int, int, int]:
    return (
        LifecycleTransition.objects.count(),
        AuditEvent.objects.count(),
        Notification.objects.count(),
    )


def test_the_table_is_the_design():
    assert set(TRANSITIONS) == ALLOWED
    assert {pair for pair, rule in TRANSITIONS.items() if rule.needs_reason} == NEEDS_REASON
    assert {pair for pair, rule in TRANSITIONS.items() if rule.needs_sunset} == {
        ("published", "deprecated")
    }
    for state in STATES:
        assert {to for to, _ in allowed_transitions(state)} == {
            to for frm, to in ALLOWED if frm == state
        }


@pytest.mark.parametrize(("from_state", "to_state"), list(itertools.product(STATES, STATES)))
def test_every_move_by_every_role(from_state, to_state, cast, draft, other_maintainer, neighbour):
    maintainers = {cast.maintainer.pk, other_maintainer.pk}
    for role in ROLES:
        user = neighbour if role == "neighbour" else getattr(cast, role)
        version = _set_state(draft, from_state)
        before = _counts()
        attempt = f"{role}: {from_state} → {to_state}"

        def move(version=version, user=user):
            return version_transition(
                version=version,
                to_state=to_state,
                actor=Actor.for_user(user),
                reason="Because the test says so.",
                sunset_at=TOMORROW,
            )

        if role not in MANAGERS:
            with pytest.raises(NotAllowed):
                move()
        elif (from_state, to_state) not in ALLOWED:
            with pytest.raises(Conflict) as error:
                move()
            assert error.value.status == 409
        else:
            transition = move()
            assert transition.from_state == from_state, attempt
            assert transition.to_state == to_state, attempt
            assert transition.actor == user, attempt
            notified = set(
                Notification.objects.filter(kind=f"lifecycle.{to_state}").values_list(
                    "user_id", flat=True
                )
            )
            assert notified == maintainers - {user.pk}, attempt
            after = (before[0] + 1, before[1] + 1, before[2] + len(maintainers - {user.pk}))
            assert _counts() == after, attempt
            event = AuditEvent.objects.order_by("-id").first()
            assert event.target_id == str(version.pk), attempt
            assert event.before == {"state": from_state}, attempt
            assert event.after["state"] == to_state, attempt
            assert event.actor_user == user, attempt
            version.refresh_from_db()
            assert version.state == to_state, attempt
            Notification.objects.all().delete()
            continue
        version.refresh_from_db()
        assert version.state == from_state, attempt
        assert _counts() == before, attempt


@pytest.mark.parametrize(("from_state", "to_state"), sorted(NEEDS_REASON))
@pytest.mark.parametrize("reason", ["", "   \n "])
def test_block_deprecate_and_retire_need_a_reason(from_state, to_state, reason, cast, draft):
    version = _set_state(draft, from_state)
    before = _counts()
    with pytest.raises(ValidationFailed) as error:
        version_transition(
            version=version,
            to_state=to_state,
            actor=Actor.for_user(cast.maintainer),
            reason=reason,
            sunset_at=TOMORROW,
        )
    assert "reason" in error.value.fields
    assert _counts() == before
    version.refresh_from_db()
    assert version.state == from_state


def test_reason_is_kept_trimmed(cast, draft):
    version = _set_state(draft, "published")
    transition = version_transition(
        version=version, to_state="blocked", actor=Actor.for_user(cast.admin), reason="  abuse \n"
    )
    assert transition.reason == "abuse"
    assert AuditEvent.objects.order_by("-id").first().after["reason"] == "abuse"


@pytest.mark.parametrize(
    ("sunset_at", "accepted"),
    [
        (None, False),
        (TODAY - datetime.timedelta(days=1), False),
        (TODAY, False),
        (TOMORROW, True),
        (TODAY + datetime.timedelta(days=365), True),
    ],
)
def test_deprecation_needs_a_future_sunset(sunset_at, accepted, cast, draft):
    version = _set_state(draft, "published")
    before = _counts()

    def deprecate():
        return version_transition(
            version=version,
            to_state="deprecated",
            actor=Actor.for_user(cast.maintainer),
            reason="v2 replaces it",
            sunset_at=sunset_at,
        )

    if not accepted:
        with pytest.raises(ValidationFailed) as error:
            deprecate()
        assert "sunset_at" in error.value.fields
        assert _counts() == before
        return
    transition = deprecate()
    version.refresh_from_db()
    assert version.state == "deprecated"
    assert version.sunset_at == sunset_at
    assert transition.sunset_at == sunset_at
    assert AuditEvent.objects.order_by("-id").first().after["sunset_at"] == sunset_at.isoformat()


def test_today_is_the_local_date(cast, draft, settings):
    """At noon UTC on 1 March it is already 2 March in Auckland: 2 March is not the future."""
    settings.TIME_ZONE = "Pacific/Auckland"
    version = _set_state(draft, "published")
    with pytest.raises(ValidationFailed):
        version_transition(
            version=version,
            to_state="deprecated",
            actor=Actor.for_user(cast.maintainer),
            reason="moving on",
            sunset_at=TOMORROW,
        )
    version_transition(
        version=version,
        to_state="deprecated",
        actor=Actor.for_user(cast.maintainer),
        reason="moving on",
        sunset_at=TOMORROW + datetime.timedelta(days=1),
    )


def test_sunset_is_ignored_by_moves_that_do_not_take_one(cast, draft):
    transition = version_transition(
        version=draft, to_state="published", actor=Actor.for_user(cast.owner), sunset_at=TOMORROW
    )
    draft.refresh_from_db()
    assert transition.sunset_at is None
    assert draft.sunset_at is None
    assert draft.published_at == NOW


def test_retired_is_final(cast, draft):
    assert allowed_transitions("retired") == []
    version = _set_state(draft, "retired")
    for to_state in STATES:
        with pytest.raises(Conflict):
            version_transition(
                version=version,
                to_state=to_state,
                actor=Actor.for_user(cast.owner),
                reason="try anyway",
                sunset_at=TOMORROW,
            )
    version.refresh_from_db()
    assert version.state == "retired"


def test_unknown_state_is_a_validation_error(cast, draft):
    with pytest.raises(ValidationFailed) as error:
        version_transition(version=draft, to_state="archived", actor=Actor.for_user(cast.owner))
    assert "to_state" in error.value.fields


def test_system_actor_may_move_and_everyone_in_the_team_hears(cast, draft, other_maintainer):
    version_transition(version=draft, to_state="published", actor=Actor.system())
    notified = set(Notification.objects.values_list("user_id", flat=True))
    assert notified == {cast.maintainer.pk, other_maintainer.pk}
    transition = LifecycleTransition.objects.get()
    assert transition.actor is None
    assert transition.actor_label == "system"


def test_notification_says_what_happened(cast, draft, other_maintainer):
    version = _set_state(draft, "published")
    version_transition(
        version=version,
        to_state="deprecated",
        actor=Actor.for_user(cast.maintainer),
        reason="v2 replaces it",
        sunset_at=TOMORROW,
    )
    note = Notification.objects.get()
    assert note.user == other_maintainer
    assert note.organisation == cast.org
    assert note.title == "Payments API 1.0.0 is now deprecated"
    assert "v2 replaces it" in note.body
    assert TOMORROW.isoformat() in note.body
    assert note.url == version.get_absolute_url()


# --- One transaction ----------------------------------------------------------


def test_transition_and_audit_roll_back_with_the_outer_transaction(cast, draft, other_maintainer):
    before = _counts()
    inside = []

    def move_then_fail():
        with transaction.atomic():
            version_transition(
                version=draft, to_state="published", actor=Actor.for_user(cast.maintainer)
            )
            inside.append(_counts())
            raise RuntimeError("after the move")

    with pytest.raises(RuntimeError, match="after the move"):
        move_then_fail()
    assert inside == [(before[0] + 1, before[1] + 1, before[2] + 1)]
    assert _counts() == before
    draft.refresh_from_db()
    assert draft.state == "draft"
    assert draft.published_at is None


@pytest.mark.parametrize("failing", ["audit", "notification"])
def test_a_failure_inside_the_move_leaves_nothing(failing, cast, draft, monkeypatch):
    """The move is its own transaction: if a later step fails, the earlier ones go too."""

    def fail(*args, **kwargs):
        raise RuntimeError(f"{failing} failed")

    if failing == "audit":
        monkeypatch.setattr(lifecycle, "audit_record", fail)
    else:
        monkeypatch.setattr(notifications, "lifecycle_changed", fail)
    before = _counts()
    with pytest.raises(RuntimeError, match="failed"):
        version_transition(
            version=draft, to_state="published", actor=Actor.for_user(cast.maintainer)
        )
    assert _counts() == before
    draft.refresh_from_db()
    assert draft.state == "draft"


# --- The version an API shows first -------------------------------------------


PREFERENCE = ["published", "deprecated", "prototype", "draft", "blocked", "retired"]


def _expected_current(api: Api) -> int | None:
    """Newest published, else newest deprecated, prototype, draft, blocked, retired."""
    versions = list(api.versions.order_by("-created_at", "-id"))
    for state in PREFERENCE:
        for version in versions:
            if version.state == state:
                return version.pk
    return None


def _current(api: Api) -> int | None:
    return Api.objects.values_list("current_version_id", flat=True).get(pk=api.pk)


def test_current_version_follows_the_moves(cast, api):
    actor = Actor.for_user(cast.maintainer)
    assert _current(api) is None
    labels = ["1.0", "1.1", "2.0"]
    versions = {}
    for label in labels:
        with time_machine.travel(NOW + datetime.timedelta(minutes=len(versions)), tick=False):
            versions[label] = version_create(
                api=api, raw=make_spec(version=label), version=label, actor=actor
            )
        assert _current(api) == versions[label].pk  # newest draft

    def move(label, to_state, **extra):
        version_transition(
            version=versions[label],
            to_state=to_state,
            actor=actor,
            reason="step",
            sunset_at=TOMORROW,
            **extra,
        )
        assert _current(api) == _expected_current(api), f"after {label} → {to_state}"

    move("1.0", "published")
    assert _current(api) == versions["1.0"].pk  # published beats newer drafts
    move("1.1", "prototype")
    assert _current(api) == versions["1.0"].pk
    move("1.1", "published")
    assert _current(api) == versions["1.1"].pk  # the newest published
    move("1.1", "deprecated")
    assert _current(api) == versions["1.0"].pk  # published beats deprecated
    move("1.0", "blocked")
    assert _current(api) == versions["1.1"].pk  # deprecated beats blocked
    move("1.1", "retired")
    assert _current(api) == versions["2.0"].pk  # the draft beats blocked and retired
    move("2.0", "prototype")
    move("2.0", "draft")
    move("1.0", "published")
    assert _current(api) == versions["1.0"].pk
    move("2.0", "published")
    assert _current(api) == versions["2.0"].pk


def test_blocked_and_retired_are_shown_only_when_nothing_else_is(cast, api):
    actor = Actor.for_user(cast.maintainer)
    old = version_create(api=api, raw=make_spec(version="1"), actor=actor)
    new = version_create(api=api, raw=make_spec(version="2"), actor=actor)
    _set_state(old, "retired")
    version_transition(
        version=_set_state(new, "published"), to_state="blocked", actor=actor, reason="abuse"
    )
    assert _current(api) == new.pk  # blocked beats retired
    version_transition(version=new, to_state="published", actor=actor)
    assert _current(api) == new.pk
    _set_state(new, "retired")
    version_transition(
        version=_set_state(old, "deprecated"), to_state="retired", actor=actor, reason="gone"
    )
    assert _current(api) == new.pk  # both retired: the newest
