"""Organisation pages: create, overview and rename, leave, home and the switcher."""

import pytest
from django.test import Client
from django.urls import reverse

from tenants.models import AuditEvent, Membership, Organisation
from tenants.roles import OrgRole
from tests.factories import UserFactory


def url(name, org="acme", **kwargs):
    return reverse(f"tenants:{name}", kwargs={"org": org, **kwargs})


CREATE = reverse("tenants:organisation_create")


def _counts():
    return (Organisation.objects.count(), Membership.objects.count(), AuditEvent.objects.count())


# --- Create -------------------------------------------------------------------


def test_create_page_renders(db, client_for):
    response = client_for(UserFactory()).get(CREATE)
    assert response.status_code == 200
    assert b'name="slug"' in response.content


def test_create_makes_an_organisation_and_redirects_to_it(db, client_for):
    user = UserFactory()
    response = client_for(user).post(CREATE, {"name": "Initech", "slug": "Initech"})
    assert response.status_code == 302
    assert response["Location"] == "/o/initech/"
    organisation = Organisation.objects.get(slug="initech")
    assert organisation.memberships.get().user == user
    assert organisation.memberships.get().role == OrgRole.OWNER


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "", "slug": "fine"}, b"This field is required."),
        ({"name": "Bad", "slug": "bad slug"}, b"Enter a valid"),
        ({"name": "Copy", "slug": "acme"}, b"An organisation with this slug exists."),
        ({"name": "New", "slug": "new"}, b"is reserved"),
    ],
)
def test_create_with_errors_answers_400_and_writes_nothing(cast, client_for, data, message):
    before = _counts()
    response = client_for(cast.member).post(CREATE, data)
    assert response.status_code == 400
    assert message in response.content
    assert b"field--invalid" in response.content
    assert _counts() == before


def test_anonymous_visitors_are_sent_to_sign_in(db):
    response = Client().get(CREATE)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


# --- Overview and rename ------------------------------------------------------


@pytest.mark.parametrize("who", ["owner", "admin", "member", "viewer"])
def test_every_member_sees_the_overview(cast, client_for, who):
    response = client_for(getattr(cast, who)).get(url("organisation"))
    assert response.status_code == 200
    assert b"Acme Secret Works" in response.content
    assert b"Payments Squad" in response.content
    assert b"6 members" in response.content


def test_only_admins_see_the_rename_form(cast, client_for):
    assert b"Rename" in client_for(cast.admin).get(url("organisation")).content
    assert b"Rename" not in client_for(cast.member).get(url("organisation")).content


def test_the_overview_lists_my_teams(cast, client_for):
    mine = client_for(cast.viewer).get(url("organisation")).content.decode()
    assert "You are in no team yet." not in mine
    theirs = client_for(cast.member).get(url("organisation")).content.decode()
    assert "You are in no team yet." in theirs


def test_admins_rename(cast, client_for):
    response = client_for(cast.admin).post(url("organisation"), {"name": "Acme Inc"})
    assert response.status_code == 302
    cast.org.refresh_from_db()
    assert cast.org.name == "Acme Inc"
    assert AuditEvent.objects.filter(action="organisation.updated").count() == 1


def test_members_cannot_rename(cast, client_for):
    response = client_for(cast.member).post(url("organisation"), {"name": "Mine"})
    assert response.status_code == 403
    cast.org.refresh_from_db()
    assert cast.org.name == "Acme Secret Works"


def test_an_empty_name_answers_400_and_writes_nothing(cast, client_for):
    before = _counts()
    response = client_for(cast.owner).post(url("organisation"), {"name": ""})
    assert response.status_code == 400
    assert b"This field is required." in response.content
    cast.org.refresh_from_db()
    assert cast.org.name == "Acme Secret Works"
    assert _counts() == before


@pytest.mark.parametrize("name", ["organisation", "organisation_leave", "team_list", "member_list"])
def test_the_outsider_gets_404(cast, client_for, name):
    response = client_for(cast.outsider).get(url(name))
    assert response.status_code == 404
    assert b"Acme Secret Works" not in response.content


# --- Leave --------------------------------------------------------------------


def test_leave_asks_first(cast, client_for):
    response = client_for(cast.member).get(url("organisation_leave"))
    assert response.status_code == 200
    assert b"Leave Acme Secret Works?" in response.content
    assert Membership.objects.filter(organisation=cast.org, user=cast.member).exists()


def test_leave(cast, client_for):
    client = client_for(cast.maintainer)
    response = client.post(url("organisation_leave"), follow=True)
    assert response.redirect_chain[0] == ("/", 302)
    assert b"You left Acme Secret Works." in response.content
    assert not Membership.objects.filter(organisation=cast.org, user=cast.maintainer).exists()
    assert client.get(url("organisation")).status_code == 404


def test_the_last_owner_is_told_why_they_cannot_leave(cast, client_for):
    response = client_for(cast.owner).post(url("organisation_leave"), follow=True)
    assert response.redirect_chain == [("/o/acme/", 302)]
    assert b"at least one owner" in response.content
    assert Membership.objects.filter(organisation=cast.org, user=cast.owner).exists()


# --- Home and the switcher ----------------------------------------------------


def test_home_shows_the_landing_page_to_visitors(db):
    response = Client().get("/")
    assert response.status_code == 200
    assert b"org-switcher" not in response.content


def test_home_lists_organisations_when_there_is_no_last_visit(cast, client_for):
    Membership.objects.create(organisation=cast.other_org, user=cast.member)
    response = client_for(cast.member).get("/")
    assert response.status_code == 200
    assert b"Acme Secret Works" in response.content
    assert b"Globex" in response.content


def test_home_redirects_to_the_only_organisation(cast, client_for):
    assert client_for(cast.member).get("/")["Location"] == "/o/acme/"


def test_home_redirects_to_the_last_visited_organisation(cast, client_for):
    Membership.objects.create(organisation=cast.other_org, user=cast.member)
    client = client_for(cast.member)
    client.get(url("team_list", org="globex"))
    assert client.get("/")["Location"] == "/o/globex/"
    client.get(url("member_list"))
    assert client.get("/")["Location"] == "/o/acme/"


def test_home_forgets_an_organisation_left_since(cast, client_for):
    Membership.objects.create(organisation=cast.other_org, user=cast.member)
    client = client_for(cast.member)
    client.get(url("organisation", org="globex"))
    client.post(url("organisation_leave", org="globex"))
    assert client.get("/")["Location"] == "/o/acme/"


def test_a_404_does_not_become_the_last_visited(cast, client_for):
    client = client_for(cast.member)
    client.get(url("organisation"))
    client.get(url("organisation", org="globex"))  # not theirs
    assert client.get("/")["Location"] == "/o/acme/"


def test_home_without_organisations_offers_to_create_one(db, client_for):
    response = client_for(UserFactory()).get("/")
    assert response.status_code == 200
    assert b"You do not belong to an organisation yet." in response.content


def test_the_switcher_lists_my_organisations_only(cast, client_for):
    Membership.objects.create(organisation=cast.other_org, user=cast.admin, role=OrgRole.MEMBER)
    Organisation.objects.create(name="Hooli", slug="hooli")
    page = client_for(cast.admin).get(url("team_list")).content.decode()
    switcher = page.split('data-testid="org-switcher"')[1].split("</details>")[0]
    assert 'href="/o/acme/" aria-current="true"' in switcher
    assert 'href="/o/globex/"' in switcher
    assert "Hooli" not in switcher
    assert "Admin" in switcher
    assert "Member" in switcher

    alone = client_for(cast.member).get(url("team_list")).content.decode()
    switcher = alone.split('data-testid="org-switcher"')[1].split("</details>")[0]
    assert "Globex" not in switcher


def test_anonymous_visitors_of_organisation_pages_are_sent_to_sign_in(cast):
    for name in ("organisation", "team_list", "member_list", "invitation_list", "audit_list"):
        response = Client().get(url(name))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))
