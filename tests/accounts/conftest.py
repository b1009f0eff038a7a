"""Helpers for the sign-in tests: links out of e-mails, TOTP codes, password logins."""

import re
from urllib.parse import urlsplit

import pytest
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.urls import reverse

from tests.factories import PASSWORD

TOTP_PERIOD = 30


def link_path(body: str, marker: str) -> str:
    """The path of the first link in an e-mail body that contains ``marker``."""
    for url in re.findall(r"https?://\S+", body):
        if marker in url:
            return urlsplit(url).path
    raise AssertionError(f"no link with {marker!r} in:\n{body}")


def totp_code(secret: str, at: float) -> str:
    """The authenticator app's code for ``secret`` at Unix time ``at`` (RFC 6238)."""
    return format_hotp_value(hotp_value(secret, int(at) // TOTP_PERIOD))


def signed_in_user_id(client) -> str | None:
    return client.session.get("_auth_user_id")


@pytest.fixture
def password_login():
    """Post the sign-in form as a person would; returns the response."""

    def login(client, email: str, password: str = PASSWORD, **extra):
        return client.post(
            reverse("account_login"), {"login": email, "password": password, **extra}
        )

    return login
