"""Organisation webhooks: signed, timestamped POSTs of subscription, key and
lifecycle events, retried with backoff, with a delivery log.

Signature: ``X-Portico-Signature: t=<unix seconds>,v1=<hex>`` where ``<hex>`` is
HMAC-SHA256 over ``"<t>.<raw body>"`` with the webhook's secret. Receivers
recompute it and refuse deliveries older than a few minutes.
"""

import hashlib
import hmac
import json
import logging
import random
import secrets
import time
from datetime import timedelta
from urllib.parse import urlsplit

import urllib3
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tenants.actors import Actor
from tenants.errors import Conflict, ValidationFailed
from tenants.models import Organisation
from tenants.sealing import seal
from tenants.services.audit import audit_record
from tenants.services.organisations import require_org_admin

from ..models import Webhook, WebhookDelivery
from ..specs.fetch import FetchError, pinned_pool, resolve_checked
from .events import _deliver_after_commit

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Portico-Signature"
# A pending delivery this long past its due time has lost its task. Far longer than
# an attempt lasts (a connect and a read of WEBHOOK_TIMEOUT each), so one in flight
# is never taken for stuck.
STUCK_AFTER = timedelta(minutes=5)


class DeliveryFailed(Exception):
    """This attempt failed and another is due after ``delay`` seconds."""

    def __init__(self, delivery_id: int, attempts: int, delay: float):
        super().__init__(delivery_id)
        self.delivery_id = delivery_id
        self.attempts = attempts
        self.delay = delay


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, header: str, body: bytes, *, tolerance: int = 300, now=None) -> bool:
    """What a receiver does: check the signature and that it is recent."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((now or time.time()) - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


def retry_delay(attempt: int) -> float:
    base = settings.PROVISION_RETRY_BASE_DELAY
    return random.uniform(0, min(3600.0, base * (2**attempt)))  # noqa: S311 - jitter only


def _clean_events(events: list[str]) -> list[str]:
    cleaned = sorted({e.strip() for e in events if e.strip()})
    families = {f.split(".", 1)[0] for f in Webhook.EVENTS}
    bad = [e for e in cleaned if e.split(".", 1)[0] not in families]
    if not cleaned or bad:
        raise ValidationFailed(
            "Choose events.",
            fields={"events": [f"Use {', '.join(Webhook.EVENTS)} or events in them."]},
        )
    return cleaned


def _check_url(url: str) -> None:
    if not url.startswith(("https://", "http://")):
        raise ValidationFailed("Bad URL.", fields={"url": ["Give an http(s) URL."]})


@transaction.atomic
def webhook_create(
    *, organisation: Organisation, url: str, events: list[str], actor: Actor
) -> tuple[Webhook, str]:
    """A new webhook; returns it with its signing secret, shown once."""
    require_org_admin(actor=actor, organisation=organisation)
    _check_url(url)
    secret = "whsec_" + secrets.token_urlsafe(32)
    webhook = Webhook.objects.create(
        organisation=organisation,
        url=url,
        events=_clean_events(events),
        sealed_secret=seal(secret),
        created_by=actor.user,
    )
    audit_record(
        actor=actor,
        organisation=organisation,
        action="webhook.created",
        target=webhook,
        after={"url": url, "events": webhook.events},
    )
    return webhook, secret


@transaction.atomic
def webhook_update(
    *,
    webhook: Webhook,
    actor: Actor,
    url: str | None = None,
    events: list[str] | None = None,
    is_active: bool | None = None,
) -> Webhook:
    require_org_admin(actor=actor, organisation=webhook.organisation)
    before = {"url": webhook.url, "events": webhook.events, "is_active": webhook.is_active}
    if url is not None:
        _check_url(url)
        webhook.url = url
    if events is not None:
        webhook.events = _clean_events(events)
    if is_active is not None:
        webhook.is_active = is_active
    webhook.save()
    audit_record(
        actor=actor,
        organisation=webhook.organisation,
        action="webhook.updated",
        target=webhook,
        before=before,
        after={"url": webhook.url, "events": webhook.events, "is_active": webhook.is_active},
    )
    return webhook


@transaction.atomic
def webhook_delete(*, webhook: Webhook, actor: Actor) -> None:
    require_org_admin(actor=actor, organisation=webhook.organisation)
    audit_record(
        actor=actor,
        organisation=webhook.organisation,
        action="webhook.deleted",
        target=webhook,
        before={"url": webhook.url},
    )
    webhook.delete()


@transaction.atomic
def delivery_redeliver(*, delivery: WebhookDelivery, actor: Actor) -> WebhookDelivery:
    """Queue a failed delivery again, same payload and id, with a fresh set of attempts."""
    require_org_admin(actor=actor, organisation=delivery.organisation)
    delivery = (
        WebhookDelivery.objects.select_for_update().select_related("webhook").get(pk=delivery.pk)
    )
    if delivery.state != WebhookDelivery.State.FAILED:
        raise Conflict("Only failed deliveries can be sent again.")
    if not delivery.webhook.is_active:
        raise Conflict("This webhook is switched off; switch it on before sending again.")
    delivery.state = WebhookDelivery.State.PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = timezone.now()
    delivery.save(update_fields=["state", "attempts", "next_attempt_at"])
    audit_record(
        actor=actor,
        organisation=delivery.organisation,
        action="webhook.redelivered",
        target=delivery.webhook,
        after={"delivery": delivery.pk, "event": delivery.event},
    )
    _deliver_after_commit([delivery.pk])
    return delivery


def delivery_execute(delivery_id: int, *, attempts: int | None = None) -> WebhookDelivery | None:
    """Make one attempt; raise DeliveryFailed when another attempt should follow.

    ``attempts`` is how many attempts the caller saw made: a task queued twice for the
    same attempt (a lost task queued again by the sweep, then found after all) sends once.
    """
    with transaction.atomic():
        delivery = (
            # Only the delivery's row: another delivery to the same webhook in flight must
            # not make this one look taken (nothing would ever send it).
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("webhook")
            .filter(pk=delivery_id, state=WebhookDelivery.State.PENDING)
            .first()
        )
        if delivery is None or (attempts is not None and delivery.attempts != attempts):
            return None
        delivery.attempts += 1
        delivery.next_attempt_at = timezone.now()
        delivery.save(update_fields=["attempts", "next_attempt_at"])
    webhook = delivery.webhook
    body = json.dumps({"id": delivery.pk, **delivery.payload}, separators=(",", ":")).encode()
    timestamp = int(time.time())
    error, status = "", None
    try:
        status = _post(
            webhook.url,
            body,
            headers={
                "Content-Type": "application/json",
                "User-Agent": "Portico-Webhooks",
                "X-Portico-Event": delivery.event,
                "X-Portico-Delivery": str(delivery.pk),
                SIGNATURE_HEADER: sign(webhook.secret(), timestamp, body),
            },
        )
        if not 200 <= status < 300:
            error = f"The receiver answered HTTP {status}."
    except FetchError as exc:
        error = exc.message
    final = not error or delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS
    delay = 0.0 if final else retry_delay(delivery.attempts - 1)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        response_status=status,
        last_error=error[:500],
        state=(
            WebhookDelivery.State.SUCCEEDED
            if not error
            else WebhookDelivery.State.FAILED
            if final
            else WebhookDelivery.State.PENDING
        ),
        delivered_at=timezone.now() if not error else None,
        next_attempt_at=timezone.now() + timedelta(seconds=delay),
    )
    if error and not final:
        logger.info(
            "webhook delivery %s failed (attempt %s): %s", delivery.pk, delivery.attempts, error
        )
        raise DeliveryFailed(delivery.pk, delivery.attempts, delay)
    return WebhookDelivery.objects.get(pk=delivery.pk)


def _post(url: str, body: bytes, *, headers: dict[str, str]) -> int:
    """POST ``body`` to ``url`` and return the status; redirects are not followed.

    The connection goes to the address that was checked, not to the name resolved
    again, so a second DNS answer cannot turn a public receiver into a private one.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host:
        raise FetchError("The webhook URL is not an http(s) URL with a host.")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    # Metadata and other reserved addresses are refused even when private ones are not.
    addresses = resolve_checked(host, port, allow_private=settings.WEBHOOK_ALLOW_PRIVATE)
    timeout = settings.WEBHOOK_TIMEOUT
    pool = pinned_pool(
        parts.scheme, host, addresses[0], port, timeout=urllib3.Timeout(timeout, timeout)
    )
    try:
        response = pool.urlopen(
            "POST",
            (parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
            body=body,
            headers={"Host": parts.netloc.rsplit("@", 1)[-1], **headers},
            redirect=False,
            preload_content=False,
        )
        # The body is not kept, so it is not read: a receiver cannot hold the attempt
        # open by trickling one.
        response.close()
        return response.status
    except urllib3.exceptions.HTTPError as exc:
        raise FetchError(f"Could not reach the receiver ({exc.__class__.__name__}).") from exc
    finally:
        pool.close()


def delivery_requeue_stuck(*, limit: int = 500) -> list[tuple[int, int]]:
    """Take pending deliveries whose attempt was due minutes ago (their task was lost)
    and return them as (id, attempts made) pairs, for one new task each.

    Taking one moves its due time to now under a row lock, so a second sweep running
    meanwhile, or the next one, leaves it alone until it is stuck again.
    """
    now = timezone.now()
    with transaction.atomic():
        stuck = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .filter(state=WebhookDelivery.State.PENDING, next_attempt_at__lt=now - STUCK_AFTER)
            .order_by("next_attempt_at", "pk")
            .values_list("pk", "attempts")[:limit]
        )
        WebhookDelivery.objects.filter(pk__in=[pk for pk, _ in stuck]).update(next_attempt_at=now)
    for delivery_id, attempts in stuck:
        logger.warning(
            "webhook delivery %s was stuck pending after %s attempts; queued again",
            delivery_id,
            attempts,
        )
    return stuck
