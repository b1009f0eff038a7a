"""/api/v1/organisations/<org>/members/: list, filter, change role, remove."""

import pytest

from tenants.models import AuditEvent, Membership, TeamMembership
from tenants.roles import OrgRole
from tests.factories import member_of

MEMBERS = "/api/v1/organisations/acme/members/"


def _pk(cast, user) -> int:
    return Membership.objects.get(organisation=cast.org, user=user).pk


def _role(cast, user) -> str:
    return Membership.objects.get(organisation=cast.org, user=user).role


def test_every_member_lists_the_members(cast, api_for):
    body = api_for(cast.viewer).get(MEMBERS).json()
    assert body["count"] == 6
    emails = [m["email"] for m in body["results"]]
    assert emails == sorted(emails)
    assert "outsider@globex.test" not in emails
    assert set(body["results"][0]) == {"id", "email", "name", "role", "created_at"}


def test_members_filter_by_role_and_email(cast, api_for):
    client = api_for(cast.member)
    emails = lambda query: [m["email"] for m in client.get(MEMBERS, query).json()["results"]]  # noqa: E731
    assert emails({"role": "owner"}) == ["owner@acme.test"]
    assert emails({"role": "admin"}) == ["admin@acme.test"]
    assert emails({"email": "DEVELOPER"}) == ["developer@acme.test"]
    assert emails({"email": "globex"}) == []


def test_an_unknown_role_filter_is_400(cast, api_for, api_error):
    error = api_error(api_for(cast.member).get(MEMBERS, {"role": "emperor"}), 400, "invalid")
    assert "role" in error["fields"]


def test_retrieve_a_member(cast, api_for):
    body = api_for(cast.member).get(f"{MEMBERS}{_pk(cast, cast.admin)}/").json()
    assert (body["email"], body["role"]) == ("admin@acme.test", "admin")


def test_a_member_of_another_organisation_is_404(cast, api_for, api_error):
    theirs = Membership.objects.get(user=cast.outsider).pk
    client = api_for(cast.owner)
    api_error(client.get(f"{MEMBERS}{theirs}/"), 404, "not_found")
    api_error(client.patch(f"{MEMBERS}{theirs}/", {"role": "member"}, format="json"), 404)
    api_error(client.delete(f"{MEMBERS}{theirs}/"), 404)
    assert Membership.objects.get(pk=theirs).role == OrgRole.OWNER


# --- Roles --------------------------------------------------------------------

ROLE_CHANGES = [
    ("owner", "member", "admin", 200),
    ("owner", "member", "owner", 200),
    ("owner", "admin", "member", 200),
    ("owner", "owner", "admin", 409),  # the last owner
    ("admin", "member", "admin", 200),
    ("admin", "member", "owner", 403),
    ("admin", "owner", "member", 403),
    ("member", "developer", "admin", 403),
    ("maintainer", "member", "admin", 403),
]


@pytest.mark.parametrize(("actor", "target", "role", "status"), ROLE_CHANGES)
def test_role_changes(cast, api_for, actor, target, role, status):
    before = _role(cast, getattr(cast, target))
    events = AuditEvent.objects.count()
    response = api_for(getattr(cast, actor)).patch(
        f"{MEMBERS}{_pk(cast, getattr(cast, target))}/", {"role": role}, format="json"
    )
    assert response.status_code == status, response.content
    if status == 200:
        assert response.json()["role"] == role
        assert _role(cast, getattr(cast, target)) == role
        event = AuditEvent.objects.latest("id")
        assert (event.action, event.actor_user, event.before, event.after) == (
            "membership.role_changed",
            getattr(cast, actor),
            {"role": before},
            {"role": role},
        )
    else:
        assert set(response.json()["error"]) == {"code", "message", "fields"}
        assert _role(cast, getattr(cast, target)) == before
        assert AuditEvent.objects.count() == events


def test_role_change_only_changes_the_role(cast, api_for):
    pk = _pk(cast, cast.member)
    response = api_for(cast.owner).patch(
        f"{MEMBERS}{pk}/",
        {
            "role": "admin",
            "user": cast.outsider.pk,
            "email": "hijack@example.com",
            "organisation": cast.other_org.pk,
            "created_at": "2001-01-01T00:00:00Z",
        },
        format="json",
    )
    assert response.status_code == 200
    membership = Membership.objects.get(pk=pk)
    assert (membership.user, membership.organisation, membership.role) == (
        cast.member,
        cast.org,
        "admin",
    )
    assert membership.created_at.year > 2001
    cast.member.refresh_from_db()
    assert cast.member.email == "member@acme.test"


@pytest.mark.parametrize("payload", [{"role": "emperor"}, {"role": ""}])
def test_an_invalid_role_writes_nothing(cast, api_for, api_error, payload):
    events = AuditEvent.objects.count()
    error = api_error(
        api_for(cast.owner).patch(f"{MEMBERS}{_pk(cast, cast.member)}/", payload, format="json"),
        400,
        "invalid",
    )
    assert "role" in error["fields"]
    assert _role(cast, cast.member) == "member"
    assert AuditEvent.objects.count() == events


def test_a_patch_without_a_role_changes_nothing(cast, api_for):
    events = AuditEvent.objects.count()
    response = api_for(cast.owner).patch(f"{MEMBERS}{_pk(cast, cast.member)}/", {}, format="json")
    assert response.status_code == 200
    assert response.json()["role"] == "member"
    assert _role(cast, cast.member) == "member"
    assert AuditEvent.objects.count() == events


def test_two_owners_then_one_can_step_down(cast, api_for, api_error):
    second = member_of(cast.org, role=OrgRole.OWNER)
    client = api_for(cast.owner)
    assert (
        client.patch(f"{MEMBERS}{_pk(cast, second)}/", {"role": "admin"}, format="json").status_code
        == 200
    )
    api_error(
        client.patch(f"{MEMBERS}{_pk(cast, cast.owner)}/", {"role": "admin"}, format="json"),
        409,
        "conflict",
    )


# --- Removal ------------------------------------------------------------------

REMOVALS = [
    ("owner", "admin", 204),
    ("owner", "maintainer", 204),
    ("owner", "owner", 409),
    ("admin", "member", 204),
    ("admin", "owner", 403),
    ("member", "developer", 403),
    ("viewer", "member", 403),
]


@pytest.mark.parametrize(("actor", "target", "status"), REMOVALS)
def test_removals(cast, api_for, actor, target, status):
    user = getattr(cast, target)
    events = AuditEvent.objects.count()
    response = api_for(getattr(cast, actor)).delete(f"{MEMBERS}{_pk(cast, user)}/")
    assert response.status_code == status
    removed = status == 204
    assert Membership.objects.filter(organisation=cast.org, user=user).exists() is not removed
    assert AuditEvent.objects.count() == events + (1 if removed else 0)


def test_removal_takes_the_member_out_of_every_team(cast, api_for):
    api_for(cast.admin).delete(f"{MEMBERS}{_pk(cast, cast.maintainer)}/")
    assert not TeamMembership.objects.filter(user=cast.maintainer).exists()
    assert AuditEvent.objects.latest("id").before["teams"] == ["payments"]


def test_members_cannot_be_created_directly(cast, api_for, api_error):
    api_error(
        api_for(cast.owner).post(MEMBERS, {"email": "x@example.com"}, format="json"),
        405,
        "method_not_allowed",
    )
