"""Organisations, teams and members: who may do what, and the audit trail each write leaves."""

import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenants.actors import Actor
from tenants.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from tenants.models import AuditEvent, Membership, Organisation, Team, TeamMembership
from tenants.roles import OrgRole, TeamRole
from tenants.services import organisations
from tests.factories import (
    OrganisationFactory,
    TeamFactory,
    TeamMembershipFactory,
    UserFactory,
    member_of,
)

OK = "ok"


@pytest.fixture
def people(cast):
    """The cast plus a second admin and a second member, by name."""
    return {
        "owner": cast.owner,
        "admin": cast.admin,
        "admin2": member_of(cast.org, role=OrgRole.ADMIN, email="admin2@acme.test"),
        "member": cast.member,
        "member2": member_of(cast.org, email="member2@acme.test"),
        "maintainer": cast.maintainer,
        "outsider": cast.outsider,
    }


def _membership(cast, user) -> Membership:
    return Membership.objects.get(organisation=cast.org, user=user)


def _assert_one_event(
    events, *, action, actor, organisation, target, target_pk=None, before=None, after=None
):
    assert len(events) == 1, [e.action for e in events]
    event = events[0]
    assert event.action == action
    assert event.actor_type == AuditEvent.ActorType.USER
    assert event.actor_user == actor
    assert event.actor_label == actor.email
    assert event.organisation == organisation
    assert event.target_type == target._meta.label_lower
    assert event.target_id == str(target_pk or target.pk)
    assert event.before == before
    assert event.after == after
    return event


# --- Organisations ------------------------------------------------------------


def test_organisation_create_makes_the_creator_its_only_owner(db, new_audit_events, request_id):
    user = UserFactory()
    since = new_audit_events()

    organisation = organisations.organisation_create(name="Initech", slug="initech", owner=user)

    assert list(organisation.memberships.values_list("user", "role")) == [(user.pk, "owner")]
    event = _assert_one_event(
        since(),
        action="organisation.created",
        actor=user,
        organisation=organisation,
        target=organisation,
        after={"name": "Initech", "slug": "initech"},
    )
    assert event.request_id == request_id


@pytest.mark.parametrize("slug", ["acme", "new", "admin", "api"])
def test_organisation_create_refuses_taken_and_reserved_slugs(cast, new_audit_events, slug):
    since = new_audit_events()
    count = Organisation.objects.count()

    with pytest.raises(ValidationFailed) as info:
        organisations.organisation_create(name="Copy", slug=slug, owner=cast.member)

    assert "slug" in info.value.fields
    assert Organisation.objects.count() == count
    assert since() == []


@pytest.mark.parametrize(
    ("actor", "expected"),
    [("owner", OK), ("admin", OK), ("member", NotAllowed), ("outsider", NotAllowed)],
)
def test_organisation_update_roles(people, cast, as_user, new_audit_events, actor, expected):
    since = new_audit_events()
    call = lambda: organisations.organisation_update(  # noqa: E731
        organisation=cast.org, name="Acme Renamed", actor=as_user(people[actor])
    )
    if expected is OK:
        call()
        _assert_one_event(
            since(),
            action="organisation.updated",
            actor=people[actor],
            organisation=cast.org,
            target=cast.org,
            before={"name": "Acme Secret Works"},
            after={"name": "Acme Renamed"},
        )
    else:
        with pytest.raises(expected):
            call()
        assert since() == []
    cast.org.refresh_from_db()
    assert cast.org.name == ("Acme Renamed" if expected is OK else "Acme Secret Works")


# --- Member roles -------------------------------------------------------------

ROLE_CHANGES = [
    # actor, target, new role, outcome
    ("owner", "member", OrgRole.ADMIN, OK),
    ("owner", "member", OrgRole.OWNER, OK),
    ("owner", "admin", OrgRole.MEMBER, OK),
    ("owner", "admin", OrgRole.OWNER, OK),
    ("owner", "owner", OrgRole.ADMIN, Conflict),  # the last owner
    ("owner", "owner", OrgRole.MEMBER, Conflict),
    ("admin", "member", OrgRole.ADMIN, OK),
    ("admin", "admin2", OrgRole.MEMBER, OK),
    ("admin", "admin", OrgRole.MEMBER, OK),
    ("admin", "member", OrgRole.OWNER, NotAllowed),
    ("admin", "owner", OrgRole.ADMIN, NotAllowed),
    ("admin", "owner", OrgRole.MEMBER, NotAllowed),
    ("member", "member2", OrgRole.ADMIN, NotAllowed),
    ("member", "member", OrgRole.ADMIN, NotAllowed),
    ("member", "admin", OrgRole.MEMBER, NotAllowed),
    ("maintainer", "member", OrgRole.ADMIN, NotAllowed),
    ("outsider", "member", OrgRole.ADMIN, NotAllowed),
]


@pytest.mark.parametrize(("actor", "target", "role", "expected"), ROLE_CHANGES)
def test_membership_change_role_table(
    people, cast, as_user, new_audit_events, request_id, actor, target, role, expected
):
    membership = _membership(cast, people[target])
    old_role = membership.role
    since = new_audit_events()
    call = lambda: organisations.membership_change_role(  # noqa: E731
        membership=membership, role=role, actor=as_user(people[actor])
    )
    if expected is OK:
        call()
        event = _assert_one_event(
            since(),
            action="membership.role_changed",
            actor=people[actor],
            organisation=cast.org,
            target=membership,
            before={"role": old_role},
            after={"role": role},
        )
        assert event.request_id == request_id
        assert _membership(cast, people[target]).role == role
    else:
        with pytest.raises(expected):
            call()
        assert since() == []
        assert _membership(cast, people[target]).role == old_role


def test_membership_change_role_to_the_same_role_writes_nothing(cast, as_user, new_audit_events):
    since = new_audit_events()
    organisations.membership_change_role(
        membership=_membership(cast, cast.member), role=OrgRole.MEMBER, actor=as_user(cast.owner)
    )
    assert since() == []


def test_membership_change_role_refuses_unknown_roles(cast, as_user, new_audit_events):
    since = new_audit_events()
    with pytest.raises(ValidationFailed) as info:
        organisations.membership_change_role(
            membership=_membership(cast, cast.member), role="emperor", actor=as_user(cast.owner)
        )
    assert "role" in info.value.fields
    assert _membership(cast, cast.member).role == OrgRole.MEMBER
    assert since() == []


def test_one_of_two_owners_may_step_down_but_not_the_last(cast, as_user):
    second = member_of(cast.org, role=OrgRole.OWNER)

    organisations.membership_change_role(
        membership=_membership(cast, second), role=OrgRole.ADMIN, actor=as_user(cast.owner)
    )
    with pytest.raises(Conflict):
        organisations.membership_change_role(
            membership=_membership(cast, cast.owner), role=OrgRole.ADMIN, actor=as_user(cast.owner)
        )

    assert list(
        Membership.objects.filter(organisation=cast.org, role=OrgRole.OWNER).values_list(
            "user", flat=True
        )
    ) == [cast.owner.pk]


def test_an_owner_may_demote_themselves_when_another_owner_remains(cast, as_user):
    second = member_of(cast.org, role=OrgRole.OWNER)
    organisations.membership_change_role(
        membership=_membership(cast, cast.owner), role=OrgRole.MEMBER, actor=as_user(cast.owner)
    )
    assert _membership(cast, cast.owner).role == OrgRole.MEMBER
    assert _membership(cast, second).role == OrgRole.OWNER


def test_membership_change_role_reads_the_current_role_not_a_stale_copy(cast, as_user):
    """An admin holding an old copy of a membership that has since become an owner's
    still cannot demote it."""
    stale = _membership(cast, cast.member)
    Membership.objects.filter(pk=stale.pk).update(role=OrgRole.OWNER)
    with pytest.raises(NotAllowed):
        organisations.membership_change_role(
            membership=stale, role=OrgRole.MEMBER, actor=as_user(cast.admin)
        )
    assert _membership(cast, cast.member).role == OrgRole.OWNER


# --- Removing members ---------------------------------------------------------

REMOVALS = [
    ("owner", "member", OK),
    ("owner", "admin", OK),
    ("owner", "maintainer", OK),
    ("owner", "owner", Conflict),  # the last owner
    ("admin", "member", OK),
    ("admin", "admin2", OK),
    ("admin", "owner", NotAllowed),
    ("member", "member2", NotAllowed),
    ("member", "admin", NotAllowed),
    ("maintainer", "member", NotAllowed),
    ("outsider", "member", NotAllowed),
]


@pytest.mark.parametrize(("actor", "target", "expected"), REMOVALS)
def test_membership_remove_table(
    people, cast, as_user, new_audit_events, request_id, actor, target, expected
):
    membership = _membership(cast, people[target])
    membership_pk = membership.pk
    since = new_audit_events()
    call = lambda: organisations.membership_remove(  # noqa: E731
        membership=membership, actor=as_user(people[actor])
    )
    if expected is OK:
        teams = list(
            TeamMembership.objects.filter(user=people[target]).values_list("team__slug", flat=True)
        )
        call()
        assert not Membership.objects.filter(pk=membership_pk).exists()
        event = _assert_one_event(
            since(),
            action="membership.removed",
            actor=people[actor],
            organisation=cast.org,
            target=membership,
            target_pk=membership_pk,
            before={"user": people[target].email, "role": membership.role, "teams": teams},
        )
        assert event.request_id == request_id
    else:
        with pytest.raises(expected):
            call()
        assert Membership.objects.filter(pk=membership_pk).exists()
        assert since() == []


def test_only_owners_remove_owners_even_when_there_are_several(cast, as_user):
    second = member_of(cast.org, role=OrgRole.OWNER)
    with pytest.raises(NotAllowed):
        organisations.membership_remove(
            membership=_membership(cast, second), actor=as_user(cast.admin)
        )
    organisations.membership_remove(membership=_membership(cast, second), actor=as_user(cast.owner))
    assert not Membership.objects.filter(organisation=cast.org, user=second).exists()


def test_removing_a_member_removes_their_team_memberships_in_that_organisation_only(
    cast, as_user, new_audit_events
):
    second_team = TeamFactory(organisation=cast.org, slug="search")
    TeamMembershipFactory(team=second_team, user=cast.developer, role=TeamRole.VIEWER)
    # The same person in another organisation keeps everything there.
    Membership.objects.create(organisation=cast.other_org, user=cast.developer)
    TeamMembershipFactory(team=cast.other_team, user=cast.developer)
    since = new_audit_events()

    organisations.membership_remove(
        membership=_membership(cast, cast.developer), actor=as_user(cast.admin)
    )

    assert not TeamMembership.objects.filter(organisation=cast.org, user=cast.developer).exists()
    assert TeamMembership.objects.filter(team=cast.other_team, user=cast.developer).exists()
    assert Membership.objects.filter(organisation=cast.other_org, user=cast.developer).exists()
    (event,) = since()
    assert sorted(event.before.pop("teams")) == ["payments", "search"]
    assert event.before == {"user": cast.developer.email, "role": OrgRole.MEMBER}


def test_a_member_leaves_and_loses_their_teams(cast, new_audit_events, request_id):
    membership = _membership(cast, cast.maintainer)
    membership_pk = membership.pk
    since = new_audit_events()

    organisations.membership_leave(membership=membership)

    assert not Membership.objects.filter(pk=membership_pk).exists()
    assert not TeamMembership.objects.filter(user=cast.maintainer).exists()
    event = _assert_one_event(
        since(),
        action="membership.left",
        actor=cast.maintainer,
        organisation=cast.org,
        target=membership,
        target_pk=membership_pk,
        before={"user": cast.maintainer.email, "role": OrgRole.MEMBER, "teams": ["payments"]},
    )
    assert event.request_id == request_id


def test_the_last_owner_cannot_leave(cast, new_audit_events):
    since = new_audit_events()
    with pytest.raises(Conflict):
        organisations.membership_leave(membership=_membership(cast, cast.owner))
    assert _membership(cast, cast.owner).role == OrgRole.OWNER
    assert since() == []


def test_an_owner_may_leave_when_another_owner_remains(cast):
    member_of(cast.org, role=OrgRole.OWNER)
    organisations.membership_leave(membership=_membership(cast, cast.owner))
    assert not Membership.objects.filter(organisation=cast.org, user=cast.owner).exists()


# --- Teams --------------------------------------------------------------------

TEAM_ACTORS = [
    ("owner", OK),
    ("admin", OK),
    ("member", NotAllowed),
    ("maintainer", NotAllowed),
    ("outsider", NotAllowed),
]


@pytest.mark.parametrize(("actor", "expected"), TEAM_ACTORS)
def test_team_create_table(people, cast, as_user, new_audit_events, request_id, actor, expected):
    since = new_audit_events()
    call = lambda: organisations.team_create(  # noqa: E731
        organisation=cast.org,
        name="Search",
        slug="search",
        description="Finds things",
        actor=as_user(people[actor]),
    )
    if expected is OK:
        team = call()
        assert (team.organisation, team.slug, team.description) == (
            cast.org,
            "search",
            "Finds things",
        )
        event = _assert_one_event(
            since(),
            action="team.created",
            actor=people[actor],
            organisation=cast.org,
            target=team,
            after={"name": "Search", "slug": "search"},
        )
        assert event.request_id == request_id
    else:
        with pytest.raises(expected):
            call()
        assert not Team.objects.filter(slug="search").exists()
        assert since() == []


def test_team_slugs_are_unique_per_organisation(cast, as_user, new_audit_events):
    # Another organisation may have its own "payments".
    theirs = organisations.team_create(
        organisation=cast.other_org, name="Payments", slug="payments", actor=as_user(cast.outsider)
    )
    assert theirs.organisation == cast.other_org
    since = new_audit_events()

    with pytest.raises(ValidationFailed) as info:
        organisations.team_create(
            organisation=cast.org, name="Payments 2", slug="payments", actor=as_user(cast.owner)
        )

    assert "slug" in info.value.fields
    assert Team.objects.filter(slug="payments").count() == 2
    assert since() == []


def test_team_create_refuses_reserved_slugs(cast, as_user):
    with pytest.raises(ValidationFailed):
        organisations.team_create(
            organisation=cast.org, name="New", slug="new", actor=as_user(cast.owner)
        )


TEAM_MEMBER_SET = [
    ("owner", OK),
    ("admin", OK),
    ("member", NotAllowed),
    ("maintainer", NotAllowed),  # a team maintainer does not manage the team's people
    ("outsider", NotAllowed),
]


@pytest.mark.parametrize(("actor", "expected"), TEAM_MEMBER_SET)
def test_team_member_set_adds_table(
    people, cast, as_user, new_audit_events, request_id, actor, expected
):
    since = new_audit_events()
    call = lambda: organisations.team_member_set(  # noqa: E731
        team=cast.team, user=cast.member, role=TeamRole.VIEWER, actor=as_user(people[actor])
    )
    if expected is OK:
        team_membership = call()
        assert (team_membership.team, team_membership.organisation, team_membership.role) == (
            cast.team,
            cast.org,
            TeamRole.VIEWER,
        )
        event = _assert_one_event(
            since(),
            action="team_membership.added",
            actor=people[actor],
            organisation=cast.org,
            target=team_membership,
            after={"team": "payments", "user": cast.member.email, "role": "viewer"},
        )
        assert event.request_id == request_id
    else:
        with pytest.raises(expected):
            call()
        assert not TeamMembership.objects.filter(user=cast.member).exists()
        assert since() == []


@pytest.mark.parametrize(("actor", "expected"), TEAM_MEMBER_SET)
def test_team_member_set_changes_role_table(
    people, cast, as_user, new_audit_events, actor, expected
):
    existing = TeamMembership.objects.get(team=cast.team, user=cast.developer)
    since = new_audit_events()
    call = lambda: organisations.team_member_set(  # noqa: E731
        team=cast.team, user=cast.developer, role=TeamRole.MAINTAINER, actor=as_user(people[actor])
    )
    if expected is OK:
        assert call().pk == existing.pk
        _assert_one_event(
            since(),
            action="team_membership.role_changed",
            actor=people[actor],
            organisation=cast.org,
            target=existing,
            before={"role": "developer"},
            after={"role": "maintainer"},
        )
    else:
        with pytest.raises(expected):
            call()
        assert since() == []
    existing.refresh_from_db()
    assert existing.role == (TeamRole.MAINTAINER if expected is OK else TeamRole.DEVELOPER)


def test_team_member_set_with_the_same_role_writes_nothing(cast, as_user, new_audit_events):
    since = new_audit_events()
    organisations.team_member_set(
        team=cast.team, user=cast.developer, role=TeamRole.DEVELOPER, actor=as_user(cast.owner)
    )
    assert since() == []


def test_only_organisation_members_join_its_teams(cast, as_user, new_audit_events):
    since = new_audit_events()
    with pytest.raises(ValidationFailed) as info:
        organisations.team_member_set(
            team=cast.team, user=cast.outsider, role=TeamRole.VIEWER, actor=as_user(cast.owner)
        )
    assert "user" in info.value.fields
    assert not TeamMembership.objects.filter(team=cast.team, user=cast.outsider).exists()
    assert since() == []


def test_team_member_set_refuses_unknown_roles(cast, as_user):
    with pytest.raises(ValidationFailed):
        organisations.team_member_set(
            team=cast.team, user=cast.member, role="owner", actor=as_user(cast.owner)
        )
    assert not TeamMembership.objects.filter(user=cast.member).exists()


def test_an_admin_of_one_organisation_cannot_touch_another_organisations_team(cast, as_user):
    with pytest.raises(NotAllowed):
        organisations.team_member_set(
            team=cast.other_team,
            user=cast.outsider,
            role=TeamRole.VIEWER,
            actor=as_user(cast.owner),
        )


@pytest.mark.parametrize(("actor", "expected"), TEAM_ACTORS)
def test_team_member_remove_table(people, cast, as_user, new_audit_events, actor, expected):
    team_membership = TeamMembership.objects.get(team=cast.team, user=cast.viewer)
    team_membership_pk = team_membership.pk
    since = new_audit_events()
    call = lambda: organisations.team_member_remove(  # noqa: E731
        team_membership=team_membership, actor=as_user(people[actor])
    )
    if expected is OK:
        call()
        _assert_one_event(
            since(),
            action="team_membership.removed",
            actor=people[actor],
            organisation=cast.org,
            target=team_membership,
            target_pk=team_membership_pk,
            before={"team": "payments", "user": cast.viewer.email, "role": "viewer"},
        )
        # Leaving a team is not leaving the organisation.
        assert Membership.objects.filter(organisation=cast.org, user=cast.viewer).exists()
    else:
        with pytest.raises(expected):
            call()
        assert since() == []
    assert TeamMembership.objects.filter(pk=team_membership_pk).exists() is (expected is not OK)


@pytest.mark.parametrize(("actor", "expected"), TEAM_ACTORS)
def test_team_update_table(people, cast, as_user, new_audit_events, actor, expected):
    since = new_audit_events()
    call = lambda: organisations.team_update(  # noqa: E731
        team=cast.team, name="Payments", description="Money", actor=as_user(people[actor])
    )
    if expected is OK:
        call()
        _assert_one_event(
            since(),
            action="team.updated",
            actor=people[actor],
            organisation=cast.org,
            target=cast.team,
            before={"name": "Payments Squad", "description": ""},
            after={"name": "Payments", "description": "Money"},
        )
    else:
        with pytest.raises(expected):
            call()
        assert since() == []
    cast.team.refresh_from_db()
    assert cast.team.name == ("Payments" if expected is OK else "Payments Squad")


@pytest.mark.parametrize(("actor", "expected"), TEAM_ACTORS)
def test_team_delete_table(people, cast, as_user, new_audit_events, actor, expected):
    team_pk = cast.team.pk
    since = new_audit_events()
    call = lambda: organisations.team_delete(team=cast.team, actor=as_user(people[actor]))  # noqa: E731
    if expected is OK:
        call()
        (event,) = since()
        assert (event.action, event.actor_user, event.organisation) == (
            "team.deleted",
            people[actor],
            cast.org,
        )
        assert (event.target_id, event.before) == (
            str(team_pk),
            {"name": "Payments Squad", "slug": "payments"},
        )
        assert not TeamMembership.objects.filter(team_id=team_pk).exists()
    else:
        with pytest.raises(expected):
            call()
        assert since() == []
    assert Team.objects.filter(pk=team_pk).exists() is (expected is not OK)


def test_membership_remove_reads_the_current_role_not_a_stale_copy(cast, as_user, new_audit_events):
    """An admin holding an old copy of a membership that has since become an owner's
    still cannot remove that owner."""
    stale = _membership(cast, cast.member)
    Membership.objects.filter(pk=stale.pk).update(role=OrgRole.OWNER)
    since = new_audit_events()
    with pytest.raises(NotAllowed):
        organisations.membership_remove(membership=stale, actor=as_user(cast.admin))
    assert _membership(cast, cast.member).role == OrgRole.OWNER
    assert since() == []


def test_membership_remove_of_a_membership_already_gone_is_not_found(cast, as_user):
    stale = _membership(cast, cast.member)
    Membership.objects.filter(pk=stale.pk).delete()
    with pytest.raises(NotFound):
        organisations.membership_remove(membership=stale, actor=as_user(cast.admin))


def test_leaving_reads_the_current_role_not_a_stale_copy(cast):
    """A member promoted to owner while the last owner stepped down cannot leave on the
    strength of an old copy that still says member."""
    stale = _membership(cast, cast.member)
    Membership.objects.filter(pk=stale.pk).update(role=OrgRole.OWNER)
    Membership.objects.filter(organisation=cast.org, user=cast.owner).update(role=OrgRole.ADMIN)
    with pytest.raises(Conflict):
        organisations.membership_leave(membership=stale)
    assert _membership(cast, cast.member).role == OrgRole.OWNER


# --- Concurrency --------------------------------------------------------------


def test_the_owners_are_locked_before_the_member(cast, as_user):
    """Two owners demoting each other at once both take the owners' locks first, in one
    order, so one waits for the other instead of the two deadlocking."""
    second = member_of(cast.org, role=OrgRole.OWNER)
    with CaptureQueriesContext(connection) as queries:
        organisations.membership_change_role(
            membership=_membership(cast, second), role=OrgRole.ADMIN, actor=as_user(cast.owner)
        )
    locks = [q["sql"] for q in queries.captured_queries if "FOR UPDATE" in q["sql"]]
    assert "'owner'" in locks[0]
    assert "ORDER BY" in locks[0]
    assert f'"tenants_membership"."id" = {_membership(cast, second).pk}' in locks[1]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("service", ["change_role", "remove"])
def test_two_owners_acting_on_each_other_at_once_leave_one_owner(service):
    organisation = OrganisationFactory(slug="duel")
    first = member_of(organisation, role=OrgRole.OWNER)
    second = member_of(organisation, role=OrgRole.OWNER)
    start = threading.Barrier(2, timeout=10)
    outcomes = []

    def act(actor, target):
        membership = Membership.objects.get(organisation=organisation, user=target)
        start.wait()
        try:
            if service == "change_role":
                organisations.membership_change_role(
                    membership=membership, role=OrgRole.ADMIN, actor=Actor.for_user(actor)
                )
            else:
                organisations.membership_remove(membership=membership, actor=Actor.for_user(actor))
            outcomes.append("done")
        except (Conflict, NotAllowed, NotFound) as error:
            outcomes.append(type(error).__name__)
        except Exception as error:  # a deadlock or any other database error
            outcomes.append(repr(error))
        finally:
            connection.close()

    threads = [
        threading.Thread(target=act, args=(first, second)),
        threading.Thread(target=act, args=(second, first)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert "done" in outcomes
    assert set(outcomes) <= {"done", "Conflict", "NotAllowed", "NotFound"}, outcomes
    assert Membership.objects.filter(organisation=organisation, role=OrgRole.OWNER).count() == 1


def test_a_slug_taken_between_check_and_insert_is_a_validation_error(cast, monkeypatch):
    """As if a concurrent request created the same slug right after the existence check:
    the unique constraint answers, and the caller gets the same error as usual."""
    from django.db.models import QuerySet

    monkeypatch.setattr(QuerySet, "exists", lambda self: False)
    with pytest.raises(ValidationFailed) as info:
        organisations.organisation_create(name="Copy", slug="acme", owner=cast.member)
    assert "slug" in info.value.fields
    with pytest.raises(ValidationFailed) as info:
        organisations.team_create(
            organisation=cast.org,
            name="Copy",
            slug="payments",
            actor=Actor.for_user(cast.owner),
        )
    assert "slug" in info.value.fields
    monkeypatch.undo()
    assert Organisation.objects.filter(slug="acme").count() == 1
    assert Team.objects.filter(organisation=cast.org, slug="payments").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_adds_to_a_team_make_one_team_membership(monkeypatch):
    organisation = OrganisationFactory(slug="double-click")
    owner = member_of(organisation, role=OrgRole.OWNER)
    newcomer = member_of(organisation)
    team = TeamFactory(organisation=organisation, slug="squad")
    checked = threading.Barrier(2, timeout=10)
    original = organisations.require_org_admin

    def check_then_wait(**kwargs):
        role = original(**kwargs)
        checked.wait()
        return role

    monkeypatch.setattr(organisations, "require_org_admin", check_then_wait)
    outcomes = []

    def add():
        try:
            organisations.team_member_set(
                team=team, user=newcomer, role=TeamRole.VIEWER, actor=Actor.for_user(owner)
            )
            outcomes.append("done")
        except Conflict:
            outcomes.append("Conflict")
        except Exception as error:  # an IntegrityError would surface here
            outcomes.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=add) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes) in (["Conflict", "done"], ["done", "done"]), outcomes
    assert TeamMembership.objects.filter(team=team, user=newcomer).count() == 1
    assert AuditEvent.objects.filter(action="team_membership.added").count() == 1
