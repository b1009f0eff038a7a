"""Drift: a key revoked in the portal that the gateway still had enabled at its last sync,
against moto. Revoking writes the removal to the outbox; until it has run, a sync sees
the key and the drift report says so."""

from django.urls import reverse

from apis.models import GatewayKey, GatewayOperation, SyncRun
from apis.selectors_gateways import drift_list
from apis.services import keys, provisioning
from apis.services.subscriptions import subscription_act, subscription_request
from apis.services.sync import sync_connection


def sync(connection) -> None:
    run = sync_connection(connection=connection, trigger=SyncRun.Trigger.COMMAND)
    assert run.status == SyncRun.Status.SUCCEEDED, run.errors


def kinds(organisation) -> list[str]:
    return [item.kind.code for item in drift_list(organisation=organisation)]


def provisioned(world, gateway, capture):
    subscription = subscription_request(
        application=world.application,
        api=gateway.api,
        plan=gateway.gold,
        actor=world.actor("app_developer"),
    )
    with capture(execute=True):
        subscription = subscription_act(
            subscription=subscription, action="approve", actor=world.actor("api_maintainer")
        )
    credential = subscription.credentials.get()
    credential.refresh_from_db()
    assert credential.gateway_key_id
    return subscription, credential


def test_a_revoked_key_still_enabled_on_the_gateway_is_drift_until_the_outbox_runs(
    world, aws_gateway, django_capture_on_commit_callbacks, client_for
):
    gateway = aws_gateway()
    subscription, credential = provisioned(world, gateway, django_capture_on_commit_callbacks)
    sync(gateway.connection)
    assert kinds(world.provider) == []

    # Revoked in the portal; the removal waits in the outbox (its callback never runs).
    subscription_act(
        subscription=subscription,
        action="revoke",
        reason="Contract ended.",
        actor=world.actor("api_maintainer"),
    )
    sync(gateway.connection)

    [item] = drift_list(organisation=world.provider)
    assert item.kind.code == "revoked_key_enabled"
    assert item.kind.level == "warning"
    assert item.connection == gateway.connection
    assert item.subject == f"orders: key {credential.prefix}… of Storefront"
    assert f"portico-{credential.lookup_id} was still enabled" in item.detail
    assert item.link == reverse("apis:subscription", kwargs={"org": "acme", "pk": subscription.pk})
    assert drift_list(organisation=world.consumer) == []  # the provider's gateway, its drift
    page = client_for(world.provider_owner).get(reverse("apis:drift", kwargs={"org": "acme"}))
    assert page.status_code == 200
    assert "Revoked in the portal, still enabled on the gateway" in page.content.decode()
    assert item.subject in page.content.decode()

    operation = GatewayOperation.objects.get(subscription=subscription, action="revoke")
    provisioning.operation_execute(operation.pk)
    sync(gateway.connection)
    assert kinds(world.provider) == []


def test_a_key_disabled_on_the_gateway_is_no_drift(
    world, aws_gateway, django_capture_on_commit_callbacks
):
    gateway = aws_gateway()
    _, credential = provisioned(world, gateway, django_capture_on_commit_callbacks)
    keys.credential_revoke(credential=credential, actor=world.actor("app_developer"))
    gateway.client.update_api_key(
        apiKey=credential.gateway_key_id,
        patchOperations=[{"op": "replace", "path": "/enabled", "value": "false"}],
    )
    sync(gateway.connection)
    assert kinds(world.provider) == []


def test_a_key_is_matched_by_its_gateway_id_where_values_are_not_shown(
    world, aws_gateway, django_capture_on_commit_callbacks
):
    gateway = aws_gateway()
    subscription, credential = provisioned(world, gateway, django_capture_on_commit_callbacks)
    keys.credential_revoke(credential=credential, actor=world.actor("app_developer"))
    sync(gateway.connection)
    GatewayKey.objects.filter(external_id=credential.gateway_key_id).update(value_digest="")

    [item] = drift_list(organisation=world.provider)
    assert item.kind.code == "revoked_key_enabled"
    assert credential.prefix in item.subject
    assert subscription.pk == int(item.link.rstrip("/").rsplit("/", 1)[1])


def test_a_replaced_key_past_its_grace_still_enabled_is_drift(
    world, aws_gateway, django_capture_on_commit_callbacks
):
    gateway = aws_gateway()
    gateway.gold.key_grace_hours = 0
    gateway.gold.save(update_fields=["key_grace_hours"])
    _, credential = provisioned(world, gateway, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        keys.credential_rotate(credential=credential, actor=world.actor("app_developer"))
    sync(gateway.connection)  # the old key's removal is due, not yet run

    [item] = drift_list(organisation=world.provider)
    assert item.kind.code == "revoked_key_enabled"
    assert credential.prefix in item.subject
