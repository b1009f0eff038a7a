"""Personal access tokens: shown once, stored as a digest."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .. import keys
from ..actors import Actor
from ..errors import Conflict, NotAllowed, ValidationFailed
from ..models import AccessToken, Membership, Organisation, User
from .audit import audit_record

TOKEN_PREFIX = "pat"


@transaction.atomic
def token_create(
    *,
    user: User,
    name: str,
    scope: str,
    expires_at: datetime | None = None,
    organisation: Organisation | None = None,
    actor: Actor,
) -> tuple[AccessToken, str]:
    """Create a token for ``user``; returns it with its plaintext, which is never stored."""
    if actor.user != user:
        raise NotAllowed("Tokens are created by their owner.")
    if actor.token is not None and not actor.token.allows_write():
        raise NotAllowed("A read-only token cannot create tokens.")
    if scope not in AccessToken.Scope.values:
        raise ValidationFailed("Unknown scope.", fields={"scope": ["Choose read or write."]})
    now = timezone.now()
    longest = now + timedelta(days=settings.ACCESS_TOKEN_MAX_DAYS)
    expires_at = expires_at or now + timedelta(days=90)
    if expires_at <= now:
        raise ValidationFailed(
            "Expiry is in the past.", fields={"expires_at": ["Choose a time in the future."]}
        )
    if expires_at > longest:
        raise ValidationFailed(
            "Expiry too far.",
            fields={"expires_at": [f"Tokens live at most {settings.ACCESS_TOKEN_MAX_DAYS} days."]},
        )
    if (
        organisation is not None
        and not Membership.objects.filter(organisation=organisation, user=user).exists()
    ):
        raise ValidationFailed(
            "Unknown organisation.", fields={"organisation": ["You are not a member of it."]}
        )
    if (
        actor.token is not None
        and actor.token.organisation_id is not None
        and (organisation is None or organisation.pk != actor.token.organisation_id)
    ):
        raise NotAllowed("A token limited to one organisation can only create tokens for it.")
    secret = keys.issue(TOKEN_PREFIX)
    token = AccessToken.objects.create(
        user=user,
        organisation=organisation,
        name=name,
        lookup_id=secret.lookup_id,
        secret_digest=secret.digest,
        scope=scope,
        expires_at=expires_at,
    )
    audit_record(
        actor=actor,
        organisation=organisation,
        action="access_token.created",
        target=token,
        after={
            "name": name,
            "prefix": token.display_prefix,
            "scope": scope,
            "expires_at": expires_at.isoformat(),
        },
    )
    return token, secret.plaintext


@transaction.atomic
def token_revoke(*, token: AccessToken, actor: Actor) -> AccessToken:
    if actor.user != token.user:
        raise NotAllowed("Tokens are revoked by their owner.")
    token = AccessToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is not None:
        raise Conflict("This token is already revoked.")
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit_record(
        actor=actor,
        organisation=token.organisation,
        action="access_token.revoked",
        target=token,
        after={"prefix": token.display_prefix},
    )
    return token


def token_authenticate(*, presented: str) -> AccessToken | None:
    """The active token behind ``presented``, or None. Malformed text costs no query."""
    try:
        parsed = keys.parse(TOKEN_PREFIX, presented)
    except keys.MalformedSecret:
        return None
    token = (
        AccessToken.objects.select_related("user", "organisation")
        .filter(lookup_id=parsed.lookup_id)
        .first()
    )
    if token is None or not keys.matches(token.secret_digest, parsed):
        return None
    if not token.is_active or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=5):
        AccessToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token
