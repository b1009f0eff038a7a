"""Retiring an API's last usable version ends its subscriptions through the same path as
a provider's revocation: each key is revoked and a GatewayOperation deletes it from the
gateway (moto here). Retiring a version while another one is still usable ends nothing:
subscriptions belong to the API, not to one version."""

import datetime

from django.utils import timezone

from apis.models import GatewayOperation, Subscription
from apis.services import keys
from apis.services.catalogue import version_create
from apis.services.lifecycle import version_transition
from apis.services.subscriptions import subscription_act, subscription_request
from tenants.models import AuditEvent
from tests.apis.conftest import make_spec


def retire(version, actor, capture) -> None:
    with capture(execute=True):
        version_transition(
            version=version,
            to_state="deprecated",
            actor=actor,
            reason="v2 is out.",
            sunset_at=timezone.localdate() + datetime.timedelta(days=30),
        )
    version.refresh_from_db()
    with capture(execute=True):
        version_transition(version=version, to_state="retired", actor=actor, reason="Sunset.")


def approve(world, api, plan, capture) -> Subscription:
    with capture(execute=True):
        subscription = subscription_request(
            application=world.application, api=api, plan=plan, actor=world.actor("app_developer")
        )
        return subscription_act(
            subscription=subscription, action="approve", actor=world.actor("api_maintainer")
        )


def test_retiring_the_last_version_revokes_the_keys_and_deletes_them_on_the_gateway(
    world, aws_gateway, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    gateway = aws_gateway()
    subscription = approve(world, gateway.api, gateway.gold, capture)
    first = subscription.credentials.get()
    developer = world.actor("app_developer")
    values = [keys.credential_reveal(credential=first, actor=developer)]
    # A rotated key still in its grace period is on the gateway too.
    with capture(execute=True):
        second, value = keys.credential_rotate(credential=first, actor=developer)
    values.append(value)
    assert all(keys.credential_authenticate(v) for v in values)
    assert len(gateway.api_keys()) == 2
    [version] = gateway.api.versions.all()

    retire(version, world.actor("api_maintainer"), capture)

    subscription.refresh_from_db()
    assert subscription.state == Subscription.State.REVOKED
    assert subscription.gateway_state == Subscription.GatewayState.REMOVED
    for credential, value in zip((first, second), values, strict=True):
        credential.refresh_from_db()
        assert credential.revoked_at is not None
        assert keys.credential_authenticate(value) is None
    # One delete per key, carried out now: the rotated key does not wait for its grace.
    done = GatewayOperation.objects.filter(
        subscription=subscription, action=GatewayOperation.Action.REVOKE, state="succeeded"
    )
    assert sorted(done.values_list("credential_id", flat=True)) == sorted([first.pk, second.pk])
    assert gateway.api_keys() == []
    assert AuditEvent.objects.filter(action="gateway.key_revoke").count() == 2
    assert AuditEvent.objects.get(action="subscription.revoked").after["reason"] == (
        f"{gateway.api.name} {version.version} was retired."
    )


def test_retiring_a_version_while_another_is_usable_ends_nothing(
    world, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    maintainer = world.actor("api_maintainer")
    subscription = approve(world, world.api, world.manual, capture)
    old = world.api.versions.get()
    new = version_create(
        api=world.api, raw=make_spec(title="Payments API", version="2.0.0"), actor=maintainer
    )
    version_transition(version=new, to_state="published", actor=maintainer)

    retire(old, maintainer, capture)

    subscription.refresh_from_db()
    assert subscription.state == Subscription.State.APPROVED
    assert subscription.credentials.get().revoked_at is None
    assert not AuditEvent.objects.filter(action="subscription.revoked").exists()

    # Retiring the second, now last, version ends it.
    new.refresh_from_db()
    retire(new, maintainer, capture)
    subscription.refresh_from_db()
    assert subscription.state == Subscription.State.REVOKED
    assert subscription.credentials.get().revoked_at is not None
