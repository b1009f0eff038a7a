"""Two-factor authentication: TOTP and recovery codes, set up and used as a person would."""

import re
import time

import pytest
import time_machine
from allauth.mfa.models import Authenticator
from django.urls import reverse

from tests.factories import PASSWORD, UserFactory

from .conftest import signed_in_user_id, totp_code

pytestmark = pytest.mark.django_db


@pytest.fixture
def frozen_now():
    """Stop the clock so that a code and the check of it fall in the same 30-second step."""
    now = time.time()
    with time_machine.travel(now, tick=False):
        yield now


@pytest.fixture
def ada(db):
    return UserFactory(email="ada@example.com")


def open_totp_activation(client, password_login, email: str) -> str:
    """Sign in, confirm the password again as asked, open the authenticator page;
    returns the secret it shows."""
    password_login(client, email)
    response = client.get(reverse("mfa_activate_totp"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    page = client.post(response["Location"], {"password": PASSWORD}, follow=True)
    assert page.status_code == 200
    secret = re.search(rb'id="authenticator_secret" value="([A-Z2-7=]+)"', page.content)
    assert secret, page.content
    return secret.group(1).decode()


def activate_totp(client, password_login, email: str, now: float) -> str:
    """Activate an authenticator app for ``email``; returns its secret."""
    secret = open_totp_activation(client, password_login, email)
    response = client.post(reverse("mfa_activate_totp"), {"code": totp_code(secret, now)})
    assert response.status_code == 302, response.content
    return secret


def recovery_codes_on_page(client) -> list[str]:
    page = client.get(reverse("mfa_view_recovery_codes"))
    assert page.status_code == 200
    textarea = re.search(rb'<textarea id="recovery_codes"[^>]*>([^<]*)</textarea>', page.content)
    return textarea.group(1).decode().split()


def test_activating_totp_needs_a_valid_code(client, password_login, frozen_now, ada):
    secret = open_totp_activation(client, password_login, "ada@example.com")

    wrong = f"{(int(totp_code(secret, frozen_now)) + 1) % 1_000_000:06d}"

    response = client.post(reverse("mfa_activate_totp"), {"code": wrong})

    assert response.status_code == 200
    assert b"Incorrect code" in response.content
    assert not Authenticator.objects.filter(user=ada).exists()


def test_activating_totp_also_creates_recovery_codes(client, password_login, frozen_now, ada):

    activate_totp(client, password_login, "ada@example.com", frozen_now)

    types = set(Authenticator.objects.filter(user=ada).values_list("type", flat=True))
    assert types == {Authenticator.Type.TOTP, Authenticator.Type.RECOVERY_CODES}
    index = client.get(reverse("mfa_index"))
    assert b"Authentication using an authenticator app is active." in index.content
    assert len(recovery_codes_on_page(client)) == 10


def test_password_login_stops_at_mfa_until_a_valid_code(client, password_login, frozen_now, ada):
    secret = activate_totp(client, password_login, "ada@example.com", frozen_now)
    client.post(reverse("account_logout"))

    response = password_login(client, "ada@example.com")

    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_authenticate")
    assert signed_in_user_id(client) is None
    assert client.get(reverse("tenants:token_list")).status_code == 302

    wrong = client.post(reverse("mfa_authenticate"), {"code": "not-a-code"})
    assert wrong.status_code == 200
    assert b"Incorrect code" in wrong.content
    assert signed_in_user_id(client) is None

    response = client.post(reverse("mfa_authenticate"), {"code": totp_code(secret, frozen_now)})

    assert response.status_code == 302
    assert signed_in_user_id(client) == str(ada.pk)


def test_a_totp_code_is_not_accepted_twice(client, password_login, frozen_now, ada):
    secret = activate_totp(client, password_login, "ada@example.com", frozen_now)
    code = totp_code(secret, frozen_now)
    client.post(reverse("account_logout"))
    password_login(client, "ada@example.com")
    client.post(reverse("mfa_authenticate"), {"code": code})
    client.post(reverse("account_logout"))

    password_login(client, "ada@example.com")
    replay = client.post(reverse("mfa_authenticate"), {"code": code})

    assert b"Incorrect code" in replay.content
    assert signed_in_user_id(client) is None


def test_a_recovery_code_works_once(client, password_login, frozen_now, ada):
    activate_totp(client, password_login, "ada@example.com", frozen_now)
    codes = recovery_codes_on_page(client)
    client.post(reverse("account_logout"))

    password_login(client, "ada@example.com")
    response = client.post(reverse("mfa_authenticate"), {"code": codes[0]})

    assert response.status_code == 302
    assert signed_in_user_id(client) == str(ada.pk)
    index = client.get(reverse("mfa_index"))
    assert b"There are 9 out of 10 recovery codes available." in index.content

    client.post(reverse("account_logout"))
    password_login(client, "ada@example.com")
    replay = client.post(reverse("mfa_authenticate"), {"code": codes[0]})

    assert replay.status_code == 200
    assert b"Incorrect code" in replay.content
    assert signed_in_user_id(client) is None
    other = client.post(reverse("mfa_authenticate"), {"code": codes[1]})
    assert other.status_code == 302
    assert signed_in_user_id(client) == str(ada.pk)
