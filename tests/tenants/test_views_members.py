"""The members page and its htmx role and removal actions."""

import pytest
from django.urls import reverse

from tenants.models import AuditEvent, Membership, TeamMembership
from tenants.roles import OrgRole

HTMX = {"HTTP_HX_REQUEST": "true"}
MEMBERS = reverse("tenants:member_list", kwargs={"org": "acme"})


def url(name, user_membership):
    return reverse(f"tenants:{name}", kwargs={"org": "acme", "pk": user_membership.pk})


def _m(cast, user) -> Membership:
    return Membership.objects.get(organisation=cast.org, user=user)


def _assert_partial(response, *, message: str):
    html = response.content.decode()
    assert "<html" not in html
    assert 'id="org-members"' in html
    assert 'id="messages" aria-live="polite" hx-swap-oob="true"' in html
    assert message in html.split('hx-swap-oob="true"')[1]


@pytest.mark.parametrize("who", ["owner", "admin", "member", "viewer"])
def test_every_member_sees_the_members(cast, client_for, who):
    response = client_for(getattr(cast, who)).get(MEMBERS)
    assert response.status_code == 200
    html = response.content.decode()
    for email in ("owner@acme.test", "member@acme.test", "viewer@acme.test"):
        assert email in html
    assert "outsider@globex.test" not in html


def test_admins_see_controls_members_do_not(cast, client_for):
    assert b"hx-post" in client_for(cast.admin).get(MEMBERS).content
    assert b"hx-post" not in client_for(cast.member).get(MEMBERS).content


def test_the_outsider_gets_404(cast, client_for):
    assert client_for(cast.outsider).get(MEMBERS).status_code == 404


# --- Role ---------------------------------------------------------------------


def test_htmx_role_change_answers_with_the_partial(cast, client_for):
    response = client_for(cast.admin).post(
        url("member_role", _m(cast, cast.member)), {"role": "admin"}, **HTMX
    )
    assert response.status_code == 200
    _assert_partial(response, message="member@acme.test is now admin.")
    assert _m(cast, cast.member).role == OrgRole.ADMIN
    assert AuditEvent.objects.filter(action="membership.role_changed").count() == 1


def test_plain_role_change_redirects_to_the_members(cast, client_for):
    response = client_for(cast.admin).post(
        url("member_role", _m(cast, cast.member)), {"role": "admin"}
    )
    assert response.status_code == 302
    assert response["Location"] == MEMBERS
    assert _m(cast, cast.member).role == OrgRole.ADMIN


@pytest.mark.parametrize(
    ("actor", "target", "role", "message"),
    [
        ("admin", "member", "owner", "Only owners may grant or take away the owner role."),
        ("admin", "owner", "member", "Only owners may grant or take away the owner role."),
        ("owner", "owner", "admin", "An organisation needs at least one owner"),
        ("owner", "member", "emperor", "Choose a valid role."),
    ],
)
def test_refused_role_changes_say_why_and_change_nothing(
    cast, client_for, actor, target, role, message
):
    before = _m(cast, getattr(cast, target)).role
    events = AuditEvent.objects.count()
    response = client_for(getattr(cast, actor)).post(
        url("member_role", _m(cast, getattr(cast, target))), {"role": role}, **HTMX
    )
    _assert_partial(response, message=message)
    assert _m(cast, getattr(cast, target)).role == before
    assert AuditEvent.objects.count() == events


def test_members_cannot_change_roles(cast, client_for):
    response = client_for(cast.member).post(
        url("member_role", _m(cast, cast.viewer)), {"role": "admin"}, **HTMX
    )
    assert response.status_code == 403
    assert _m(cast, cast.viewer).role == OrgRole.MEMBER


def test_a_member_of_another_organisation_is_404(cast, client_for):
    theirs = Membership.objects.get(user=cast.outsider)
    client = client_for(cast.owner)
    assert client.post(url("member_role", theirs), {"role": "member"}).status_code == 404
    assert client.post(url("member_remove", theirs)).status_code == 404
    assert Membership.objects.get(pk=theirs.pk).role == OrgRole.OWNER


# --- Remove -------------------------------------------------------------------


def test_htmx_remove_answers_with_the_partial_and_removes_teams(cast, client_for):
    membership = _m(cast, cast.maintainer)
    response = client_for(cast.admin).post(url("member_remove", membership), **HTMX)
    assert response.status_code == 200
    _assert_partial(response, message="maintainer@acme.test was removed from the organisation.")
    assert "maintainer@acme.test</td>" not in response.content.decode()
    assert not Membership.objects.filter(pk=membership.pk).exists()
    assert not TeamMembership.objects.filter(user=cast.maintainer).exists()


def test_plain_remove_redirects(cast, client_for):
    response = client_for(cast.admin).post(url("member_remove", _m(cast, cast.member)))
    assert response.status_code == 302
    assert response["Location"] == MEMBERS
    assert not Membership.objects.filter(organisation=cast.org, user=cast.member).exists()


def test_admins_cannot_remove_owners(cast, client_for):
    response = client_for(cast.admin).post(url("member_remove", _m(cast, cast.owner)), **HTMX)
    _assert_partial(response, message="Only owners may remove an owner.")
    assert Membership.objects.filter(organisation=cast.org, user=cast.owner).exists()


def test_members_cannot_remove(cast, client_for):
    response = client_for(cast.member).post(url("member_remove", _m(cast, cast.viewer)), **HTMX)
    assert response.status_code == 403
    assert Membership.objects.filter(organisation=cast.org, user=cast.viewer).exists()


def test_actions_are_post_only(cast, client_for):
    client = client_for(cast.owner)
    assert client.get(url("member_role", _m(cast, cast.member))).status_code == 405
    assert client.get(url("member_remove", _m(cast, cast.member))).status_code == 405
