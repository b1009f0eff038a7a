"""/api/v1/organisations/: list, retrieve, create, rename, leave."""

import pytest

from tenants.models import AuditEvent, Membership, Organisation, TeamMembership
from tenants.roles import OrgRole

LIST = "/api/v1/organisations/"
ORG = "/api/v1/organisations/acme/"


def test_list_shows_my_organisations_with_my_role(cast, api_for):
    Membership.objects.create(organisation=cast.other_org, user=cast.admin, role=OrgRole.MEMBER)
    body = api_for(cast.admin).get(LIST).json()
    assert [(o["slug"], o["name"], o["role"]) for o in body["results"]] == [
        ("acme", "Acme Secret Works", "admin"),
        ("globex", "Globex", "member"),
    ]
    assert set(body["results"][0]) == {"slug", "name", "created_at", "role"}


def test_inactive_organisations_are_hidden_and_404(cast, api_for, api_error):
    Organisation.objects.filter(pk=cast.org.pk).update(is_active=False)
    client = api_for(cast.owner)
    assert client.get(LIST).json()["results"] == []
    api_error(client.get(ORG), 404, "not_found")


@pytest.mark.parametrize("who", ["owner", "admin", "member", "viewer"])
def test_every_member_can_retrieve(cast, api_for, who):
    body = api_for(getattr(cast, who)).get(ORG).json()
    assert body["slug"] == "acme"
    assert body["role"] == Membership.objects.get(user=getattr(cast, who)).role


def test_the_outsider_gets_404(cast, api_for, api_error):
    api_error(api_for(cast.outsider).get(ORG), 404, "not_found")


# --- Create -------------------------------------------------------------------


def test_create_makes_me_the_owner(cast, api_for, new_audit_events):
    since = new_audit_events()
    response = api_for(cast.member).post(
        LIST, {"name": "Initech", "slug": "Initech"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["slug"] == "initech"
    assert response.json()["role"] == "owner"
    organisation = Organisation.objects.get(slug="initech")
    assert list(organisation.memberships.values_list("user", "role")) == [(cast.member.pk, "owner")]
    assert [e.action for e in since()] == ["organisation.created"]


def test_create_ignores_fields_it_does_not_take(cast, api_for):
    response = api_for(cast.member).post(
        LIST,
        {
            "name": "Initech",
            "slug": "initech",
            "role": "member",
            "created_at": "2001-01-01T00:00:00Z",
            "is_active": False,
            "id": 1,
        },
        format="json",
    )
    assert response.status_code == 201
    organisation = Organisation.objects.get(slug="initech")
    assert organisation.is_active
    assert organisation.created_at.year > 2001
    assert organisation.memberships.get().role == "owner"
    assert response.json()["role"] == "owner"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "Copy", "slug": "acme"}, "slug"),
        ({"name": "Copy", "slug": "ACME"}, "slug"),
        ({"name": "Copy", "slug": "admin"}, "slug"),
        ({"name": "Copy", "slug": "not a slug"}, "slug"),
        ({"name": "", "slug": "fresh"}, "name"),
        ({"slug": "fresh"}, "name"),
        ({"name": "x" * 101, "slug": "fresh"}, "name"),
    ],
)
def test_invalid_create_writes_nothing(cast, api_for, api_error, payload, field):
    counts = (Organisation.objects.count(), Membership.objects.count(), AuditEvent.objects.count())
    error = api_error(api_for(cast.member).post(LIST, payload, format="json"), 400, "invalid")
    assert field in error["fields"]
    assert counts == (
        Organisation.objects.count(),
        Membership.objects.count(),
        AuditEvent.objects.count(),
    )


# --- Rename -------------------------------------------------------------------


@pytest.mark.parametrize("who", ["owner", "admin"])
def test_owners_and_admins_rename(cast, api_for, who, new_audit_events):
    since = new_audit_events()
    response = api_for(getattr(cast, who)).patch(ORG, {"name": "Acme Inc"}, format="json")
    assert response.status_code == 200
    assert response.json()["name"] == "Acme Inc"
    (event,) = since()
    assert (event.action, event.before, event.after) == (
        "organisation.updated",
        {"name": "Acme Secret Works"},
        {"name": "Acme Inc"},
    )


@pytest.mark.parametrize("who", ["member", "maintainer"])
def test_members_cannot_rename(cast, api_for, api_error, who):
    api_error(
        api_for(getattr(cast, who)).patch(ORG, {"name": "Mine now"}, format="json"),
        403,
        "permission_denied",
    )
    cast.org.refresh_from_db()
    assert cast.org.name == "Acme Secret Works"


def test_rename_cannot_change_the_slug_or_other_fields(cast, api_for):
    response = api_for(cast.owner).patch(
        ORG,
        {"name": "Acme Inc", "slug": "hijack", "is_active": False, "created_at": "2001-01-01"},
        format="json",
    )
    assert response.status_code == 200
    cast.org.refresh_from_db()
    assert (cast.org.name, cast.org.slug, cast.org.is_active) == ("Acme Inc", "acme", True)


def test_an_empty_name_is_refused_and_nothing_changes(cast, api_for, api_error):
    events = AuditEvent.objects.count()
    api_error(api_for(cast.owner).patch(ORG, {"name": ""}, format="json"), 400, "invalid")
    cast.org.refresh_from_db()
    assert cast.org.name == "Acme Secret Works"
    assert AuditEvent.objects.count() == events


def test_the_outsider_cannot_rename(cast, api_for, api_error):
    api_error(api_for(cast.outsider).patch(ORG, {"name": "x"}, format="json"), 404, "not_found")


# --- Leave --------------------------------------------------------------------


@pytest.mark.parametrize("who", ["member", "maintainer", "admin"])
def test_any_member_can_leave(cast, api_for, who):
    user = getattr(cast, who)
    response = api_for(user).post(f"{ORG}leave/")
    assert response.status_code == 204
    assert not Membership.objects.filter(organisation=cast.org, user=user).exists()
    assert not TeamMembership.objects.filter(organisation=cast.org, user=user).exists()


def test_the_last_owner_cannot_leave(cast, api_for, api_error):
    api_error(api_for(cast.owner).post(f"{ORG}leave/"), 409, "conflict")
    assert Membership.objects.filter(organisation=cast.org, user=cast.owner).exists()


def test_the_outsider_cannot_leave_what_they_are_not_in(cast, api_for, api_error):
    api_error(api_for(cast.outsider).post(f"{ORG}leave/"), 404, "not_found")


def test_a_read_token_cannot_leave(cast, make_token, bearer, api_error):
    _, plaintext = make_token(cast.member, scope="read")
    api_error(bearer(plaintext).post(f"{ORG}leave/"), 403, "permission_denied")
    assert Membership.objects.filter(organisation=cast.org, user=cast.member).exists()
