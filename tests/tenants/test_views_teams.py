"""Team pages: list and create, detail, edit and delete, and the htmx member actions."""

import json
import re

import pytest
from django.urls import reverse

from tenants.models import AuditEvent, Team, TeamMembership
from tests.factories import TeamFactory

HTMX = {"HTTP_HX_REQUEST": "true"}


def url(name, **kwargs):
    return reverse(f"tenants:{name}", kwargs={"org": "acme", **kwargs})


def team_url(name, **kwargs):
    return url(name, team="payments", **kwargs)


def _counts():
    return (Team.objects.count(), TeamMembership.objects.count(), AuditEvent.objects.count())


def _assert_partial(response, *, message: str):
    """An htmx answer: the members section and the out-of-band messages, no full page."""
    html = response.content.decode()
    assert "<html" not in html
    assert 'id="team-members"' in html
    assert 'id="messages" aria-live="polite" hx-swap-oob="true"' in html
    assert message in html.split('hx-swap-oob="true"')[1]


def _tm(cast, user) -> TeamMembership:
    return TeamMembership.objects.get(team=cast.team, user=user)


# --- List and create ----------------------------------------------------------


@pytest.mark.parametrize("who", ["owner", "admin", "member", "viewer"])
def test_every_member_sees_the_team_list(cast, client_for, who):
    response = client_for(getattr(cast, who)).get(url("team_list"))
    assert response.status_code == 200
    assert b"Payments Squad" in response.content
    assert b"Globex Team" not in response.content


def test_only_admins_see_the_new_team_form(cast, client_for):
    assert b"Create team" in client_for(cast.admin).get(url("team_list")).content
    assert b"Create team" not in client_for(cast.member).get(url("team_list")).content


def test_admins_create_a_team_and_land_on_it(cast, client_for):
    response = client_for(cast.admin).post(
        url("team_list"), {"name": "Search", "slug": "Search", "description": "Finds"}
    )
    assert response.status_code == 302
    assert response["Location"] == url("team", team="search")
    assert Team.objects.get(organisation=cast.org, slug="search").description == "Finds"


def test_members_cannot_create_teams(cast, client_for):
    before = _counts()
    response = client_for(cast.maintainer).post(url("team_list"), {"name": "S", "slug": "s"})
    assert response.status_code == 403
    assert _counts() == before


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"name": "Again", "slug": "payments"},
            "A team with this slug exists in this organisation.",
        ),
        ({"name": "", "slug": "fine"}, "This field is required."),
        ({"name": "Bad", "slug": "bad slug"}, "Enter a valid"),
        ({"name": "New", "slug": "new"}, "is reserved"),
    ],
)
def test_create_with_errors_answers_400_and_writes_nothing(cast, client_for, data, message):
    before = _counts()
    response = client_for(cast.admin).post(url("team_list"), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert b"field--invalid" in response.content
    assert _counts() == before


def test_another_organisation_may_have_its_own_payments(cast, client_for):
    response = client_for(cast.outsider).post(
        reverse("tenants:team_list", kwargs={"org": "globex"}), {"name": "P", "slug": "payments"}
    )
    assert response.status_code == 302
    assert Team.objects.filter(slug="payments").count() == 2


# --- Detail -------------------------------------------------------------------


def test_members_see_the_team_without_controls(cast, client_for):
    response = client_for(cast.viewer).get(team_url("team"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "maintainer@acme.test" in html
    assert "Add a member" not in html
    assert "Delete team" not in html


def test_admins_see_the_controls_and_only_candidates_to_add(cast, client_for):
    html = client_for(cast.admin).get(team_url("team")).content.decode()
    assert "Add a member" in html
    assert "Delete team" in html
    add_form = html.split("Add a member")[1]
    assert "member@acme.test" in add_form
    assert "viewer@acme.test" not in add_form  # already in the team
    assert "outsider@globex.test" not in add_form


def test_a_team_of_another_organisation_is_404(cast, client_for):
    response = client_for(cast.owner).get(url("team", team="globex-team"))
    assert response.status_code == 404
    assert b"Globex Team" not in response.content


# --- Add a member -------------------------------------------------------------


def test_htmx_add_answers_with_the_members_partial(cast, client_for):
    response = client_for(cast.admin).post(
        team_url("team_member_add"), {"user": cast.member.pk, "role": "viewer"}, **HTMX
    )
    assert response.status_code == 200
    _assert_partial(response, message="member@acme.test joined the team.")
    assert _tm(cast, cast.member).role == "viewer"
    assert AuditEvent.objects.filter(action="team_membership.added").count() == 1


def test_plain_add_redirects_to_the_team(cast, client_for):
    response = client_for(cast.admin).post(
        team_url("team_member_add"), {"user": cast.member.pk, "role": "developer"}
    )
    assert response.status_code == 302
    assert response["Location"] == team_url("team")
    assert _tm(cast, cast.member).role == "developer"


@pytest.mark.parametrize(
    "data",
    [
        {"user": "", "role": "viewer"},
        {"role": "viewer"},
        {"user": "999999", "role": "viewer"},
        {"user": "outsider", "role": "viewer"},  # replaced below by the outsider's id
        {"user": "member", "role": "owner"},
    ],
)
def test_invalid_add_answers_400_and_writes_nothing(cast, client_for, data):
    data = dict(data)
    if data.get("user") in ("outsider", "member"):
        data["user"] = getattr(cast, data["user"]).pk
    before = _counts()
    client = client_for(cast.admin)
    full = client.post(team_url("team_member_add"), data)
    partial = client.post(team_url("team_member_add"), data, **HTMX)
    assert full.status_code == partial.status_code == 400
    assert b"<html" in full.content
    assert b"<html" not in partial.content
    assert b"field-error" in partial.content
    assert _counts() == before


def test_members_cannot_add(cast, client_for):
    before = _counts()
    response = client_for(cast.maintainer).post(
        team_url("team_member_add"), {"user": cast.member.pk, "role": "viewer"}, **HTMX
    )
    assert response.status_code == 403
    assert _counts() == before


def test_add_is_post_only(cast, client_for):
    assert client_for(cast.admin).get(team_url("team_member_add")).status_code == 405


# --- Change a team role -------------------------------------------------------


def test_htmx_role_change_answers_with_the_partial(cast, client_for):
    viewer = _tm(cast, cast.viewer)
    response = client_for(cast.owner).post(
        team_url("team_member_role", pk=viewer.pk), {"role": "maintainer"}, **HTMX
    )
    assert response.status_code == 200
    _assert_partial(response, message="viewer@acme.test is now maintainer.")
    viewer.refresh_from_db()
    assert viewer.role == "maintainer"


def test_plain_role_change_redirects(cast, client_for):
    viewer = _tm(cast, cast.viewer)
    response = client_for(cast.owner).post(
        team_url("team_member_role", pk=viewer.pk), {"role": "developer"}
    )
    assert response.status_code == 302
    assert response["Location"] == team_url("team")
    viewer.refresh_from_db()
    assert viewer.role == "developer"


def test_an_invalid_role_changes_nothing_and_says_so(cast, client_for):
    viewer = _tm(cast, cast.viewer)
    before = _counts()
    response = client_for(cast.owner).post(
        team_url("team_member_role", pk=viewer.pk), {"role": "owner"}, **HTMX
    )
    _assert_partial(response, message="Choose a valid role.")
    viewer.refresh_from_db()
    assert viewer.role == "viewer"
    assert _counts() == before


def test_members_cannot_change_team_roles(cast, client_for):
    viewer = _tm(cast, cast.viewer)
    response = client_for(cast.maintainer).post(
        team_url("team_member_role", pk=viewer.pk), {"role": "maintainer"}, **HTMX
    )
    assert response.status_code == 403
    viewer.refresh_from_db()
    assert viewer.role == "viewer"


def test_a_team_membership_of_another_team_is_404(cast, client_for):
    TeamFactory(organisation=cast.org, slug="search")
    theirs = TeamMembership.objects.get(team=cast.other_team)
    viewer = _tm(cast, cast.viewer)
    client = client_for(cast.owner)
    assert (
        client.post(team_url("team_member_role", pk=theirs.pk), {"role": "viewer"}).status_code
        == 404
    )
    assert client.post(url("team_member_remove", team="search", pk=viewer.pk)).status_code == 404
    assert TeamMembership.objects.filter(pk=viewer.pk).exists()


# --- Remove from the team -----------------------------------------------------


def test_htmx_remove_answers_with_the_partial(cast, client_for):
    viewer = _tm(cast, cast.viewer)
    response = client_for(cast.admin).post(team_url("team_member_remove", pk=viewer.pk), **HTMX)
    assert response.status_code == 200
    _assert_partial(response, message="viewer@acme.test left the team.")
    assert "viewer@acme.test</td>" not in response.content.decode()
    assert not TeamMembership.objects.filter(pk=viewer.pk).exists()


def test_plain_remove_redirects(cast, client_for):
    viewer = _tm(cast, cast.viewer)
    response = client_for(cast.admin).post(team_url("team_member_remove", pk=viewer.pk))
    assert response.status_code == 302
    assert not TeamMembership.objects.filter(pk=viewer.pk).exists()


def test_members_cannot_remove(cast, client_for):
    viewer = _tm(cast, cast.viewer)
    response = client_for(cast.member).post(team_url("team_member_remove", pk=viewer.pk), **HTMX)
    assert response.status_code == 403
    assert TeamMembership.objects.filter(pk=viewer.pk).exists()


# --- Edit and delete ----------------------------------------------------------


def test_admins_edit_a_team(cast, client_for):
    response = client_for(cast.admin).post(
        team_url("team_edit"), {"name": "Payments", "description": "Money"}
    )
    assert response.status_code == 302
    cast.team.refresh_from_db()
    assert (cast.team.name, cast.team.description) == ("Payments", "Money")


def test_an_invalid_edit_answers_400_with_the_field_error_and_writes_nothing(cast, client_for):
    before = _counts()
    response = client_for(cast.admin).post(team_url("team_edit"), {"name": "", "description": ""})
    assert response.status_code == 400
    html = response.content.decode()
    assert "field--invalid" in html
    assert "This field is required." in html
    cast.team.refresh_from_db()
    assert cast.team.name == "Payments Squad"
    assert _counts() == before


def test_members_cannot_edit(cast, client_for):
    response = client_for(cast.maintainer).post(team_url("team_edit"), {"name": "Mine"})
    assert response.status_code == 403
    cast.team.refresh_from_db()
    assert cast.team.name == "Payments Squad"


def test_admins_delete_a_team(cast, client_for):
    response = client_for(cast.admin).post(team_url("team_delete"), follow=True)
    assert response.redirect_chain == [(url("team_list"), 302)]
    assert b"Team Payments Squad deleted." in response.content
    assert not Team.objects.filter(pk=cast.team.pk).exists()


def test_members_cannot_delete(cast, client_for):
    assert client_for(cast.maintainer).post(team_url("team_delete")).status_code == 403
    assert Team.objects.filter(pk=cast.team.pk).exists()


def test_delete_is_post_only(cast, client_for):
    assert client_for(cast.admin).get(team_url("team_delete")).status_code == 405
    assert Team.objects.filter(pk=cast.team.pk).exists()


def test_htmx_swaps_the_400_answer_of_a_form_with_errors(cast, client_for):
    """htmx leaves 4xx answers unswapped unless told otherwise; the layout tells it to
    swap 400, so the add form's field errors reach the page."""
    html = client_for(cast.admin).get(team_url("team")).content.decode()
    config = json.loads(html.split('<meta name="htmx-config" content=\'')[1].split("'>")[0])
    rules = config["responseHandling"]
    first_match = next(rule for rule in rules if re.fullmatch(rule["code"], "400"))
    assert first_match["swap"] is True
    assert next(rule for rule in rules if re.fullmatch(rule["code"], "403"))["swap"] is False
    assert next(rule for rule in rules if re.fullmatch(rule["code"], "204"))["swap"] is False
