"""Helpers for the sign-in tests: links out of e-mails, TOTP codes, password logins,
settings computed from a given environment."""

import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.urls import reverse

from tests.factories import PASSWORD

TOTP_PERIOD = 30
BASE_DIR = Path(__file__).resolve().parents[2]


def link_path(body: str, marker: str) -> str:
    """The path of the first link in an e-mail body that contains ``marker``."""
    for url in re.findall(r"https?://\S+", body):
        if marker in url:
            return urlsplit(url).path
    raise AssertionError(f"no link with {marker!r} in:\n{body}")


def computed_settings(*names: str, **env_vars: str) -> subprocess.CompletedProcess:
    """Import the settings module in a fresh interpreter with ``env_vars`` set; it prints
    the named settings as a JSON object."""
    unset = ("OIDC_", "EMAIL_URL", "PORTICO_ENV")
    env = {k: v for k, v in os.environ.items() if not k.startswith(unset)}
    env.update(env_vars)
    code = (
        "import json; from portal import settings; "
        f"print(json.dumps({{name: getattr(settings, name) for name in {list(names)!r}}}))"
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=BASE_DIR, env=env, capture_output=True, text=True
    )


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
