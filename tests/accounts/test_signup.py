"""Sign-up with mandatory e-mail verification, e-mail log-in, password reset, log-out."""

import json

import pytest
from allauth.account.models import EmailAddress
from django.test import Client
from django.urls import reverse

from tenants.models import User
from tests.factories import PASSWORD, UserFactory

from .conftest import computed_settings, link_path, signed_in_user_id

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a brand new passphrase 42"


def sign_up(client, email: str):
    return client.post(
        reverse("account_signup"), {"email": email, "password1": PASSWORD, "password2": PASSWORD}
    )


def test_signup_form_asks_for_email_and_password_only(client):
    response = client.get(reverse("account_signup"))

    assert response.status_code == 200
    fields = list(response.context["form"].fields)
    assert fields == ["email", "password1", "password2"]
    assert b'<label for="id_email">' in response.content
    assert b"username" not in response.content.lower()


def test_signup_sends_verification_mail_and_gives_no_session(client, mailoutbox):
    response = sign_up(client, "Ada@Example.com")

    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert signed_in_user_id(client) is None
    user = User.objects.get(email__iexact="ada@example.com")
    assert not EmailAddress.objects.get(user=user).verified
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["ada@example.com"]
    assert mail.subject.startswith("[Portico] ")
    assert "/accounts/confirm-email/" in mail.body


def test_login_before_verification_gives_no_session(client, password_login, mailoutbox):
    sign_up(client, "ada@example.com")
    client.logout()

    response = password_login(client, "ada@example.com")

    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert signed_in_user_id(client) is None
    assert client.get(reverse("tenants:token_list")).status_code == 302


def test_verification_link_verifies_and_signs_in(client, mailoutbox):
    sign_up(client, "ada@example.com")
    path = link_path(mailoutbox[0].body, "/accounts/confirm-email/")

    page = client.get(path)
    assert page.status_code == 200
    assert b"ada@example.com" in page.content
    assert signed_in_user_id(client) is None, "opening the link alone must not sign in"

    response = client.post(path)

    user = User.objects.get(email="ada@example.com")
    assert response.status_code == 302
    assert EmailAddress.objects.get(user=user).verified
    assert signed_in_user_id(client) == str(user.pk)
    home = client.get(response["Location"], follow=True)
    assert b"ada@example.com" in home.content


def test_verification_link_from_another_browser_verifies_without_signing_in(client, mailoutbox):
    sign_up(client, "ada@example.com")
    path = link_path(mailoutbox[0].body, "/accounts/confirm-email/")
    other = Client()

    other.post(path)

    assert EmailAddress.objects.get(email="ada@example.com").verified
    assert signed_in_user_id(other) is None


def test_login_is_by_email_without_username(client, password_login):
    user = UserFactory(email="grace@example.com")

    page = client.get(reverse("account_login"))
    assert list(page.context["form"].fields)[:2] == ["login", "password"]
    assert page.context["form"].fields["login"].label == "Email"

    response = password_login(client, "GRACE@example.com")

    assert response.status_code == 302
    assert signed_in_user_id(client) == str(user.pk)


def test_wrong_password_shows_an_error_and_gives_no_session(client, password_login):
    UserFactory(email="grace@example.com")

    response = password_login(client, "grace@example.com", "not the password")

    assert response.status_code == 200
    assert b"not correct" in response.content
    assert b'role="alert"' in response.content
    assert signed_in_user_id(client) is None


def test_password_reset_by_mail(client, password_login, mailoutbox):
    user = UserFactory(email="grace@example.com")

    response = client.post(reverse("account_reset_password"), {"email": "grace@example.com"})

    assert response.status_code == 302
    assert response["Location"] == reverse("account_reset_password_done")
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["grace@example.com"]
    path = link_path(mailoutbox[0].body, "/accounts/password/reset/key/")

    # The key moves from the URL into the session before the form is shown.
    form_page = client.get(path, follow=True)
    assert form_page.status_code == 200
    set_password_path = form_page.redirect_chain[-1][0]
    assert "set-password" in set_password_path
    response = client.post(
        set_password_path, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("account_reset_password_from_key_done")
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert signed_in_user_id(client) is None
    password_login(client, "grace@example.com", NEW_PASSWORD)
    assert signed_in_user_id(client) == str(user.pk)


def test_password_reset_link_works_once(client, mailoutbox):
    UserFactory(email="grace@example.com")
    client.post(reverse("account_reset_password"), {"email": "grace@example.com"})
    path = link_path(mailoutbox[0].body, "/accounts/password/reset/key/")
    set_password_path = client.get(path, follow=True).redirect_chain[-1][0]
    client.post(set_password_path, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})

    again = client.get(path, follow=True)

    assert again.context["token_fail"] is True
    assert b"The password reset link was invalid" in again.content
    assert b'name="password1"' not in again.content


def test_password_reset_for_unknown_address_sends_no_reset_link(client, mailoutbox):
    response = client.post(reverse("account_reset_password"), {"email": "nobody@example.com"})

    # The same answer as for a known address, so addresses cannot be probed.
    assert response.status_code == 302
    assert response["Location"] == reverse("account_reset_password_done")
    assert all("/accounts/password/reset/key/" not in mail.body for mail in mailoutbox)


def test_logout_needs_post(client):
    user = UserFactory()
    client.force_login(user)

    page = client.get(reverse("account_logout"))
    assert page.status_code == 200
    assert signed_in_user_id(client) == str(user.pk)

    response = client.post(reverse("account_logout"))

    assert response.status_code == 302
    assert signed_in_user_id(client) is None


MAIL_SETTINGS = ("EMAIL_BACKEND", "EMAIL_HOST", "EMAIL_PORT", "EMAIL_HOST_USER", "EMAIL_USE_TLS")


def test_mail_goes_to_the_console_unless_email_url_is_set():
    result = computed_settings(*MAIL_SETTINGS)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["EMAIL_BACKEND"] == (
        "django.core.mail.backends.console.EmailBackend"
    )


def test_email_url_selects_smtp():
    result = computed_settings(
        *MAIL_SETTINGS, EMAIL_URL="smtp+tls://mailer:secret@mail.example.test:587"
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "mail.example.test",
        "EMAIL_PORT": 587,
        "EMAIL_HOST_USER": "mailer",
        "EMAIL_USE_TLS": True,
    }
