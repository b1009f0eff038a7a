"""The access tokens page: create (shown once), list by prefix, revoke."""

import pytest
from django.test import Client
from django.urls import reverse

from tenants.models import AccessToken, AuditEvent

TOKENS = reverse("tenants:token_list")


def revoke_url(token):
    return reverse("tenants:token_revoke", kwargs={"pk": token.pk})


def test_the_page_renders_and_is_not_cached(cast, client_for):
    response = client_for(cast.member).get(TOKENS)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert b"No tokens yet." in response.content


def test_create_shows_the_token_once(cast, client_for):
    client = client_for(cast.owner)
    response = client.post(
        TOKENS, {"name": "CI", "scope": "write", "expires_in_days": 30, "organisation": cast.org.pk}
    )
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    html = response.content.decode()
    plaintext = html.split('data-testid="new-token">')[1].split("</code>")[0]
    token = AccessToken.objects.get()
    assert plaintext.startswith(token.display_prefix + "_")
    assert (token.user, token.scope, token.organisation) == (cast.owner, "write", cast.org)

    again = client.get(TOKENS).content.decode()
    assert plaintext not in again
    assert f"{token.display_prefix}…" in again


def test_the_list_shows_my_tokens_only(cast, client_for, make_token):
    mine, _ = make_token(cast.owner, name="mine-token")
    theirs, _ = make_token(cast.admin, name="their-token")
    html = client_for(cast.owner).get(TOKENS).content.decode()
    assert "mine-token" in html
    assert mine.display_prefix in html
    assert "their-token" not in html
    assert theirs.display_prefix not in html


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "", "scope": "read", "expires_in_days": 30}, "This field is required."),
        ({"name": "x", "scope": "admin", "expires_in_days": 30}, "Select a valid choice."),
        ({"name": "x", "scope": "read", "expires_in_days": 0}, "greater than or equal to 1"),
        ({"name": "x", "scope": "read", "expires_in_days": 366}, "less than or equal to 365"),
        (
            {"name": "x", "scope": "read", "expires_in_days": 30, "organisation": "globex"},
            "Select a valid choice.",
        ),
    ],
)
def test_invalid_create_answers_400_and_writes_nothing(cast, client_for, data, message):
    if data.get("organisation") == "globex":
        data = {**data, "organisation": cast.other_org.pk}
    events = AuditEvent.objects.count()
    response = client_for(cast.owner).post(TOKENS, data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert b'data-testid="new-token"' not in response.content
    assert not AccessToken.objects.exists()
    assert AuditEvent.objects.count() == events


def test_revoke(cast, client_for, make_token):
    token, _ = make_token(cast.owner)
    response = client_for(cast.owner).post(revoke_url(token), follow=True)
    assert response.redirect_chain == [(TOKENS, 302)]
    assert f"Token {token.display_prefix} revoked." in response.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_someone_elses_token_is_404(cast, client_for, make_token):
    theirs, _ = make_token(cast.admin)
    assert client_for(cast.owner).post(revoke_url(theirs)).status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_revoke_is_post_only(cast, client_for, make_token):
    token, _ = make_token(cast.owner)
    assert client_for(cast.owner).get(revoke_url(token)).status_code == 405


def test_visitors_sign_in_first(db):
    response = Client().get(TOKENS)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
