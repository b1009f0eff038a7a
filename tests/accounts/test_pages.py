"""allauth's pages render inside the portal layout, labelled, linked and with readable errors."""

from html.parser import HTMLParser

import pytest
from django.urls import reverse

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

ENTRANCE_PAGES = ["account_login", "account_signup", "account_reset_password"]


class FormControls(HTMLParser):
    """Collects the visible inputs, the labels' targets, the ids and the links of a page."""

    def __init__(self, html: str):
        super().__init__()
        self.controls: list[dict] = []
        self.label_targets: set[str] = set()
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "a" and "href" in attrs:
            self.links.append(attrs["href"])
        if tag == "label" and "for" in attrs:
            self.label_targets.add(attrs["for"])
        if tag in ("input", "select", "textarea") and attrs.get("type") not in ("hidden", "submit"):
            self.controls.append(attrs)


def page(client, url: str) -> tuple[object, FormControls]:
    response = client.get(url)
    assert response.status_code == 200
    return response, FormControls(response.content.decode())


@pytest.mark.parametrize("name", ENTRANCE_PAGES)
def test_entrance_pages_use_the_portal_layout_and_label_every_field(client, name):
    response, parsed = page(client, reverse(name))

    html = response.content.decode()
    assert '<header class="topbar">' in html
    assert "· Portico</title>" in html
    assert '<form method="post" class="form' in html
    assert parsed.controls, "the page has a form to fill in"
    for control in parsed.controls:
        assert control["id"] in parsed.label_targets, f"no label for {control}"


@pytest.mark.parametrize("name", ENTRANCE_PAGES)
def test_entrance_pages_link_to_each_other(client, name):
    _, parsed = page(client, reverse(name))

    others = {reverse(other) for other in ENTRANCE_PAGES if other != name}
    assert others <= set(parsed.links)


def test_login_page_offers_password_reset_next_to_the_password(client):
    response, _ = page(client, reverse("account_login"))

    html = response.content.decode()
    help_text = html[html.index('id="id_password_helptext"') :][:200]
    assert reverse("account_reset_password") in help_text
    assert 'aria-describedby="id_password_helptext"' in html


def test_field_errors_are_tied_to_their_inputs(client):
    response = client.post(
        reverse("account_signup"),
        {"email": "not-an-address", "password1": PASSWORD, "password2": "something else"},
    )

    assert response.status_code == 200
    parsed = FormControls(response.content.decode())
    email = next(c for c in parsed.controls if c.get("name") == "email")
    assert email["aria-invalid"] == "true"
    assert "id_email_error" in email["aria-describedby"].split()
    assert "id_email_error" in parsed.ids
    assert b"Enter a valid email address." in response.content


@pytest.mark.parametrize(
    ("name", "heading"),
    [
        ("account_email", "Email Addresses"),
        ("account_change_password", "Change Password"),
        ("mfa_index", "Two-Factor Authentication"),
    ],
)
def test_account_pages_are_reachable_from_the_user_menu(client, name, heading):
    user = UserFactory(email="ada@example.com")
    client.force_login(user)
    home = client.get(reverse("tenants:token_list")).content.decode()
    assert f'href="{reverse(name)}"' in home

    response, parsed = page(client, reverse(name))

    html = response.content.decode()
    assert '<nav class="tabs" aria-label="Your account">' in html
    assert f'<a href="{reverse(name)}" aria-current="page">' in html
    assert heading in html
    assert "ada@example.com" in html
    for control in parsed.controls:
        assert control.get("id") in parsed.label_targets, f"no label for {control}"
