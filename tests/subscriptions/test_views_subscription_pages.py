"""The organisation's subscriptions and one subscription seen from either side: what
each side sees, the consumer's and the provider's actions, plan changes, retries."""

import datetime

from apis.models import GatewayOperation, Subscription
from apis.services.applications import application_create
from apis.services.connections import connection_create
from apis.services.lifecycle import version_transition
from apis.services.plans import plan_create
from tenants.actors import Actor

from .pages import market_fixture, url  # noqa: F401


def act(pk: int, org: str = "globex") -> str:
    return url("subscription_action", org, pk=pk)


# --- Two sides ----------------------------------------------------------------------


def test_both_organisations_see_the_subscription_and_a_third_gets_404(market, client_for):
    subscription = market.request()
    consumer = client_for(market.developer).get(url("subscription", "globex", pk=subscription.pk))
    provider = client_for(market.cast.maintainer).get(
        url("subscription", "acme", pk=subscription.pk)
    )
    assert consumer.status_code == provider.status_code == 200
    for response in (consumer, provider):
        body = response.content.decode()
        assert "Payments API" in body
        assert "Storefront" in body
        assert "Gold" in body
    third = client_for(market.third)
    assert third.get(url("subscription", "initech", pk=subscription.pk)).status_code == 404
    assert third.get(url("subscription", "acme", pk=subscription.pk)).status_code == 404
    assert third.get(url("subscription", "globex", pk=subscription.pk)).status_code == 404


def test_the_provider_sees_only_the_applications_name_team_and_organisation(market, client_for):
    subscription = market.approved()
    consumer = client_for(market.developer).get(url("subscription", "globex", pk=subscription.pk))
    assert "dev@globex.test" in consumer.content.decode()  # who asked, on their own side
    provider = client_for(market.cast.maintainer).get(
        url("subscription", "acme", pk=subscription.pk)
    )
    body = provider.content.decode()
    assert "Storefront" in body
    assert "Globex Team" in body
    assert "Globex" in body
    assert "dev@globex.test" not in body
    assert "secret storefront plans" not in body
    assert subscription.application.get_absolute_url() not in body
    # The consumer's own history line shows their organisation instead of the person.
    assert "subscription.requested" in body
    assert "maintainer@acme.test" in body  # the provider's own decider
    consumer_body = consumer.content.decode()
    assert "maintainer@acme.test" not in consumer_body
    assert "Acme Secret Works" in consumer_body


def test_the_consumer_list_shows_state_gateway_state_and_deprecation(market, client_for):
    subscription = market.approved()
    version_transition(
        version=market.api.current_version,
        to_state="deprecated",
        reason="v2 replaces it",
        sunset_at=datetime.date(2031, 1, 31),
        actor=Actor.for_user(market.cast.maintainer),
    )
    page = client_for(market.developer).get(url("subscription_list", "globex")).content.decode()
    assert url("subscription", "globex", pk=subscription.pk) in page
    assert "Approved" in page
    assert "Not on a gateway" in page
    assert "1.0.0 deprecated, sunset 2031-01-31" in page
    detail = client_for(market.developer).get(url("subscription", "globex", pk=subscription.pk))
    assert "Payments API 1.0.0 is deprecated</strong> and is retired on 2031-01-31" in (
        detail.content.decode()
    )


def test_a_list_without_deprecations_has_no_notice(market, client_for):
    market.approved()
    page = client_for(market.developer).get(url("subscription_list", "globex")).content.decode()
    assert 'data-testid="deprecation"' not in page


def test_the_provider_list_shows_subscribers_to_visible_apis(market, client_for):
    subscription = market.request()
    page = client_for(market.cast.member).get(url("subscription_list", "acme") + "?side=provider")
    body = page.content.decode()
    assert url("subscription", "acme", pk=subscription.pk) in body
    assert "Storefront" in body
    assert "Globex" in body
    own = client_for(market.cast.member).get(url("subscription_list", "acme")).content.decode()
    assert "Storefront" not in own


# --- The consumer's actions -----------------------------------------------------------------


def test_the_consumer_cancels_a_pending_request(market, client_for):
    subscription = market.request()
    response = client_for(market.developer).post(act(subscription.pk), {"action": "cancel"})
    assert response.status_code == 302
    assert response["Location"] == url("subscription", "globex", pk=subscription.pk)
    subscription.refresh_from_db()
    assert subscription.state == "cancelled"


def test_the_consumer_unsubscribes_and_the_keys_stop(market, client_for):
    subscription = market.approved()
    page = client_for(market.developer).get(url("subscription", "globex", pk=subscription.pk))
    assert 'value="unsubscribe"' in page.content.decode()
    response = client_for(market.developer).post(act(subscription.pk), {"action": "unsubscribe"})
    assert response.status_code == 302
    subscription.refresh_from_db()
    assert subscription.state == "cancelled"
    assert subscription.credentials.get().revoked_at is not None


def test_a_viewer_of_the_consuming_team_may_not_act(market, client_for):
    subscription = market.request()
    page = client_for(market.viewer).get(url("subscription", "globex", pk=subscription.pk))
    assert 'value="cancel"' not in page.content.decode()
    response = client_for(market.viewer).post(act(subscription.pk), {"action": "cancel"})
    assert response.status_code == 403
    subscription.refresh_from_db()
    assert subscription.state == "pending"


def test_the_consumer_asks_for_another_plan(market, client_for):
    subscription = market.approved()
    platinum = plan_create(
        api=market.api, name="Platinum", approval="manual", actor=Actor.for_user(market.cast.owner)
    )
    client = client_for(market.developer)
    change = url("subscription_plan", "globex", pk=subscription.pk)
    for bad in (
        {"plan": market.gold.pk},  # the current plan is not offered
        {"plan": ""},
        {"plan": "999999"},
    ):
        response = client.post(change, bad)
        assert response.status_code == 400, bad
        assert "Select a valid choice" in response.content.decode() or "required" in (
            response.content.decode()
        )
    subscription.refresh_from_db()
    assert subscription.requested_plan is None

    response = client.post(change, {"plan": platinum.pk, "reason": "More traffic"})
    assert response.status_code == 302
    subscription.refresh_from_db()
    assert (subscription.plan, subscription.requested_plan) == (market.gold, platinum)
    response = client.post(change, {"plan": market.free.pk})  # the automatic plan, at once
    assert response.status_code == 302
    subscription.refresh_from_db()
    assert (subscription.plan, subscription.requested_plan) == (market.free, None)


# --- The provider's actions -------------------------------------------------------------------


def test_the_provider_suspends_with_a_reason_resumes_and_revokes(market, client_for):
    subscription = market.approved()
    client = client_for(market.cast.maintainer)
    page = client.get(url("subscription", "acme", pk=subscription.pk)).content.decode()
    assert 'value="suspend"' in page
    assert 'value="revoke"' in page

    missing = client.post(act(subscription.pk, "acme"), {"action": "suspend", "reason": " "})
    assert missing.status_code == 400
    assert "A reason is needed to suspend." in missing.content.decode()
    subscription.refresh_from_db()
    assert subscription.state == "approved"

    client.post(act(subscription.pk, "acme"), {"action": "suspend", "reason": "Unpaid invoice"})
    subscription.refresh_from_db()
    assert (subscription.state, subscription.decision_reason) == ("suspended", "Unpaid invoice")
    client.post(act(subscription.pk, "acme"), {"action": "resume"})
    subscription.refresh_from_db()
    assert subscription.state == "approved"
    client.post(act(subscription.pk, "acme"), {"action": "revoke", "reason": "Contract ended"})
    subscription.refresh_from_db()
    assert subscription.state == "revoked"
    history = client.get(url("subscription", "acme", pk=subscription.pk)).content.decode()
    for action in ("subscription.suspended", "subscription.approved", "subscription.revoked"):
        assert action in history
    assert "Unpaid invoice" in history


def test_a_conflicting_action_is_a_message_not_an_error(market, client_for):
    subscription = market.request()
    response = client_for(market.cast.maintainer).post(
        act(subscription.pk, "acme"), {"action": "resume"}, follow=True
    )
    assert response.status_code == 200
    assert "pending subscription cannot be resumed" in response.content.decode()


def test_consumers_cannot_take_provider_actions(market, client_for):
    subscription = market.approved()
    response = client_for(market.developer).post(
        act(subscription.pk), {"action": "suspend", "reason": "mine"}
    )
    assert response.status_code == 403
    assert Subscription.objects.get().state == "approved"


# --- The gateway ------------------------------------------------------------------------------


def failed_operation(market) -> GatewayOperation:
    subscription = market.approved()
    connection = connection_create(
        organisation=market.cast.org,
        team=market.cast.team,
        name="Spec URL",
        kind="openapi_url",
        config={"url": "https://specs.acme.test/openapi.json"},
        actor=Actor.for_user(market.cast.owner),
    )
    return GatewayOperation.objects.create(
        organisation=market.cast.org,
        connection=connection,
        subscription=subscription,
        credential=subscription.credentials.get(),
        action=GatewayOperation.Action.PROVISION,
        state=GatewayOperation.State.FAILED,
        attempts=8,
        last_error="The gateway said no.",
    )


def test_the_provider_sees_failed_operations_and_retries_them(market, client_for):
    operation = failed_operation(market)
    subscription = operation.subscription
    client = client_for(market.cast.maintainer)
    page = client.get(url("subscription", "acme", pk=subscription.pk)).content.decode()
    retry = url("operation_retry", "acme", pk=subscription.pk, operation=operation.pk)
    assert "The gateway said no." in page
    assert retry in page
    consumer = client_for(market.developer).get(url("subscription", "globex", pk=subscription.pk))
    assert "The gateway said no." not in consumer.content.decode()

    assert client_for(market.cast.developer).post(retry).status_code == 403
    assert (
        client_for(market.developer).post(
            url("operation_retry", "globex", pk=subscription.pk, operation=operation.pk)
        )
    ).status_code == 404
    response = client.post(retry)
    assert response.status_code == 302
    operation.refresh_from_db()
    assert (operation.state, operation.attempts) == ("pending", 0)


def test_a_retry_under_another_subscription_is_404(market, client_for):
    operation = failed_operation(market)
    kiosk = application_create(
        team=market.cast.other_team, name="Kiosk", actor=Actor.for_user(market.developer)
    )
    other = market.request(market.free, application=kiosk)
    response = client_for(market.cast.maintainer).post(
        url("operation_retry", "acme", pk=other.pk, operation=operation.pk)
    )
    assert response.status_code == 404
    operation.refresh_from_db()
    assert operation.state == "failed"
