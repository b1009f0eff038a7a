"""Applications and their keys: the list and "add", the application's page, a key
shown once, rotation with its grace period, revoke, issue."""

from apis.models import Application, Credential
from apis.services import keys

from .pages import HTMX, market_fixture, url  # noqa: F401


def app_url(market) -> str:
    return url("application", "globex", pk=market.application.pk)


# --- Applications ---------------------------------------------------------------------


def test_developers_list_and_add_applications(market, client_for):
    client = client_for(market.developer)
    page = client.get(url("application_list", "globex")).content.decode()
    assert "Storefront" in page
    assert "New application" in page
    response = client.post(
        url("application_list", "globex"),
        {"team": market.cast.other_team.pk, "name": "Kiosk", "description": "In-store"},
    )
    kiosk = Application.objects.get(name="Kiosk")
    assert response.status_code == 302
    assert response["Location"] == url("application", "globex", pk=kiosk.pk)
    assert kiosk.team == market.cast.other_team
    assert kiosk.created_by == market.developer


def test_bad_applications_answer_400_and_write_nothing(market, client_for):
    client = client_for(market.developer)
    for data, message in (
        ({"team": market.cast.other_team.pk, "name": "Storefront"}, "application of this name"),
        ({"team": market.cast.other_team.pk, "name": ""}, "This field is required."),
        ({"team": market.cast.team.pk, "name": "Sneaky"}, "Select a valid choice."),
    ):
        response = client.post(url("application_list", "globex"), data)
        assert response.status_code == 400, data
        assert message in response.content.decode()
    assert Application.objects.count() == 1


def test_viewers_see_applications_but_add_none(market, client_for):
    client = client_for(market.viewer)
    page = client.get(url("application_list", "globex")).content.decode()
    assert "Storefront" in page
    assert "New application" not in page
    response = client.post(
        url("application_list", "globex"), {"team": market.cast.other_team.pk, "name": "X"}
    )
    assert response.status_code == 403
    assert client.get(app_url(market)).status_code == 200
    assert client_for(market.third).get(app_url(market)).status_code == 404


def test_the_application_page_shows_subscriptions_with_their_states_and_keys(market, client_for):
    subscription = market.approved()
    pending = market.request(
        market.gold,
        application=Application.objects.create(
            organisation=market.cast.other_org, team=market.cast.other_team, name="Other"
        ),
    )
    credential = subscription.credentials.get()
    page = client_for(market.developer).get(app_url(market)).content.decode()
    assert f'id="keys-{subscription.pk}"' in page
    assert "Approved" in page
    assert "Not on a gateway" in page
    assert f"{credential.prefix}…" in page
    assert "Show key" in page
    assert f'id="keys-{pending.pk}"' not in page  # another application's


# --- A key shown once ---------------------------------------------------------------------


def test_the_key_is_shown_once_then_only_its_prefix(market, client_for):
    subscription = market.approved()
    credential = subscription.credentials.get()
    client = client_for(market.developer)
    reveal = url("key_reveal", "globex", pk=credential.pk)
    response = client.post(reveal, **HTMX)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    body = response.content.decode()
    assert "<html" not in body
    assert body.lstrip().startswith("<section")
    shown = body.split('data-testid="key-value">', 1)[1].split("<", 1)[0]
    assert shown.startswith(credential.prefix)
    assert keys.credential_authenticate(shown) == credential
    assert 'data-copy="key-value-' in body

    page = client.get(app_url(market)).content.decode()
    assert shown not in page
    assert f"{credential.prefix}…" in page
    assert "Show key" not in page
    again = client.post(reveal, **HTMX).content.decode()
    assert "shown once already" in again
    assert 'data-testid="key-value"' not in again


def test_without_htmx_the_key_is_shown_on_the_full_page(market, client_for):
    subscription = market.approved()
    credential = subscription.credentials.get()
    response = client_for(market.developer).post(url("key_reveal", "globex", pk=credential.pk))
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" in body
    assert 'data-testid="key-value"' in body
    assert "apis/copy.js" in body


def test_only_the_applications_team_sees_keys(market, client_for):
    subscription = market.approved()
    credential = subscription.credentials.get()
    reveal = url("key_reveal", "globex", pk=credential.pk)
    assert client_for(market.viewer).post(reveal).status_code == 403
    assert (
        client_for(market.cast.maintainer)
        .post(url("key_reveal", "acme", pk=credential.pk))
        .status_code
        == 404
    )
    credential.refresh_from_db()
    assert credential.sealed_reveal  # still waiting for its one look


def test_rotation_shows_the_new_key_once_and_the_old_one_keeps_its_grace(market, client_for):
    subscription = market.approved()
    old = subscription.credentials.get()
    response = client_for(market.developer).post(url("key_rotate", "globex", pk=old.pk), **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    new = Credential.objects.exclude(pk=old.pk).get()
    shown = body.split('data-testid="key-value">', 1)[1].split("<", 1)[0]
    assert keys.credential_authenticate(shown) == new
    assert "Your new key." in body
    old.refresh_from_db()
    assert old.replaced_at is not None
    assert old.grace_until is not None
    assert f"works until {old.grace_until:%Y-%m-%d %H:%M}" in body
    assert "keeps working until" in body  # the message, out of band


def test_revoke_then_issue_a_new_key(market, client_for):
    subscription = market.approved()
    credential = subscription.credentials.get()
    client = client_for(market.developer)
    response = client.post(url("key_revoke", "globex", pk=credential.pk))
    assert response.status_code == 302
    assert response["Location"] == app_url(market)
    credential.refresh_from_db()
    assert credential.revoked_at is not None
    page = client.get(app_url(market)).content.decode()
    issue = url("key_issue", "globex", pk=subscription.pk)
    assert issue in page
    response = client.post(issue, **HTMX)
    assert response.status_code == 200
    fresh = subscription.credentials.get(revoked_at__isnull=True)
    shown = response.content.decode().split('data-testid="key-value">', 1)[1].split("<", 1)[0]
    assert keys.credential_authenticate(shown) == fresh
    assert issue not in response.content.decode()  # it has a key again
    second = client.post(issue, **HTMX)
    assert "rotate it instead" in second.content.decode()
    assert subscription.credentials.filter(revoked_at__isnull=True).count() == 1
