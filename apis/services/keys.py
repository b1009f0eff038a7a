"""Subscription keys: issued, revealed once, rotated with a grace period, revoked.

Keys come from the one secret generator (tenants.keys) in its alphanumeric
form, because AWS API Gateway takes nothing else as a key value:
``pak`` + a 12-character lookup id + 40 random characters + a 6-character
checksum. A malformed key is refused without a database read; only a SHA-256
digest is stored. A key issued on approval is sealed for the consumer's one
look and the sealed copy is wiped when they look.
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tenants import keys as secret_keys
from tenants.actors import Actor
from tenants.errors import Conflict, NotAllowed
from tenants.services.audit import audit_record

from ..models import Credential, GatewayConnection, GatewayOperation, Subscription
from . import provisioning
from .events import emit

KEY_PREFIX = "pak"
KEY_SEPARATOR = ""
# LiteLLM takes only keys that start with "sk-": keys for it wear that in front.
LITELLM_PREFIX = "sk-" + KEY_PREFIX


def _prefix_for(subscription: Subscription) -> str:
    target = provisioning.gateway_target(subscription)
    if target is not None and target.kind == GatewayConnection.Kind.LITELLM:
        return LITELLM_PREFIX
    return KEY_PREFIX


def _issue(*, subscription: Subscription, actor: Actor) -> tuple[Credential, str]:
    prefix = _prefix_for(subscription)
    secret = secret_keys.issue(prefix, separator=KEY_SEPARATOR)
    lifetime = settings.SUBSCRIPTION_KEY_LIFETIME_DAYS
    credential = Credential.objects.create(
        subscription=subscription,
        organisation=subscription.organisation,
        lookup_id=secret.lookup_id,
        prefix=f"{prefix}{secret.lookup_id}",
        digest=secret.digest,
        created_by=actor.user,
        expires_at=timezone.now() + timedelta(days=lifetime) if lifetime else None,
    )
    provisioning.enqueue(
        subscription=subscription,
        credential=credential,
        action=GatewayOperation.Action.PROVISION,
        value=secret.plaintext,
    )
    return credential, secret.plaintext


def _emit_credential(
    subscription: Subscription, credential: Credential, event: str, **extra
) -> None:
    """The one way a key's event reaches webhooks: in the transaction of the change, and
    naming the key by its prefix only (its value never leaves in an event)."""
    emit(
        subscription=subscription,
        event=event,
        extra={"prefix": credential.display_prefix, **extra},
    )


def credential_issue_on_approval(*, subscription: Subscription, actor: Actor) -> Credential:
    """Issue the first key of an approved subscription, sealed until the consumer looks."""
    credential, plaintext = _issue(subscription=subscription, actor=actor)
    credential.set_reveal(plaintext)
    credential.save(update_fields=["sealed_reveal"])
    audit_record(
        actor=actor,
        organisation=subscription.organisation,
        action="credential.issued",
        target=credential,
        after={"prefix": credential.display_prefix, "subscription": subscription.pk},
    )
    _emit_credential(subscription, credential, "credential.issued")
    return credential


@transaction.atomic
def credential_reveal(*, credential: Credential, actor: Actor) -> str:
    """The key's value, once: the sealed copy is wiped as it is returned."""
    ensure_actor_may_hold_keys(actor=actor, subscription=credential.subscription)
    credential = Credential.objects.select_for_update().get(pk=credential.pk)
    if not credential.sealed_reveal:
        raise Conflict("This key was shown once already; rotate it to get a new one.")
    plaintext = credential.open_reveal()
    credential.sealed_reveal = ""
    credential.revealed_at = timezone.now()
    credential.save(update_fields=["sealed_reveal", "revealed_at"])
    audit_record(
        actor=actor,
        organisation=credential.organisation,
        action="credential.revealed",
        target=credential,
        after={"prefix": credential.display_prefix},
    )
    return plaintext


def _require_live(subscription: Subscription) -> None:
    if subscription.state != Subscription.State.APPROVED:
        raise Conflict("Keys are issued for approved subscriptions only.")


@transaction.atomic
def credential_rotate(*, credential: Credential, actor: Actor) -> tuple[Credential, str]:
    """Issue a new key; the old one keeps working for the plan's grace period."""
    ensure_actor_may_hold_keys(actor=actor, subscription=credential.subscription)
    credential = (
        Credential.objects.select_for_update()
        .select_related("subscription__plan", "subscription__application")
        .get(pk=credential.pk)
    )
    subscription = credential.subscription
    _require_live(subscription)
    if credential.revoked_at or credential.replaced_at:
        raise Conflict("Only the current key can be rotated.")
    new, plaintext = _issue(subscription=subscription, actor=actor)
    now = timezone.now()
    credential.replaced_at = now
    credential.grace_until = now + timedelta(hours=subscription.plan.key_grace_hours)
    credential.sealed_reveal = ""
    credential.save(update_fields=["replaced_at", "grace_until", "sealed_reveal"])
    provisioning.enqueue(
        subscription=subscription,
        credential=credential,
        action=GatewayOperation.Action.REVOKE,
        not_before=credential.grace_until,
    )
    audit_record(
        actor=actor,
        organisation=subscription.organisation,
        action="credential.rotated",
        target=new,
        before={"prefix": credential.display_prefix},
        after={
            "prefix": new.display_prefix,
            "old_key_valid_until": credential.grace_until.isoformat(),
        },
    )
    _emit_credential(
        subscription,
        new,
        "credential.rotated",
        previous_prefix=credential.display_prefix,
        previous_valid_until=credential.grace_until.isoformat(),
    )
    return new, plaintext


def revoke_credentials(*, subscription: Subscription, actor: Actor) -> int:
    """Revoke every key of the subscription still in force (inside the caller's
    transaction): ends them now, removes them from the gateway and says so to webhooks."""
    now = timezone.now()
    count = 0
    for credential in subscription.credentials.select_for_update().filter(revoked_at__isnull=True):
        credential.revoked_at = now
        credential.sealed_reveal = ""
        credential.save(update_fields=["revoked_at", "sealed_reveal"])
        provisioning.enqueue(
            subscription=subscription, credential=credential, action=GatewayOperation.Action.REVOKE
        )
        _emit_credential(subscription, credential, "credential.revoked")
        count += 1
    return count


@transaction.atomic
def credential_revoke(*, credential: Credential, actor: Actor) -> Credential:
    ensure_actor_may_hold_keys(actor=actor, subscription=credential.subscription)
    credential = (
        Credential.objects.select_for_update().select_related("subscription").get(pk=credential.pk)
    )
    if credential.revoked_at is not None:
        raise Conflict("This key is already revoked.")
    credential.revoked_at = timezone.now()
    credential.sealed_reveal = ""
    credential.save(update_fields=["revoked_at", "sealed_reveal"])
    provisioning.enqueue(
        subscription=credential.subscription,
        credential=credential,
        action=GatewayOperation.Action.REVOKE,
    )
    audit_record(
        actor=actor,
        organisation=credential.organisation,
        action="credential.revoked",
        target=credential,
        after={"prefix": credential.display_prefix},
    )
    _emit_credential(credential.subscription, credential, "credential.revoked")
    return credential


@transaction.atomic
def credential_issue(*, subscription: Subscription, actor: Actor) -> tuple[Credential, str]:
    """A new key for an approved subscription that has none in force (shown now, once)."""
    ensure_actor_may_hold_keys(actor=actor, subscription=subscription)
    subscription = Subscription.objects.select_for_update().get(pk=subscription.pk)
    _require_live(subscription)
    if subscription.credentials.filter(revoked_at__isnull=True, replaced_at__isnull=True).exists():
        raise Conflict("This subscription has a key; rotate it instead.")
    credential, plaintext = _issue(subscription=subscription, actor=actor)
    audit_record(
        actor=actor,
        organisation=subscription.organisation,
        action="credential.issued",
        target=credential,
        after={"prefix": credential.display_prefix},
    )
    _emit_credential(subscription, credential, "credential.issued")
    return credential, plaintext


def credential_authenticate(presented: str, *, at=None) -> Credential | None:
    """The credential behind a presented key if it is in force at ``at`` (default now).
    A malformed key costs no database read."""
    prefix = LITELLM_PREFIX if (presented or "").startswith("sk-") else KEY_PREFIX
    try:
        parsed = secret_keys.parse(prefix, presented, separator=KEY_SEPARATOR)
    except secret_keys.MalformedSecret:
        return None
    credential = (
        Credential.objects.select_related("subscription").filter(lookup_id=parsed.lookup_id).first()
    )
    if credential is None or not secret_keys.matches(credential.digest, parsed):
        return None
    if credential.subscription.state != Subscription.State.APPROVED:
        return None
    return credential if credential.is_valid_at(at or timezone.now()) else None


def ensure_actor_may_hold_keys(*, actor: Actor, subscription: Subscription) -> None:
    from .subscriptions import is_consumer

    if not is_consumer(actor=actor, application=subscription.application):
        raise NotAllowed("Only the application's team manages its keys.")
