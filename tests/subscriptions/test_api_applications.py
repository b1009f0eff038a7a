"""REST API of applications: members read them; developers and maintainers of the
owning team (and organisation admins) write them."""

from apis.models import Application
from tenants.models import AuditEvent

from .api_fixtures import *  # noqa: F403 - the fixtures
from .api_fixtures import BASE

APPS = f"{BASE}/applications/"


def test_developer_creates_an_application_they_own(cast, api_for):
    response = api_for(cast.developer).post(
        APPS,
        {
            "team": "payments",
            "name": "Billing",
            "description": "Sends invoices.",
            "organisation": cast.other_org.pk,
            "created_by": cast.owner.pk,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["team"] == "payments"
    assert body["owners"] == [cast.developer.email]
    assert body["created_by"] == cast.developer.email
    assert body["web_url"].endswith(f"/o/acme/applications/{body['id']}/")
    application = Application.objects.get(pk=body["id"])
    assert (application.organisation, application.created_by) == (cast.org, cast.developer)
    assert AuditEvent.objects.filter(action="application.created").count() == 1


def test_owners_are_members_named_by_address(cast, api_for, api_error):
    client = api_for(cast.maintainer)
    response = client.post(
        APPS,
        {"team": "payments", "name": "Billing", "owners": ["DEVELOPER@acme.test"]},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["owners"] == [cast.developer.email]
    stranger = client.post(
        APPS,
        {"team": "payments", "name": "Other", "owners": [cast.outsider.email]},
        format="json",
    )
    assert "owners" in api_error(stranger, 400, "invalid")["fields"]


def test_viewers_and_plain_members_may_not_create(cast, api_for, api_error):
    for user in (cast.viewer, cast.member):
        response = api_for(user).post(APPS, {"team": "payments", "name": "X"}, format="json")
        api_error(response, 403, "permission_denied")
    assert not Application.objects.exists()


def test_a_team_of_another_organisation_is_refused(cast, api_for, api_error):
    response = api_for(cast.admin).post(APPS, {"team": "globex-team", "name": "X"}, format="json")
    assert "team" in api_error(response, 400)["fields"]


def test_members_list_and_filter_by_team(cast, api_for, checkout):
    response = api_for(cast.member).get(APPS, {"team": "payments"})
    assert response.status_code == 200, response.content
    assert [a["name"] for a in response.json()["results"]] == ["Checkout"]
    assert api_for(cast.member).get(APPS, {"team": "nobody"}).json()["results"] == []
    one = api_for(cast.member).get(f"{APPS}{checkout.pk}/")
    assert one.json()["name"] == "Checkout"


def test_another_organisation_sees_nothing(cast, api_for, api_error, checkout):
    api_error(api_for(cast.outsider).get(f"{APPS}{checkout.pk}/"), 404)
    response = api_for(cast.outsider).get("/api/v1/organisations/globex/applications/")
    assert response.json()["results"] == []


def test_patch_renames_and_ignores_the_tenant(cast, api_for, checkout):
    response = api_for(cast.developer).patch(
        f"{APPS}{checkout.pk}/",
        {"name": "Checkout v2", "team": "globex-team", "organisation": cast.other_org.pk},
        format="json",
    )
    assert response.status_code == 200, response.content
    checkout.refresh_from_db()
    assert (checkout.name, checkout.team, checkout.organisation) == (
        "Checkout v2",
        cast.team,
        cast.org,
    )


def test_viewer_may_not_change_or_delete(cast, api_for, api_error, checkout):
    client = api_for(cast.viewer)
    api_error(client.patch(f"{APPS}{checkout.pk}/", {"name": "Mine"}, format="json"), 403)
    api_error(client.delete(f"{APPS}{checkout.pk}/"), 403)
    assert Application.objects.get(pk=checkout.pk).name == "Checkout"


def test_delete_needs_the_subscriptions_ended(cast, api_for, api_error, approved):
    application = approved.application
    client = api_for(cast.developer)
    api_error(client.delete(f"{APPS}{application.pk}/"), 409, "conflict")
    approved.state = "revoked"
    approved.save(update_fields=["state"])
    assert client.delete(f"{APPS}{application.pk}/").status_code == 204
    assert not Application.objects.filter(pk=application.pk).exists()
