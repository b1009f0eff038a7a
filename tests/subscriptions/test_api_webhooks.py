"""REST API of webhooks and their deliveries: owners and admins only; the signing
secret is in the answer to create and nowhere after."""

import pytest

from apis.models import Webhook, WebhookDelivery
from apis.services.webhooks import webhook_create
from tenants.actors import Actor
from tenants.models import AuditEvent

from .api_fixtures import *  # noqa: F403 - the fixtures
from .api_fixtures import BASE

HOOKS = f"{BASE}/webhooks/"


@pytest.fixture
def webhook(cast) -> Webhook:
    webhook, _secret = webhook_create(
        organisation=cast.org,
        url="https://hooks.acme.test/portico",
        events=["subscription.*"],
        actor=Actor.for_user(cast.admin),
    )
    return webhook


@pytest.fixture
def failed(webhook, cast) -> WebhookDelivery:
    return WebhookDelivery.objects.create(
        webhook=webhook,
        organisation=cast.org,
        event="subscription.approved",
        payload={"event": "subscription.approved", "data": {"subscription": {"id": 7}}},
        state=WebhookDelivery.State.FAILED,
        attempts=8,
        response_status=500,
        last_error="The receiver answered HTTP 500.",
    )


def test_create_returns_the_secret_once(cast, api_for):
    client = api_for(cast.admin)
    response = client.post(
        HOOKS,
        {
            "url": "https://hooks.acme.test/in",
            "events": ["subscription.*", "credential.rotated"],
            "organisation": cast.other_org.pk,
            "sealed_secret": "mine",
            "secret": "whsec_chosen_by_me",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    secret = body["secret"]
    assert secret.startswith("whsec_")
    assert secret != "whsec_chosen_by_me"
    assert body["has_secret"] is True
    assert body["events"] == ["credential.rotated", "subscription.*"]
    webhook = Webhook.objects.get(pk=body["id"])
    assert webhook.organisation == cast.org
    assert webhook.secret() == secret
    later = [
        client.get(HOOKS),
        client.get(f"{HOOKS}{webhook.pk}/"),
        client.patch(f"{HOOKS}{webhook.pk}/", {"is_active": False}, format="json"),
        client.get(f"{BASE}/audit-events/"),
    ]
    for response in later:
        assert response.status_code == 200, response.content
        assert secret not in response.content.decode()
        assert webhook.sealed_secret not in response.content.decode()
    assert client.get(f"{HOOKS}{webhook.pk}/").json()["has_secret"] is True


def test_members_and_maintainers_may_not_touch_webhooks(cast, api_for, api_error, webhook):
    for user in (cast.member, cast.maintainer):
        client = api_for(user)
        api_error(client.get(HOOKS), 403)
        api_error(client.post(HOOKS, {"url": "https://x.test", "events": ["lifecycle.*"]}), 403)
        api_error(client.delete(f"{HOOKS}{webhook.pk}/"), 403)
    assert Webhook.objects.count() == 1


def test_another_organisation_sees_nothing(cast, api_for, api_error, webhook):
    api_error(api_for(cast.outsider).get(f"{HOOKS}{webhook.pk}/"), 404)
    api_error(api_for(cast.outsider).get(f"{HOOKS}{webhook.pk}/deliveries/"), 404)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "https://x.test", "events": ["billing.*"]}, "events"),
        ({"url": "https://x.test", "events": []}, "events"),
        ({"url": "ftp://x.test", "events": ["lifecycle.*"]}, "url"),
    ],
)
def test_bad_webhooks_are_field_errors(body, field, cast, api_for, api_error):
    response = api_for(cast.owner).post(HOOKS, body, format="json")
    assert field in api_error(response, 400, "invalid")["fields"]
    assert not Webhook.objects.exists()


def test_patch_and_delete(cast, api_for, webhook):
    client = api_for(cast.owner)
    response = client.patch(
        f"{HOOKS}{webhook.pk}/",
        {"events": ["lifecycle.*"], "url": "https://hooks.acme.test/v2"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert (response.json()["events"], response.json()["url"]) == (
        ["lifecycle.*"],
        "https://hooks.acme.test/v2",
    )
    assert client.delete(f"{HOOKS}{webhook.pk}/").status_code == 204
    assert not Webhook.objects.exists()
    assert AuditEvent.objects.filter(action="webhook.deleted").exists()


def test_deliveries_are_listed_and_read(cast, api_for, failed):
    client = api_for(cast.admin)
    listed = client.get(f"{HOOKS}{failed.webhook_id}/deliveries/", {"state": "failed"})
    assert listed.status_code == 200, listed.content
    (row,) = listed.json()["results"]
    assert (row["id"], row["response_status"], row["attempts"]) == (failed.pk, 500, 8)
    one = client.get(f"{HOOKS}{failed.webhook_id}/deliveries/{failed.pk}/")
    assert one.json()["payload"]["data"] == {"subscription": {"id": 7}}
    none = client.get(f"{HOOKS}{failed.webhook_id}/deliveries/", {"state": "succeeded"})
    assert none.json()["results"] == []


def test_redeliver_queues_a_failed_delivery_again(
    cast, api_for, failed, django_capture_on_commit_callbacks
):
    url = f"{HOOKS}{failed.webhook_id}/deliveries/{failed.pk}/redeliver/"
    with django_capture_on_commit_callbacks() as callbacks:
        response = api_for(cast.admin).post(url)
    assert response.status_code == 202, response.content
    assert (response.json()["state"], response.json()["attempts"]) == ("pending", 0)
    assert len(callbacks) == 1
    failed.refresh_from_db()
    assert failed.state == WebhookDelivery.State.PENDING
    assert AuditEvent.objects.filter(action="webhook.redelivered").count() == 1


def test_only_failed_deliveries_to_active_webhooks_are_sent_again(cast, api_for, api_error, failed):
    url = f"{HOOKS}{failed.webhook_id}/deliveries/{failed.pk}/redeliver/"
    client = api_for(cast.admin)
    Webhook.objects.filter(pk=failed.webhook_id).update(is_active=False)
    assert "switched off" in api_error(client.post(url), 409)["message"]
    Webhook.objects.filter(pk=failed.webhook_id).update(is_active=True)
    WebhookDelivery.objects.filter(pk=failed.pk).update(state=WebhookDelivery.State.SUCCEEDED)
    api_error(client.post(url), 409, "conflict")
    assert WebhookDelivery.objects.get(pk=failed.pk).attempts == 8


def test_a_delivery_of_another_webhook_is_not_found(cast, api_for, api_error, failed):
    other, _ = webhook_create(
        organisation=cast.org,
        url="https://hooks.acme.test/other",
        events=["lifecycle.*"],
        actor=Actor.for_user(cast.owner),
    )
    api_error(api_for(cast.admin).get(f"{HOOKS}{other.pk}/deliveries/{failed.pk}/"), 404)
