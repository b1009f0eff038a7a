"""The admin site signs in through allauth: same forms, same rate limits, same MFA."""

import time

import pytest
import time_machine
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.urls import reverse

from tests.factories import UserFactory

from .conftest import signed_in_user_id, totp_code

pytestmark = pytest.mark.django_db


def test_admin_login_sends_anonymous_users_to_allauth(client):
    response = client.get("/admin/login/?next=/admin/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=%2Fadmin%2F"


def test_admin_index_sends_anonymous_users_to_allauth(client):
    response = client.get("/admin/", follow=True)

    assert response.redirect_chain[-1][0].startswith(reverse("account_login"))
    assert b'name="login"' in response.content


def test_signed_in_non_staff_user_cannot_reach_the_admin(client, password_login):
    UserFactory(email="ada@example.com")
    password_login(client, "ada@example.com")

    response = client.get("/admin/", follow=True)

    assert response.status_code == 403
    assert b"Portico administration" not in response.content
    assert client.get("/admin/tenants/user/").status_code in (302, 403)
    assert client.get("/admin/login/").status_code == 403


def test_staff_user_without_mfa_reaches_the_admin(client, password_login):
    UserFactory(email="root@example.com", is_staff=True, is_superuser=True)

    response = password_login(client, "root@example.com", next="/admin/")

    assert response["Location"] == "/admin/"
    assert b"Portico administration" in client.get("/admin/").content


def test_staff_user_with_mfa_passes_the_mfa_step_before_the_admin(client, password_login):
    staff = UserFactory(email="root@example.com", is_staff=True, is_superuser=True)
    secret = generate_totp_secret()
    TOTP.activate(staff, secret)
    now = time.time()

    with time_machine.travel(now, tick=False):
        response = password_login(client, "root@example.com", next="/admin/")

        assert response["Location"] == reverse("mfa_authenticate")
        assert signed_in_user_id(client) is None
        blocked = client.get("/admin/")
        assert blocked.status_code == 302
        assert blocked["Location"].startswith("/admin/login/")

        response = client.post(reverse("mfa_authenticate"), {"code": totp_code(secret, now)})

    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    admin = client.get("/admin/")
    assert admin.status_code == 200
    assert b"Portico administration" in admin.content
