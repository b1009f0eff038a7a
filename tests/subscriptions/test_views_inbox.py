"""The maintainers' approval inbox: rows decided in place through htmx."""

from apis.models import Subscription
from apis.services.plans import plan_create
from apis.services.subscriptions import subscription_change_plan_request
from tenants.actors import Actor
from tenants.roles import TeamRole
from tests.factories import MembershipFactory, TeamMembershipFactory

from .pages import HTMX, market_fixture, url  # noqa: F401

INBOX = url("inbox", "acme")


def decide(pk: int) -> str:
    return url("inbox_decide", "acme", pk=pk)


def test_maintainers_see_requests_with_the_consumers_names(market, client_for):
    subscription = market.request()
    page = client_for(market.cast.maintainer).get(INBOX).content.decode()
    assert f'id="inbox-{subscription.pk}"' in page
    assert "Storefront" in page
    assert "Globex Team" in page
    assert "Globex" in page
    assert "Storefront takes payments" in page
    assert decide(subscription.pk) in page
    # Nothing else of the consumer: not who asked, not the application's description.
    assert "dev@globex.test" not in page
    assert "secret storefront plans" not in page


def test_members_who_decide_nothing_see_an_empty_inbox(market, client_for):
    market.request()
    page = client_for(market.cast.developer).get(INBOX).content.decode()
    assert "Nothing here is yours to decide." in page
    assert "Storefront" not in page


def test_approving_through_htmx_removes_the_row_and_says_so(market, client_for):
    subscription = market.request()
    response = client_for(market.cast.maintainer).post(
        decide(subscription.pk), {"action": "approve", "reason": ""}, **HTMX
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "<tr" not in body
    assert 'hx-swap-oob="true"' in body
    assert "Approved the request of Storefront for Payments API." in body
    subscription.refresh_from_db()
    assert subscription.state == "approved"
    assert subscription.decided_by == market.cast.maintainer
    assert subscription.credentials.count() == 1
    assert f'id="inbox-{subscription.pk}"' not in (
        client_for(market.cast.maintainer).get(INBOX).content.decode()
    )


def test_without_htmx_a_decision_redirects_to_the_inbox(market, client_for):
    subscription = market.request()
    response = client_for(market.cast.admin).post(
        decide(subscription.pk), {"action": "reject", "reason": "Not for resale."}
    )
    assert response.status_code == 302
    assert response["Location"] == INBOX
    subscription.refresh_from_db()
    assert (subscription.state, subscription.decision_reason) == ("rejected", "Not for resale.")


def test_rejecting_without_a_reason_answers_400_with_the_row(market, client_for):
    subscription = market.request()
    client = client_for(market.cast.maintainer)
    response = client.post(decide(subscription.pk), {"action": "reject", "reason": ""}, **HTMX)
    assert response.status_code == 400
    body = response.content.decode()
    assert body.lstrip().startswith("<tr")
    assert "Say why you reject it." in body
    assert "<html" not in body
    full = client.post(decide(subscription.pk), {"action": "reject"})
    assert full.status_code == 400
    assert "<html" in full.content.decode()
    assert "Say why you reject it." in full.content.decode()
    bogus = client.post(decide(subscription.pk), {"action": "delete", "reason": "x"}, **HTMX)
    assert bogus.status_code == 400
    subscription.refresh_from_db()
    assert subscription.state == "pending"


def test_nobody_decides_their_own_request(market, client_for):
    """A maintainer of the API's team who is also a developer of a consuming team."""
    dual = market.cast.maintainer
    TeamMembershipFactory(team=market.cast.other_team, user=dual, role=TeamRole.DEVELOPER)
    MembershipFactory(organisation=market.cast.other_org, user=dual)
    subscription = market.request(user=dual)
    client = client_for(dual)
    page = client.get(INBOX).content.decode()
    assert "You asked for this; another maintainer or an admin decides." in page
    row = page.split(f'id="inbox-{subscription.pk}"', 1)[1].split("</tr>", 1)[0]
    assert row.count("disabled") == 3
    response = client.post(decide(subscription.pk), {"action": "approve"}, **HTMX)
    assert response.status_code == 403
    subscription.refresh_from_db()
    assert subscription.state == "pending"
    # Another maintainer's inbox has it, enabled.
    other = client_for(market.cast.admin).get(INBOX).content.decode()
    other_row = other.split(f'id="inbox-{subscription.pk}"', 1)[1].split("</tr>", 1)[0]
    assert "disabled" not in other_row


def test_a_request_decided_meanwhile_leaves_the_inbox_with_a_message(market, client_for):
    subscription = market.request()
    client_for(market.cast.admin).post(decide(subscription.pk), {"action": "approve"})
    response = client_for(market.cast.maintainer).post(
        decide(subscription.pk), {"action": "reject", "reason": "too late"}, **HTMX
    )
    assert response.status_code == 200
    assert "<tr" not in response.content.decode()
    assert "approved subscription cannot be rejected." in response.content.decode()
    subscription.refresh_from_db()
    assert subscription.state == "approved"


def test_plan_changes_are_decided_in_the_inbox(market, client_for):
    subscription = market.approved()
    platinum = plan_create(
        api=market.api, name="Platinum", approval="manual", actor=Actor.for_user(market.cast.owner)
    )
    subscription_change_plan_request(
        subscription=subscription,
        plan=platinum,
        reason="Black Friday",
        actor=Actor.for_user(market.developer),
    )
    client = client_for(market.cast.maintainer)
    page = client.get(INBOX).content.decode()
    assert "Plan change: Gold → <strong>Platinum</strong>" in page
    assert "Black Friday" in page
    plan_url = url("inbox_plan_decide", "acme", pk=subscription.pk)
    assert plan_url in page
    response = client.post(plan_url, {"action": "approve"}, **HTMX)
    assert response.status_code == 200
    assert "Approved the plan change of Storefront" in response.content.decode()
    subscription.refresh_from_db()
    assert subscription.plan == platinum
    assert subscription.requested_plan is None


def test_consumers_cannot_decide_and_other_organisations_get_404(market, client_for):
    subscription = market.request()
    assert (
        client_for(market.cast.developer).post(decide(subscription.pk), {"action": "approve"})
    ).status_code == 403
    assert (
        client_for(market.developer).post(
            url("inbox_decide", "globex", pk=subscription.pk), {"action": "approve"}
        )
    ).status_code == 404
    assert (
        client_for(market.third).post(decide(subscription.pk), {"action": "approve"})
    ).status_code == 404
    assert Subscription.objects.get().state == "pending"


def test_the_menu_shows_deciders_how_many_requests_wait(market, client_for):
    market.request()
    page = client_for(market.cast.maintainer).get(url("subscription_list", "acme"))
    body = page.content.decode()
    assert 'data-testid="inbox-count">1<' in body
    assert url("webhook_list", "acme") not in body  # admins only
    admin = client_for(market.cast.admin).get(INBOX).content.decode()
    assert 'data-testid="inbox-count">1<' in admin
    assert url("webhook_list", "acme") in admin
    developer = client_for(market.cast.developer).get(url("subscription_list", "acme"))
    assert INBOX not in developer.content.decode().split("<main", 1)[0]
    assert url("application_list", "acme") in developer.content.decode()
