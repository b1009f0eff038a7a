"""Plans on the API page and the maintainers' plan pages: add, edit, close."""

from apis.models import Plan

from .pages import market_fixture, url  # noqa: F401


def plan_data(**overrides) -> dict:
    data = {
        "name": "Platinum",
        "description": "For the big shops.",
        "rate_limit": "200",
        "burst_limit": "400",
        "quota_limit": "1000000",
        "quota_period": "month",
        "approval": "manual",
        "key_grace_hours": "48",
        "gateway_plan_id": "",
    }
    data.update(overrides)
    return data


def test_the_api_page_lists_open_plans_and_maintainers_get_the_manage_link(market, client_for):
    page = client_for(market.cast.maintainer).get(market.api.get_absolute_url()).content.decode()
    assert "Gold" in page
    assert "Free" in page
    assert "50 req/s" in page
    assert "100000 per month" in page
    assert url("plan_list", "acme", api="payments") in page

    for user in (market.cast.developer, market.developer):
        page = client_for(user).get(market.api.get_absolute_url()).content.decode()
        assert "Gold" in page
        assert url("plan_list", "acme", api="payments") not in page


def test_a_maintainer_adds_a_plan(market, client_for):
    response = client_for(market.cast.maintainer).post(
        url("plan_new", "acme", api="payments"), plan_data()
    )
    assert response.status_code == 302
    assert response["Location"] == url("plan_list", "acme", api="payments")
    plan = Plan.objects.get(api=market.api, name="Platinum")
    assert (plan.rate_limit, plan.burst_limit, plan.quota_limit) == (200, 400, 1_000_000)
    assert (plan.quota_period, plan.approval, plan.key_grace_hours) == ("month", "manual", 48)
    assert plan.organisation == market.cast.org


def test_bad_plans_answer_400_and_write_nothing(market, client_for):
    client = client_for(market.cast.maintainer)
    cases = [
        (plan_data(quota_period=""), "Say per day, week or month."),
        (plan_data(rate_limit="-1"), "Ensure this value is greater than or equal to"),
        (plan_data(name="Gold"), "This API has a plan of this name."),
        (plan_data(approval="whenever"), "Select a valid choice."),
        (
            plan_data(gateway_plan_id="usage-plan-1"),
            "This API did not come from a gateway connection.",
        ),
    ]
    for data, message in cases:
        response = client.post(url("plan_new", "acme", api="payments"), data)
        assert response.status_code == 400, data
        assert message in response.content.decode()
    assert Plan.objects.filter(api=market.api).count() == 2


def test_a_maintainer_edits_a_plan(market, client_for):
    client = client_for(market.cast.maintainer)
    edit = url("plan_edit", "acme", api="payments", pk=market.gold.pk)
    form = client.get(edit).content.decode()
    assert 'value="Gold"' in form
    response = client.post(edit, plan_data(name="Gold", rate_limit="75", approval="automatic"))
    assert response.status_code == 302
    market.gold.refresh_from_db()
    assert market.gold.rate_limit == 75
    assert market.gold.approval == Plan.Approval.AUTOMATIC


def test_closing_a_plan_hides_it_from_consumers_and_keeps_it_on_the_plan_list(market, client_for):
    market.request(market.gold)
    client = client_for(market.cast.maintainer)
    response = client.post(url("plan_close", "acme", api="payments", pk=market.gold.pk))
    assert response.status_code == 302
    market.gold.refresh_from_db()
    assert not market.gold.is_active

    listing = client.get(url("plan_list", "acme", api="payments")).content.decode()
    assert "Gold" in listing
    assert "closed" in listing
    api_page = client_for(market.developer).get(market.api.get_absolute_url()).content.decode()
    assert "Gold" not in api_page
    assert "Free" in api_page

    again = client.post(url("plan_close", "acme", api="payments", pk=market.gold.pk), follow=True)
    assert "This plan is already closed." in again.content.decode()


def test_only_maintainers_and_admins_manage_plans(market, client_for):
    new = url("plan_new", "acme", api="payments")
    assert client_for(market.cast.admin).get(new).status_code == 200
    assert client_for(market.cast.developer).get(new).status_code == 403
    assert client_for(market.cast.developer).post(new, plan_data()).status_code == 403
    assert client_for(market.developer).get(new).status_code == 404
    assert not Plan.objects.filter(name="Platinum").exists()


def test_a_plan_s_budget_from_the_form_is_kept_and_shown(market, client_for):
    client = client_for(market.cast.maintainer)
    new = url("plan_new", "acme", api="payments")
    assert 'name="budget"' in client.get(new).content.decode()
    response = client.post(new, plan_data(budget="12.5"))
    assert response.status_code == 302
    plan = Plan.objects.get(api=market.api, name="Platinum")
    assert str(plan.budget) == "12.50"
    listing = client.get(url("plan_list", "acme", api="payments")).content.decode()
    assert "budget $12.50 per month" in listing

    edit = url("plan_edit", "acme", api="payments", pk=plan.pk)
    assert 'value="12.50"' in client.get(edit).content.decode()
    for bad in ("0", "-1", "a lot"):
        refused = client.post(edit, plan_data(budget=bad))
        assert refused.status_code == 400, bad
    plan.refresh_from_db()
    assert str(plan.budget) == "12.50"
