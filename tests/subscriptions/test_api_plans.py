"""REST API of plans: whoever sees the API reads its open plans; its maintainers and
the organisation's admins also see closed ones and write them."""

from apis.models import Plan
from apis.services.plans import plan_retire
from tenants.actors import Actor
from tenants.models import AuditEvent

from .api_fixtures import *  # noqa: F403 - the fixtures

PLANS = "/api/v1/apis/acme/ledger/plans/"


def test_members_read_open_plans_and_owners_also_closed_ones(cast, api_for, gold, free):
    plan_retire(plan=free, actor=Actor.for_user(cast.maintainer))
    member = api_for(cast.member).get(PLANS)
    assert member.status_code == 200, member.content
    assert [p["name"] for p in member.json()["results"]] == ["Gold"]
    assert member.json()["results"][0]["quota_period"] == "month"
    owner = api_for(cast.maintainer).get(PLANS)
    assert sorted(p["name"] for p in owner.json()["results"]) == ["Free", "Gold"]
    assert api_for(cast.member).get(f"{PLANS}{free.pk}/").status_code == 404
    assert api_for(cast.maintainer).get(f"{PLANS}{free.pk}/").json()["is_active"] is False


def test_the_gateway_plan_is_shown_to_the_owners_only(cast, api_for, gold):
    Plan.objects.filter(pk=gold.pk).update(gateway_plan_id="up-123")
    assert api_for(cast.member).get(f"{PLANS}{gold.pk}/").json()["gateway_plan_id"] is None
    assert api_for(cast.admin).get(f"{PLANS}{gold.pk}/").json()["gateway_plan_id"] == "up-123"


def test_maintainer_creates_a_plan_and_it_is_audited(cast, api_for, ledger):
    response = api_for(cast.maintainer).post(
        PLANS,
        {
            "name": "Platinum",
            "approval": "automatic",
            "rate_limit": 20.5,
            "burst_limit": 40,
            "quota_limit": 1000,
            "quota_period": "day",
            # Not the caller's to choose: the URL says which API and organisation.
            "organisation": cast.other_org.pk,
            "api": 999,
            "is_active": False,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["name"], body["approval"], body["quota_limit"]) == ("Platinum", "automatic", 1000)
    plan = Plan.objects.get(pk=body["id"])
    assert (plan.api, plan.organisation, plan.is_active) == (ledger, cast.org, True)
    assert AuditEvent.objects.filter(action="plan.created", target_id=str(plan.pk)).exists()


def test_developers_may_not_write_plans(cast, api_for, api_error, gold):
    client = api_for(cast.developer)
    error = api_error(client.post(PLANS, {"name": "Mine"}, format="json"), 403)
    assert "maintainers" in error["message"]
    api_error(client.patch(f"{PLANS}{gold.pk}/", {"rate_limit": 1}, format="json"), 403)
    api_error(client.post(f"{PLANS}{gold.pk}/close/"), 403)
    assert Plan.objects.get(pk=gold.pk).rate_limit == 50


def test_another_organisation_does_not_see_the_plans(cast, api_for, api_error, gold):
    api_error(api_for(cast.outsider).get(PLANS), 404)
    api_error(api_for(cast.outsider).post(PLANS, {"name": "X"}, format="json"), 404)


def test_a_quota_needs_its_period(cast, api_for, api_error, ledger):
    response = api_for(cast.maintainer).post(
        PLANS, {"name": "Odd", "quota_limit": 10}, format="json"
    )
    assert "quota_period" in api_error(response, 400, "invalid")["fields"]
    assert not Plan.objects.filter(name="Odd").exists()


def test_patch_changes_only_what_it_names(cast, api_for, gold):
    response = api_for(cast.maintainer).patch(
        f"{PLANS}{gold.pk}/", {"description": "For busy shops"}, format="json"
    )
    assert response.status_code == 200, response.content
    gold.refresh_from_db()
    assert (gold.description, gold.rate_limit, gold.quota_limit) == ("For busy shops", 50, 100_000)
    assert gold.approval == Plan.Approval.MANUAL


def test_close_and_close_again(cast, api_for, api_error, gold):
    client = api_for(cast.admin)
    response = client.post(f"{PLANS}{gold.pk}/close/")
    assert response.status_code == 200, response.content
    assert response.json()["is_active"] is False
    api_error(client.post(f"{PLANS}{gold.pk}/close/"), 409, "conflict")


def test_a_plan_s_budget_is_written_read_and_audited_as_an_exact_amount(cast, api_for, ledger):
    client = api_for(cast.maintainer)
    response = client.post(
        PLANS,
        {"name": "Metered", "budget": "25.50", "quota_period": "month"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["budget"] == "25.50"
    plan = Plan.objects.get(pk=response.json()["id"])
    assert str(plan.budget) == "25.50"
    created = AuditEvent.objects.get(action="plan.created", target_id=str(plan.pk))
    assert created.after["budget"] == "25.50"

    cleared = client.patch(f"{PLANS}{plan.pk}/", {"budget": None}, format="json")
    assert cleared.status_code == 200, cleared.content
    plan.refresh_from_db()
    assert plan.budget is None
    assert api_for(cast.member).get(f"{PLANS}{plan.pk}/").json()["budget"] is None


def test_a_bad_budget_is_a_field_error_and_changes_nothing(cast, api_for, api_error, gold):
    client = api_for(cast.maintainer)
    for budget in ("0", "-5", "lots", "12.345", "12345678901.00"):
        created = client.post(PLANS, {"name": "Odd", "budget": budget}, format="json")
        assert "budget" in api_error(created, 400, "invalid")["fields"], budget
        changed = client.patch(f"{PLANS}{gold.pk}/", {"budget": budget}, format="json")
        assert "budget" in api_error(changed, 400, "invalid")["fields"], budget
    assert not Plan.objects.filter(name="Odd").exists()
    gold.refresh_from_db()
    assert gold.budget is None
    assert not AuditEvent.objects.filter(action="plan.updated").exists()
