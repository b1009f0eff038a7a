"""Editing an application (name, description, owners among the organisation's members)
and deleting it, refused while it has live subscriptions."""

import pytest
from django.utils.html import escape

from apis.models import Application, Subscription
from apis.services.applications import application_create
from apis.services.subscriptions import subscription_act
from tenants.actors import Actor
from tenants.models import AuditEvent

from .pages import market_fixture, url  # noqa: F401


def edit_url(application) -> str:
    return url("application_edit", "globex", pk=application.pk)


def delete_url(application) -> str:
    return url("application_delete", "globex", pk=application.pk)


def test_the_application_page_links_to_edit_and_delete_for_its_team(market, client_for):
    page = client_for(market.developer).get(url("application", "globex", pk=market.application.pk))
    body = page.content.decode()
    assert edit_url(market.application) in body
    assert delete_url(market.application) in body
    viewer = client_for(market.viewer).get(url("application", "globex", pk=market.application.pk))
    assert edit_url(market.application) not in viewer.content.decode()
    assert delete_url(market.application) not in viewer.content.decode()


# --- Editing ---------------------------------------------------------------------------


def test_a_developer_edits_the_name_description_and_owners(market, client_for):
    application = market.application
    owner = market.cast.outsider  # Globex's owner
    client = client_for(market.developer)
    form = client.get(edit_url(application)).content.decode()
    assert 'value="Storefront"' in form
    assert "Globex&#x27;s secret storefront plans" in form
    assert "dev@globex.test" in form
    # Owners are chosen among Globex's members only.
    assert "maintainer@acme.test" not in form
    response = client.post(
        edit_url(application),
        {
            "name": "Storefront web",
            "description": "The shop",
            "owners": [market.developer.pk, owner.pk],
        },
    )
    assert response.status_code == 302
    assert response["Location"] == url("application", "globex", pk=application.pk)
    application.refresh_from_db()
    assert (application.name, application.description) == ("Storefront web", "The shop")
    assert set(application.owners.all()) == {market.developer, owner}
    event = AuditEvent.objects.get(action="application.updated")
    assert event.after["owners"] == sorted([market.developer.email, owner.email])
    page = client.get(response["Location"]).content.decode()
    assert "Application Storefront web saved." in page
    names = f"{market.developer.display_name}, {owner.display_name}"  # by e-mail address
    assert f"owners {escape(names)}" in page


def test_owners_can_all_be_removed(market, client_for):
    application = market.application
    assert application.owners.exists()
    response = client_for(market.developer).post(
        edit_url(application), {"name": "Storefront", "description": ""}
    )
    assert response.status_code == 302
    assert not application.owners.exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": ""}, "This field is required."),
        ({"name": "x" * 101}, "at most 100 characters"),
        ({"name": "Kiosk"}, "The team has an application of this name."),
        ({"name": "Storefront", "owners": ["outsider"]}, "Select a valid choice."),
        ({"name": "Storefront", "owners": [999_999]}, "Select a valid choice."),
    ],
)
def test_bad_edits_answer_400_and_change_nothing(market, client_for, data, message):
    application_create(
        team=market.cast.other_team, name="Kiosk", actor=Actor.for_user(market.developer)
    )
    if data.get("owners") == ["outsider"]:
        data = {**data, "owners": [market.cast.maintainer.pk]}  # Acme's, not Globex's
    response = client_for(market.developer).post(
        edit_url(market.application), {"description": "Changed", **data}
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert message in body
    assert "<h1>Edit Storefront</h1>" in body
    market.application.refresh_from_db()
    assert market.application.name == "Storefront"
    assert market.application.description == "Globex's secret storefront plans"
    assert list(market.application.owners.all()) == [market.developer]
    assert not AuditEvent.objects.filter(action="application.updated").exists()


def test_viewers_edit_and_delete_nothing(market, client_for):
    client = client_for(market.viewer)
    application = market.application
    assert client.get(edit_url(application)).status_code == 403
    assert client.post(edit_url(application), {"name": "Mine"}).status_code == 403
    assert client.get(delete_url(application)).status_code == 403
    assert client.post(delete_url(application)).status_code == 403
    application.refresh_from_db()
    assert application.name == "Storefront"


def test_other_organisations_get_404(market, client_for):
    application = market.application
    for user in (market.third, market.cast.maintainer):
        client = client_for(user)
        assert client.get(edit_url(application)).status_code == 404
        assert client.post(delete_url(application)).status_code == 404
    # Under Acme's own address, Globex's application is nobody's.
    acme = client_for(market.cast.owner)
    assert acme.get(url("application_edit", "acme", pk=application.pk)).status_code == 404
    assert acme.post(url("application_delete", "acme", pk=application.pk)).status_code == 404
    assert Application.objects.filter(pk=application.pk).exists()


# --- Deleting --------------------------------------------------------------------------


def test_a_developer_deletes_an_application_without_live_subscriptions(market, client_for):
    subscription = market.request()
    subscription_act(
        subscription=subscription,
        action="reject",
        reason="Not now",
        actor=Actor.for_user(market.cast.maintainer),
    )
    client = client_for(market.developer)
    page = client.get(delete_url(market.application)).content.decode()
    assert "Delete Storefront?" in page
    assert "Delete application" in page
    response = client.post(delete_url(market.application))
    assert response.status_code == 302
    assert response["Location"] == url("application_list", "globex")
    assert not Application.objects.filter(pk=market.application.pk).exists()
    assert not Subscription.objects.filter(pk=subscription.pk).exists()
    assert AuditEvent.objects.filter(action="application.deleted").count() == 1
    assert "Application Storefront deleted." in client.get(response["Location"]).content.decode()


@pytest.mark.parametrize("state", ["pending", "approved", "suspended"])
def test_deleting_is_refused_while_a_subscription_lives(market, client_for, state):
    subscription = market.approved() if state != "pending" else market.request()
    if state == "suspended":
        subscription_act(
            subscription=subscription,
            action="suspend",
            reason="Abuse",
            actor=Actor.for_user(market.cast.maintainer),
        )
    subscription.refresh_from_db()
    assert subscription.state == state
    client = client_for(market.developer)
    page = client.get(delete_url(market.application)).content.decode()
    assert 'data-testid="live-subscriptions"' in page
    assert "Payments API" in page
    assert "Delete application" not in page
    response = client.post(delete_url(market.application), follow=True)
    assert response.redirect_chain[-1][0] == url("application", "globex", pk=market.application.pk)
    assert "End the application&#x27;s subscriptions before deleting it." in (
        response.content.decode()
    )
    assert Application.objects.filter(pk=market.application.pk).exists()
    assert not AuditEvent.objects.filter(action="application.deleted").exists()
