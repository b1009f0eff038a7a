"""REST API of keys: prefixes for everyone who may read, values once, in the answer
to issue, reveal or rotate, and to the application's team only."""

import pytest
from django.utils import timezone

from apis.models import Credential
from apis.services import keys
from apis.services.subscriptions import subscription_act
from tenants.actors import Actor
from tenants.models import AuditEvent

from .api_fixtures import *  # noqa: F403 - the fixtures
from .api_fixtures import BASE, GLOBEX


def keys_url(subscription) -> str:
    return f"{BASE}/subscriptions/{subscription.pk}/credentials/"


class Recorder:
    """Every response body a client received, to look for a secret in afterwards."""

    def __init__(self, client):
        self.client = client
        self.bodies: list[tuple[str, str]] = []

    def __getattr__(self, method):
        def send(path, *args, **kwargs):
            response = getattr(self.client, method)(path, *args, **kwargs)
            self.bodies.append((f"{method.upper()} {path}", response.content.decode()))
            return response

        return send

    def carrying(self, secret: str) -> list[str]:
        return [request for request, body in self.bodies if secret in body]


def test_a_key_value_is_in_its_reveal_answer_only_once(cast, api_for, approved):
    client = Recorder(api_for(cast.developer))
    listed = client.get(keys_url(approved))
    assert listed.status_code == 200, listed.content
    (row,) = listed.json()["results"]
    assert row["can_reveal"] is True
    assert row["prefix"].startswith("pak")
    assert not {"key", "digest", "sealed_reveal", "lookup_id"} & set(row)

    revealed = client.post(f"{keys_url(approved)}{row['id']}/reveal/")
    assert revealed.status_code == 200, revealed.content
    assert revealed["Cache-Control"] == "no-store"
    value = revealed.json()["key"]
    assert value.startswith(row["prefix"])
    assert keys.credential_authenticate(value).pk == row["id"]

    again = client.post(f"{keys_url(approved)}{row['id']}/reveal/")
    assert again.status_code == 409
    client.get(keys_url(approved))
    client.get(f"{keys_url(approved)}{row['id']}/")
    client.get(f"{BASE}/subscriptions/{approved.pk}/")
    client.get(f"{BASE}/subscriptions/")
    client.get(f"{BASE}/audit-events/")
    assert client.carrying(value) == [f"POST {keys_url(approved)}{row['id']}/reveal/"]
    credential = Credential.objects.get(pk=row["id"])
    assert credential.sealed_reveal == ""
    assert credential.revealed_at is not None
    assert value not in str(list(AuditEvent.objects.values()))


def test_rotate_gives_the_new_value_once_and_the_old_keys_grace(cast, api_for, approved):
    old = approved.credentials.get()
    client = Recorder(api_for(cast.developer))
    response = client.post(f"{keys_url(approved)}{old.pk}/rotate/")
    assert response.status_code == 201, response.content
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    value = body["key"]
    assert body["id"] != old.pk
    assert body["replaced"]["id"] == old.pk
    grace_until = body["replaced"]["grace_until"]
    assert grace_until is not None
    old.refresh_from_db()
    assert old.grace_until.isoformat().replace("+00:00", "Z") == grace_until
    assert (old.grace_until - timezone.now()).total_seconds() == pytest.approx(24 * 3600, abs=60)
    assert "key" not in body["replaced"]
    # Both work during the grace period.
    assert keys.credential_authenticate(value).pk == body["id"]
    assert old.is_valid
    client.get(keys_url(approved))
    client.get(f"{keys_url(approved)}{body['id']}/")
    assert client.carrying(value) == [f"POST {keys_url(approved)}{old.pk}/rotate/"]
    # Only the current key rotates.
    assert client.post(f"{keys_url(approved)}{old.pk}/rotate/").status_code == 409


def test_revoke_then_issue_a_fresh_key(cast, api_for, api_error, approved):
    client = Recorder(api_for(cast.maintainer))
    old = approved.credentials.get()
    api_error(client.post(keys_url(approved)), 409, "conflict")  # it has a key in force
    revoked = client.post(f"{keys_url(approved)}{old.pk}/revoke/")
    assert revoked.status_code == 200, revoked.content
    assert revoked.json()["revoked_at"] is not None
    assert revoked.json()["is_valid"] is False
    api_error(client.post(f"{keys_url(approved)}{old.pk}/revoke/"), 409)
    issued = client.post(keys_url(approved))
    assert issued.status_code == 201, issued.content
    assert issued["Cache-Control"] == "no-store"
    value = issued.json()["key"]
    assert keys.credential_authenticate(value).pk == issued.json()["id"]
    assert issued.json()["can_reveal"] is False
    client.get(keys_url(approved))
    assert client.carrying(value) == [f"POST {keys_url(approved)}"]


def test_keys_of_a_pending_subscription_cannot_be_issued(cast, api_for, api_error, pending):
    api_error(api_for(cast.developer).post(keys_url(pending)), 409, "conflict")


@pytest.mark.parametrize("verb", ["reveal", "rotate", "revoke"])
def test_viewers_read_prefixes_but_hold_no_keys(verb, cast, api_for, api_error, approved):
    credential = approved.credentials.get()
    client = api_for(cast.viewer)
    assert client.get(keys_url(approved)).status_code == 200
    api_error(client.post(f"{keys_url(approved)}{credential.pk}/{verb}/"), 403)
    credential.refresh_from_db()
    assert credential.sealed_reveal
    assert credential.revoked_at is None
    assert Credential.objects.count() == 1


def test_the_provider_of_another_organisation_sees_no_keys(cast, api_for, api_error, cross):
    subscription_act(subscription=cross, action="approve", actor=Actor.for_user(cast.outsider))
    credential = cross.credentials.get()
    base = f"{GLOBEX}/subscriptions/{cross.pk}/credentials/"
    client = api_for(cast.outsider)
    api_error(client.get(base), 404)
    api_error(client.post(f"{base}{credential.pk}/reveal/"), 404)
    # The consumer's own URL is not theirs either.
    api_error(client.get(f"{BASE}/subscriptions/{cross.pk}/credentials/"), 404)
    assert Credential.objects.get(pk=credential.pk).sealed_reveal


def test_a_key_is_reached_through_its_own_subscription_only(
    cast, api_for, api_error, approved, cross
):
    credential = approved.credentials.get()
    wrong = f"{BASE}/subscriptions/{cross.pk}/credentials/{credential.pk}/"
    api_error(api_for(cast.developer).get(wrong), 404)
    api_error(api_for(cast.developer).post(f"{wrong}reveal/"), 404)
