"""The audit log page: admins only, filter by action, htmx partial, pages."""

import pytest
from django.urls import reverse

from tenants.actors import Actor
from tenants.services import organisations

AUDIT = reverse("tenants:audit_list", kwargs={"org": "acme"})


@pytest.fixture
def history(cast):
    owner = Actor.for_user(cast.owner)
    organisations.team_create(organisation=cast.org, name="Search", slug="search", actor=owner)
    organisations.organisation_update(organisation=cast.org, name="Acme Inc", actor=owner)
    organisations.team_create(
        organisation=cast.other_org,
        name="Secret Globex Project",
        slug="secret",
        actor=Actor.for_user(cast.outsider),
    )


@pytest.mark.parametrize("who", ["owner", "admin"])
def test_admins_read_the_log_of_their_organisation(cast, client_for, history, who):
    response = client_for(getattr(cast, who)).get(AUDIT)
    assert response.status_code == 200
    html = response.content.decode()
    assert "team.created" in html
    assert "organisation.updated" in html
    assert "Secret Globex Project" not in html


@pytest.mark.parametrize("who", ["member", "maintainer"])
def test_members_get_403(cast, client_for, history, who):
    assert client_for(getattr(cast, who)).get(AUDIT).status_code == 403


def test_the_outsider_gets_404(cast, client_for, history):
    assert client_for(cast.outsider).get(AUDIT).status_code == 404


def test_filter_by_action(cast, client_for, history):
    html = client_for(cast.owner).get(AUDIT, {"action": "team."}).content.decode()
    table = html.split('id="audit-events"')[1]
    assert "team.created" in table
    assert "organisation.updated" not in table


def test_htmx_gets_only_the_table(cast, client_for, history):
    response = client_for(cast.owner).get(
        AUDIT, {"action": "organisation."}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert "<html" not in html
    assert html.lstrip().startswith('<div id="audit-events">')
    assert "organisation.updated" in html
    assert "team.created" not in html


def test_the_log_is_paged_by_fifty(cast, client_for):
    owner = Actor.for_user(cast.owner)
    for n in range(51):
        organisations.organisation_update(organisation=cast.org, name=f"Acme {n}", actor=owner)
    client = client_for(cast.owner)
    first = client.get(AUDIT).content.decode()
    assert "Page 1 of 2" in first
    assert first.count("<code>organisation.updated</code>") == 50
    second = client.get(AUDIT, {"page": 2}).content.decode()
    assert second.count("<code>organisation.updated</code>") == 1
