"""allauth's rate limits are on and count in the shared cache (Redis), not in process memory."""

import hashlib

import pytest
import redis
from django.conf import settings
from django.urls import reverse

from tests.factories import UserFactory

from .conftest import signed_in_user_id

pytestmark = pytest.mark.django_db

FAILED_LOGINS_PER_ACCOUNT = 5  # ACCOUNT_RATE_LIMITS["login_failed"]: 5/5m/key


def redis_keys(pattern: str) -> list[bytes]:
    location = settings.CACHES["default"]["LOCATION"]
    return redis.Redis.from_url(location).keys(pattern)


def test_the_cache_is_redis():
    # The counts must be shared by every web process, which a local cache is not.
    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"


def test_repeated_failed_logins_lock_the_account_for_a_while(client, password_login):
    grace = UserFactory(email="grace@example.com")
    for _ in range(FAILED_LOGINS_PER_ACCOUNT):
        response = password_login(client, "grace@example.com", "wrong password")
        assert b"not correct" in response.content

    response = password_login(client, "grace@example.com")

    assert response.status_code == 200
    assert b"Too many failed login attempts. Try again later." in response.content
    assert signed_in_user_id(client) is None
    key_digest = hashlib.sha256(b"testserver:grace@example.com").hexdigest()
    assert redis_keys(f"*allauth:rl:allauth.account:login_failed:*:{key_digest}")
    grace.refresh_from_db()
    assert grace.last_login is None


def test_the_lock_is_per_account(client, password_login):
    UserFactory(email="grace@example.com")
    ada = UserFactory(email="ada@example.com")
    for _ in range(FAILED_LOGINS_PER_ACCOUNT + 1):
        password_login(client, "grace@example.com", "wrong password")

    password_login(client, "ada@example.com")

    assert signed_in_user_id(client) == str(ada.pk)


def test_a_successful_login_does_not_count(client, password_login):
    grace = UserFactory(email="grace@example.com")
    for _ in range(FAILED_LOGINS_PER_ACCOUNT + 2):
        password_login(client, "grace@example.com")
        assert signed_in_user_id(client) == str(grace.pk)
        client.post(reverse("account_logout"))


def test_too_many_signups_from_one_address_get_429(client):
    for _ in range(20):  # ACCOUNT_RATE_LIMITS["signup"]: 20/m/ip
        assert client.post(reverse("account_signup"), {}).status_code == 200

    response = client.post(reverse("account_signup"), {})

    assert response.status_code == 429
    assert b"Too many attempts" in response.content
    assert b'class="topbar"' in response.content, "the 429 page uses the portal layout"
    assert redis_keys("*allauth:rl:allauth.account:signup:*")
