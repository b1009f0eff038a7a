"""Asking for a subscription from the API page: the panel, its htmx form posted to the
consumer's organisation, refusals and their messages."""

import datetime

from apis.models import Application, Subscription
from apis.services.catalogue import api_create
from apis.services.lifecycle import version_transition
from apis.services.plans import plan_create
from tenants.actors import Actor
from tenants.roles import TeamRole
from tests.factories import MembershipFactory, TeamFactory, TeamMembershipFactory

from .pages import HTMX, market_fixture, url  # noqa: F401

NEW = url("subscription_new", "globex") + "?api=acme/payments"


def ask(**overrides) -> dict:
    data = {"application": "", "new_application": "", "plan": "", "reason": "We sell things."}
    data.update(overrides)
    return data


def test_the_api_page_offers_the_panel_for_the_users_applications(market, client_for):
    page = client_for(market.developer).get(market.api.get_absolute_url()).content.decode()
    assert 'id="subscribe-panel"' in page
    assert f'hx-post="{NEW}"' in page
    assert "For an application of Globex." in page
    assert f'<option value="{market.application.pk}">Storefront</option>' in page
    assert "Gold (50 req/s, 100000 per month, needs approval)" in page
    assert "Free (1 req/s, approved at once)" in page


def test_no_panel_for_viewers(market, client_for):
    page = client_for(market.viewer).get(market.api.get_absolute_url()).content.decode()
    assert "Gold" in page
    assert 'id="subscribe-panel"' not in page


def test_the_panel_subscribes_for_the_last_organisation_worked_in(market, client_for):
    """A developer of teams in two organisations subscribes for the one they were in."""
    TeamMembershipFactory(team=market.cast.team, user=market.cast.outsider, role=TeamRole.DEVELOPER)
    MembershipFactory(organisation=market.cast.org, user=market.cast.outsider)
    client = client_for(market.cast.outsider)
    client.get(url("subscription_list", "acme"))
    page = client.get(market.api.get_absolute_url()).content.decode()
    assert "For an application of Acme Secret Works." in page
    client.get(url("subscription_list", "globex"))
    page = client.get(market.api.get_absolute_url()).content.decode()
    assert "For an application of Globex." in page


def test_an_htmx_request_returns_the_panel_with_the_request_made(market, client_for):
    response = client_for(market.developer).post(
        NEW, ask(application=market.application.pk, plan=market.gold.pk), **HTMX
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body
    assert 'id="subscribe-panel"' in body
    assert "Requested." in body
    assert 'hx-swap-oob="true"' in body
    assert "Requested Payments API for Storefront; its maintainers decide." in body
    subscription = Subscription.objects.get()
    assert (subscription.state, subscription.plan, subscription.application) == (
        "pending",
        market.gold,
        market.application,
    )
    assert subscription.organisation == market.cast.other_org
    assert subscription.provider == market.cast.org
    assert subscription.reason == "We sell things."
    assert url("subscription", "globex", pk=subscription.pk) in body


def test_without_htmx_the_post_redirects_to_the_subscription(market, client_for):
    response = client_for(market.developer).post(
        NEW, ask(application=market.application.pk, plan=market.gold.pk)
    )
    subscription = Subscription.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("subscription", "globex", pk=subscription.pk)


def test_a_new_application_is_created_inline(market, client_for):
    response = client_for(market.developer).post(
        NEW, ask(new_application="Checkout", plan=market.free.pk), **HTMX
    )
    assert response.status_code == 200
    application = Application.objects.get(name="Checkout")
    assert application.team == market.cast.other_team
    subscription = Subscription.objects.get(application=application)
    assert subscription.state == "approved"  # the Free plan approves at once
    assert "Checkout</strong> is subscribed to Payments API on Free" in response.content.decode()


def test_bad_input_answers_400_and_writes_nothing(market, client_for):
    client = client_for(market.developer)
    cases = [
        (ask(plan=market.gold.pk), "Name the new application, or choose one."),
        (
            ask(application=market.application.pk, new_application="Two", plan=market.gold.pk),
            "Choose an application or name a new one, not both.",
        ),
        (ask(application=market.application.pk), "This field is required."),
        (ask(application=market.application.pk, plan=market.gold.pk, reason=""), "required"),
        (ask(new_application="Storefront", plan=market.gold.pk), "application of this name"),
    ]
    for data, message in cases:
        response = client.post(NEW, data, **HTMX)
        assert response.status_code == 400, data
        assert message in response.content.decode(), data
        assert 'id="subscribe-panel"' in response.content.decode()
    assert not Subscription.objects.exists()
    assert Application.objects.count() == 1


def test_a_plan_of_another_api_is_refused(market, client_for):
    other = TeamFactory(organisation=market.cast.org)
    api = api_create(
        organisation=market.cast.org,
        team=other,
        name="Other",
        slug="other",
        visibility="public",
        actor=Actor.for_user(market.cast.owner),
    )
    stranger = plan_create(api=api, name="Elsewhere", actor=Actor.for_user(market.cast.owner))
    response = client_for(market.developer).post(
        NEW, ask(application=market.application.pk, plan=stranger.pk), **HTMX
    )
    assert response.status_code == 400
    assert not Subscription.objects.exists()


def test_refusals_show_their_message_and_leave_no_new_application(market, client_for, settings):
    client = client_for(market.developer)
    market.request(market.gold)
    duplicate = client.post(NEW, ask(application=market.application.pk, plan=market.gold.pk))
    assert duplicate.status_code == 400
    assert "already has a subscription to Payments API" in duplicate.content.decode()

    settings.SUBSCRIPTION_PENDING_LIMIT = 1
    capped = client.post(NEW, ask(new_application="Kiosk", plan=market.gold.pk), **HTMX)
    assert capped.status_code == 400
    assert "Your team has 1 requests waiting" in capped.content.decode()
    assert not Application.objects.filter(name="Kiosk").exists()
    assert Subscription.objects.count() == 1


def test_a_deprecated_api_takes_no_new_subscriptions(market, client_for):
    version_transition(
        version=market.api.current_version,
        to_state="deprecated",
        reason="v2 is coming",
        sunset_at=datetime.date(2031, 1, 31),
        actor=Actor.for_user(market.cast.maintainer),
    )
    client = client_for(market.developer)
    page = client.get(market.api.get_absolute_url()).content.decode()
    assert "takes no new subscriptions while its current version is deprecated" in page
    response = client.post(NEW, ask(application=market.application.pk, plan=market.gold.pk))
    assert response.status_code == 400
    assert "takes no new subscriptions" in response.content.decode()
    assert not Subscription.objects.exists()


def test_who_may_ask(market, client_for):
    data = ask(application=market.application.pk, plan=market.gold.pk)
    # A viewer of the team, and a member in no team: not consumers.
    assert client_for(market.viewer).post(NEW, data).status_code == 403
    # Another organisation's URL: not theirs.
    assert client_for(market.third).post(NEW, data).status_code == 404
    # An API they cannot see (Acme's organisation-only API) is missing.
    market.api.visibility = "organisation"
    market.api.save(update_fields=["visibility"])
    assert client_for(market.developer).post(NEW, data).status_code == 404
    assert client_for(market.developer).get(NEW).status_code == 404
    assert not Subscription.objects.exists()


def test_the_full_page_form_works_without_javascript(market, client_for):
    page = client_for(market.developer).get(NEW)
    assert page.status_code == 200
    assert "<html" in page.content.decode()
    assert f'action="{NEW}"' in page.content.decode()
    partial = client_for(market.developer).get(NEW, **HTMX).content.decode()
    assert "<html" not in partial
    assert 'id="subscribe-panel"' in partial
