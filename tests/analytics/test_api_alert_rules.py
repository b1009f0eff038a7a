"""REST API of alert rules."""

import pytest

from analytics.models import AlertRule
from analytics.services.alerts import alert_rule_create
from apis.models import Api
from tenants.actors import Actor
from tenants.models import AuditEvent

from .usage_world import publish

BASE = "/api/v1/organisations/acme/alert-rules/"


def rule_of(world, cast, **fields) -> AlertRule:
    values = {
        "organisation": world.acme,
        "api": world.api,
        "name": "Ledger errors",
        "metric": "error_rate",
        "threshold": 5.0,
        **fields,
    }
    return alert_rule_create(actor=Actor.for_user(cast.owner), **values)


@pytest.mark.django_db
def test_a_maintainer_creates_an_api_rule(usage_world, cast, api_for):
    response = api_for(cast.maintainer).post(
        BASE,
        {"name": "Ledger p95", "api": "ledger", "metric": "p95_latency", "threshold": 750},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert {k: body[k] for k in ("name", "api", "application", "metric", "threshold")} == {
        "name": "Ledger p95",
        "api": "ledger",
        "application": None,
        "metric": "p95_latency",
        "threshold": 750.0,
    }
    assert (body["window_minutes"], body["clear_ratio"], body["state"]) == (15, 0.8, "ok")
    assert body["last_value"] is None
    assert AuditEvent.objects.filter(action="alert_rule.created").count() == 1


@pytest.mark.django_db
def test_a_developer_creates_a_rule_on_the_teams_application(usage_world, cast, api_for):
    client = api_for(cast.developer)
    response = client.post(
        BASE,
        {
            "name": "Checkout errors",
            "application": usage_world.checkout.pk,
            "metric": "error_rate",
            "threshold": 2,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["application"] == usage_world.checkout.pk
    # But not on the API, which its team's maintainers look after.
    response = client.post(
        BASE,
        {"name": "Ledger", "api": "ledger", "metric": "error_rate", "threshold": 2},
        format="json",
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["viewer", "member"])
def test_who_writes_no_rule_is_refused_before_validation(usage_world, cast, api_for, who):
    response = api_for(getattr(cast, who)).post(BASE, {}, format="json")
    assert response.status_code == 403
    assert "alert rules" in response.json()["error"]["message"]


@pytest.mark.django_db
def test_error_bodies_name_the_fields(usage_world, cast, api_for):
    client = api_for(cast.owner)
    response = client.post(
        BASE,
        {
            "name": "Both",
            "api": "ledger",
            "application": usage_world.checkout.pk,
            "metric": "error_rate",
            "threshold": 1,
        },
        format="json",
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["fields"] == {
        "non_field_errors": ["Give either an API or an application, not both."]
    }
    response = client.post(
        BASE,
        {
            "name": "Theirs",
            "application": usage_world.storefront.pk,
            "metric": "error_rate",
            "threshold": 1,
        },
        format="json",
    )
    assert response.json()["error"]["fields"] == {
        "application": ["This organisation has no such application."]
    }
    response = client.post(
        BASE, {"name": "X", "api": "ledger", "metric": "error_rate", "threshold": 400}, "json"
    )
    assert response.json()["error"]["fields"] == {
        "threshold": ["For error rate (%) give 0.1 to 100 %."]
    }
    response = client.post(
        BASE,
        {"name": "X", "api": "ledger", "metric": "uptime", "threshold": 4, "window_minutes": 2},
        format="json",
    )
    assert set(response.json()["error"]["fields"]) == {"metric", "window_minutes"}
    assert not AlertRule.objects.exists()


@pytest.mark.django_db
def test_update_and_delete(usage_world, cast, api_for):
    rule = rule_of(usage_world, cast)
    client = api_for(cast.maintainer)
    response = client.patch(
        f"{BASE}{rule.pk}/", {"threshold": 9.5, "clear_ratio": 0.5}, format="json"
    )
    assert response.status_code == 200
    assert (response.json()["threshold"], response.json()["clear_ratio"]) == (9.5, 0.5)
    response = client.patch(f"{BASE}{rule.pk}/", {"clear_ratio": 2}, format="json")
    assert response.status_code == 400
    assert "clear_ratio" in response.json()["error"]["fields"]
    # Moved from the API to an application of the team: both need the writer's right.
    response = client.patch(
        f"{BASE}{rule.pk}/",
        {"api": None, "application": usage_world.checkout.pk},
        format="json",
    )
    assert response.status_code == 200
    assert (response.json()["api"], response.json()["application"]) == (
        None,
        usage_world.checkout.pk,
    )
    assert client.delete(f"{BASE}{rule.pk}/").status_code == 204
    assert not AlertRule.objects.exists()


@pytest.mark.django_db
def test_a_developer_may_not_change_an_api_rule(usage_world, cast, api_for):
    rule = rule_of(usage_world, cast)
    client = api_for(cast.developer)
    assert client.get(f"{BASE}{rule.pk}/").status_code == 200
    response = client.patch(f"{BASE}{rule.pk}/", {"enabled": False}, format="json")
    assert response.status_code == 403
    assert client.delete(f"{BASE}{rule.pk}/").status_code == 403
    rule.refresh_from_db()
    assert rule.enabled


@pytest.mark.django_db
def test_rules_of_apis_a_member_cannot_see_are_hidden(usage_world, cast, api_for):
    hidden_api = publish(
        organisation=cast.org,
        team=cast.team,
        actor=Actor.for_user(cast.maintainer),
        name="Payroll",
        slug="payroll",
        visibility=Api.Visibility.TEAM,
    )
    visible = rule_of(usage_world, cast)
    hidden = rule_of(usage_world, cast, api=hidden_api, name="Payroll errors")
    app_rule = rule_of(
        usage_world, cast, api=None, application=usage_world.checkout, name="Checkout"
    )
    member = api_for(cast.member)
    listed = [r["id"] for r in member.get(BASE).json()["results"]]
    assert sorted(listed) == sorted([visible.pk, app_rule.pk])
    assert member.get(f"{BASE}{hidden.pk}/").status_code == 404
    team = api_for(cast.viewer)  # in the Payments team: sees the team-only API
    assert len(team.get(BASE).json()["results"]) == 3


@pytest.mark.django_db
def test_list_filters(usage_world, cast, api_for):
    firing = rule_of(usage_world, cast)
    AlertRule.objects.filter(pk=firing.pk).update(state=AlertRule.State.FIRING)
    rule_of(usage_world, cast, name="Quiet")
    app_rule = rule_of(
        usage_world, cast, api=None, application=usage_world.checkout, name="Checkout"
    )
    client = api_for(cast.member)

    def names(query: dict) -> list[str]:
        return [r["name"] for r in client.get(BASE, query).json()["results"]]

    assert names({"state": "firing"}) == ["Ledger errors"]
    assert names({"api": "ledger"}) == ["Ledger errors", "Quiet"]
    assert names({"application": app_rule.application_id}) == ["Checkout"]
    response = client.get(BASE, {"state": "exploding"})
    assert response.status_code == 400
    assert "state" in response.json()["error"]["fields"]


@pytest.mark.django_db
def test_another_organisations_rules_are_not_found(usage_world, cast, api_for):
    rule = rule_of(usage_world, cast)
    client = api_for(cast.outsider)
    assert client.get(f"{BASE}{rule.pk}/").status_code == 404
    assert client.get("/api/v1/organisations/globex/alert-rules/").json()["results"] == []
    response = client.get(f"/api/v1/organisations/globex/alert-rules/{rule.pk}/")
    assert response.status_code == 404
    response = client.patch(
        f"/api/v1/organisations/globex/alert-rules/{rule.pk}/", {"enabled": False}, "json"
    )
    assert response.status_code == 404
