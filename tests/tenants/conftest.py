"""Fixtures for the tenants tests: actors, request ids, tokens and audit checks."""

import pytest
from rest_framework.test import APIClient

from portal import observability
from tenants.actors import Actor
from tenants.models import AuditEvent
from tenants.services.tokens import token_create

REQUEST_ID = "req-tenants-test-0001"


@pytest.fixture
def as_user():
    return Actor.for_user


@pytest.fixture
def request_id():
    """Run the test as if inside a request with a known request id."""
    token = observability._request_id.set(REQUEST_ID)
    yield REQUEST_ID
    observability._request_id.reset(token)


@pytest.fixture
def make_token():
    """Create an access token through the service; returns (token, plaintext)."""

    def make(user, *, scope="write", organisation=None, name="automation", expires_at=None):
        return token_create(
            user=user,
            name=name,
            scope=scope,
            organisation=organisation,
            expires_at=expires_at,
            actor=Actor.for_user(user),
        )

    return make


@pytest.fixture
def bearer():
    """An API client that sends ``Authorization: Bearer <plaintext>`` and no session."""

    def make(plaintext: str) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
        return client

    return make


@pytest.fixture
def new_audit_events():
    """Call it once to take a mark; the returned function lists events written after it."""

    def mark():
        last = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0

        def since():
            return list(AuditEvent.objects.filter(id__gt=last).order_by("id"))

        return since

    return mark


@pytest.fixture
def api_error():
    """Check that a response has ``status`` and the one REST error body; returns ``error``."""

    def check(response, status: int, code: str | None = None) -> dict:
        assert response.status_code == status, response.content
        body = response.json()
        assert set(body) == {"error"}
        error = body["error"]
        assert set(error) == {"code", "message", "fields"}
        assert isinstance(error["message"], str)
        assert error["message"]
        assert isinstance(error["fields"], dict)
        if code is not None:
            assert error["code"] == code
        return error

    return check
