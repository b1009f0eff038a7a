"""/api/v1/organisations/<org>/teams/ and their members."""

import pytest

from tenants.models import AuditEvent, Team, TeamMembership
from tests.factories import TeamFactory

TEAMS = "/api/v1/organisations/acme/teams/"
TEAM = f"{TEAMS}payments/"
MEMBERS = f"{TEAM}members/"


def _counts():
    return (Team.objects.count(), TeamMembership.objects.count(), AuditEvent.objects.count())


# --- Teams --------------------------------------------------------------------


def test_members_list_the_teams_of_their_organisation_only(cast, api_for):
    body = api_for(cast.member).get(TEAMS).json()
    assert [(t["slug"], t["name"], t["member_count"]) for t in body["results"]] == [
        ("payments", "Payments Squad", 3)
    ]
    assert set(body["results"][0]) == {"slug", "name", "description", "member_count", "created_at"}


def test_teams_filter_by_name(cast, api_for):
    TeamFactory(organisation=cast.org, name="Search", slug="search")
    TeamFactory(organisation=cast.org, name="Payouts", slug="payouts")
    client = api_for(cast.member)
    slugs = lambda query: [t["slug"] for t in client.get(TEAMS, query).json()["results"]]  # noqa: E731
    assert slugs({"name": "pay"}) == ["payments", "payouts"]
    assert slugs({"name": "SEARCH"}) == ["search"]
    assert slugs({"name": "globex"}) == []


def test_retrieve_a_team(cast, api_for):
    body = api_for(cast.viewer).get(TEAM).json()
    assert (body["slug"], body["member_count"]) == ("payments", 3)


def test_a_team_of_another_organisation_is_404_under_mine(cast, api_for, api_error):
    api_error(api_for(cast.owner).get(f"{TEAMS}globex-team/"), 404, "not_found")
    api_error(api_for(cast.owner).get(f"{TEAMS}globex-team/members/"), 404, "not_found")


@pytest.mark.parametrize("who", ["owner", "admin"])
def test_owners_and_admins_create_teams(cast, api_for, who, new_audit_events):
    since = new_audit_events()
    response = api_for(getattr(cast, who)).post(
        TEAMS, {"name": "Search", "slug": "Search", "description": "Finds"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["slug"] == "search"
    team = Team.objects.get(slug="search")
    assert (team.organisation, team.description) == (cast.org, "Finds")
    assert [e.action for e in since()] == ["team.created"]


@pytest.mark.parametrize("who", ["member", "maintainer"])
def test_members_cannot_create_teams(cast, api_for, api_error, who):
    before = _counts()
    api_error(
        api_for(getattr(cast, who)).post(TEAMS, {"name": "S", "slug": "s"}, format="json"),
        403,
        "permission_denied",
    )
    assert _counts() == before


def test_create_ignores_organisation_id_and_read_only_fields(cast, api_for):
    response = api_for(cast.owner).post(
        TEAMS,
        {
            "name": "Search",
            "slug": "search",
            "organisation": cast.other_org.pk,
            "organisation_id": cast.other_org.pk,
            "id": 99999,
            "member_count": 50,
            "created_at": "2001-01-01T00:00:00Z",
        },
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["member_count"] == 0
    team = Team.objects.get(slug="search")
    assert team.organisation == cast.org
    assert team.pk != 99999
    assert team.created_at.year > 2001


def test_the_same_slug_is_fine_in_two_organisations(cast, api_for):
    response = api_for(cast.outsider).post(
        "/api/v1/organisations/globex/teams/", {"name": "Pay", "slug": "payments"}, format="json"
    )
    assert response.status_code == 201
    assert Team.objects.filter(slug="payments").count() == 2


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "Again", "slug": "payments"}, "slug"),
        ({"name": "Again", "slug": "PAYMENTS"}, "slug"),
        ({"name": "New", "slug": "new"}, "slug"),
        ({"name": "Bad", "slug": "bad slug!"}, "slug"),
        ({"name": "", "slug": "fine"}, "name"),
        ({"slug": "fine"}, "name"),
        ({"name": "Fine"}, "slug"),
        ({"name": "Long", "slug": "long", "description": "x" * 2001}, "description"),
    ],
)
def test_invalid_team_create_writes_nothing(cast, api_for, api_error, payload, field):
    before = _counts()
    error = api_error(api_for(cast.owner).post(TEAMS, payload, format="json"), 400, "invalid")
    assert field in error["fields"]
    assert _counts() == before


def test_update_a_team(cast, api_for, new_audit_events):
    since = new_audit_events()
    response = api_for(cast.admin).patch(
        TEAM, {"name": "Payments", "description": "Money in, money out"}, format="json"
    )
    assert response.status_code == 200
    cast.team.refresh_from_db()
    assert (cast.team.name, cast.team.description) == ("Payments", "Money in, money out")
    assert [e.action for e in since()] == ["team.updated"]


def test_patch_changes_only_what_it_is_given(cast, api_for):
    Team.objects.filter(pk=cast.team.pk).update(description="Keep me")
    response = api_for(cast.admin).patch(TEAM, {"name": "Payments"}, format="json")
    assert response.status_code == 200
    response = api_for(cast.admin).patch(TEAM, {"description": "New words"}, format="json")
    assert response.status_code == 200
    cast.team.refresh_from_db()
    assert (cast.team.name, cast.team.description) == ("Payments", "New words")


def test_update_cannot_change_slug_or_organisation(cast, api_for):
    api_for(cast.admin).patch(
        TEAM,
        {"name": "Payments", "slug": "moved", "organisation": cast.other_org.pk},
        format="json",
    )
    cast.team.refresh_from_db()
    assert (cast.team.slug, cast.team.organisation) == ("payments", cast.org)


def test_members_cannot_update_teams(cast, api_for, api_error):
    api_error(
        api_for(cast.maintainer).patch(TEAM, {"name": "Mine"}, format="json"),
        403,
        "permission_denied",
    )
    cast.team.refresh_from_db()
    assert cast.team.name == "Payments Squad"


def test_an_invalid_update_writes_nothing(cast, api_for, api_error):
    before = _counts()
    api_error(api_for(cast.admin).patch(TEAM, {"name": ""}, format="json"), 400, "invalid")
    cast.team.refresh_from_db()
    assert cast.team.name == "Payments Squad"
    assert _counts() == before


def test_delete_a_team(cast, api_for, new_audit_events):
    since = new_audit_events()
    assert api_for(cast.admin).delete(TEAM).status_code == 204
    assert not Team.objects.filter(pk=cast.team.pk).exists()
    assert [e.action for e in since()] == ["team.deleted"]


def test_members_cannot_delete_teams(cast, api_for, api_error):
    api_error(api_for(cast.member).delete(TEAM), 403, "permission_denied")
    assert Team.objects.filter(pk=cast.team.pk).exists()


def test_the_outsider_cannot_touch_teams(cast, api_for, api_error):
    client = api_for(cast.outsider)
    api_error(client.get(TEAMS), 404)
    api_error(client.post(TEAMS, {"name": "X", "slug": "x"}, format="json"), 404)
    api_error(client.patch(TEAM, {"name": "X"}, format="json"), 404)
    api_error(client.delete(TEAM), 404)
    assert Team.objects.filter(pk=cast.team.pk, name="Payments Squad").exists()


def test_put_is_not_offered(cast, api_for, api_error):
    api_error(
        api_for(cast.owner).put(TEAM, {"name": "X", "slug": "x"}, format="json"),
        405,
        "method_not_allowed",
    )


# --- Team members -------------------------------------------------------------


def test_list_team_members(cast, api_for):
    body = api_for(cast.viewer).get(MEMBERS).json()
    assert [(m["email"], m["role"]) for m in body["results"]] == [
        ("developer@acme.test", "developer"),
        ("maintainer@acme.test", "maintainer"),
        ("viewer@acme.test", "viewer"),
    ]
    assert set(body["results"][0]) == {"id", "email", "role", "created_at"}


def test_team_members_filter_by_role_and_email(cast, api_for):
    client = api_for(cast.viewer)
    emails = lambda query: [m["email"] for m in client.get(MEMBERS, query).json()["results"]]  # noqa: E731
    assert emails({"role": "maintainer"}) == ["maintainer@acme.test"]
    assert emails({"email": "VIEW"}) == ["viewer@acme.test"]


def test_add_a_member_by_email(cast, api_for, new_audit_events):
    since = new_audit_events()
    response = api_for(cast.admin).post(
        MEMBERS, {"email": "MEMBER@acme.test", "role": "viewer"}, format="json"
    )
    assert response.status_code == 201
    assert (response.json()["email"], response.json()["role"]) == ("member@acme.test", "viewer")
    membership = TeamMembership.objects.get(team=cast.team, user=cast.member)
    assert (membership.role, membership.organisation) == ("viewer", cast.org)
    assert [e.action for e in since()] == ["team_membership.added"]


def test_add_ignores_user_organisation_and_team_in_the_payload(cast, api_for):
    response = api_for(cast.admin).post(
        MEMBERS,
        {
            "email": "member@acme.test",
            "role": "viewer",
            "user": cast.outsider.pk,
            "organisation": cast.other_org.pk,
            "team": cast.other_team.pk,
        },
        format="json",
    )
    assert response.status_code == 201
    added = TeamMembership.objects.get(pk=response.json()["id"])
    assert (added.user, added.team, added.organisation) == (cast.member, cast.team, cast.org)
    assert not TeamMembership.objects.filter(user=cast.outsider, team=cast.team).exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"email": "outsider@globex.test", "role": "viewer"}, "email"),  # not in the org
        ({"email": "nobody@example.com", "role": "viewer"}, "email"),
        ({"email": "not an address", "role": "viewer"}, "email"),
        ({"email": "member@acme.test", "role": "owner"}, "role"),
        ({"email": "member@acme.test"}, "role"),
    ],
)
def test_invalid_add_writes_nothing(cast, api_for, api_error, payload, field):
    before = _counts()
    error = api_error(api_for(cast.admin).post(MEMBERS, payload, format="json"), 400, "invalid")
    assert field in error["fields"]
    assert _counts() == before


def test_change_a_team_role(cast, api_for, new_audit_events):
    developer = TeamMembership.objects.get(team=cast.team, user=cast.developer)
    since = new_audit_events()
    response = api_for(cast.owner).patch(
        f"{MEMBERS}{developer.pk}/",
        {"role": "maintainer", "user": cast.owner.pk, "email": "owner@acme.test"},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["email"] == "developer@acme.test"
    developer.refresh_from_db()
    assert (developer.role, developer.user) == ("maintainer", cast.developer)
    assert [e.action for e in since()] == ["team_membership.role_changed"]


def test_remove_from_a_team(cast, api_for, new_audit_events):
    viewer = TeamMembership.objects.get(team=cast.team, user=cast.viewer)
    since = new_audit_events()
    assert api_for(cast.admin).delete(f"{MEMBERS}{viewer.pk}/").status_code == 204
    assert not TeamMembership.objects.filter(pk=viewer.pk).exists()
    assert [e.action for e in since()] == ["team_membership.removed"]


@pytest.mark.parametrize("who", ["member", "maintainer"])
def test_members_cannot_manage_team_members(cast, api_for, api_error, who):
    viewer = TeamMembership.objects.get(team=cast.team, user=cast.viewer)
    client = api_for(getattr(cast, who))
    before = _counts()
    api_error(
        client.post(MEMBERS, {"email": "member@acme.test", "role": "viewer"}, format="json"),
        403,
        "permission_denied",
    )
    api_error(client.patch(f"{MEMBERS}{viewer.pk}/", {"role": "maintainer"}, format="json"), 403)
    api_error(client.delete(f"{MEMBERS}{viewer.pk}/"), 403)
    assert _counts() == before
    viewer.refresh_from_db()
    assert viewer.role == "viewer"


def test_a_team_membership_of_another_team_is_404(cast, api_for, api_error):
    TeamFactory(organisation=cast.org, slug="search")
    theirs = TeamMembership.objects.get(team=cast.other_team)
    mine = TeamMembership.objects.get(team=cast.team, user=cast.viewer)
    client = api_for(cast.owner)
    api_error(client.get(f"{MEMBERS}{theirs.pk}/"), 404)
    api_error(client.delete(f"{MEMBERS}{theirs.pk}/"), 404)
    # The right id under the wrong team is no better.
    api_error(client.get(f"{TEAMS}search/members/{mine.pk}/"), 404)
    assert TeamMembership.objects.filter(pk=theirs.pk).exists()


def test_update_answers_with_the_member_count(cast, api_for):
    body = api_for(cast.admin).patch(TEAM, {"name": "Payments"}, format="json").json()
    assert body["member_count"] == 3


def test_retrieve_a_team_member(cast, api_for):
    maintainer = TeamMembership.objects.get(team=cast.team, user=cast.maintainer)
    body = api_for(cast.member).get(f"{MEMBERS}{maintainer.pk}/").json()
    assert (body["id"], body["email"], body["role"]) == (
        maintainer.pk,
        "maintainer@acme.test",
        "maintainer",
    )
