"""Personal access tokens: shown once, stored as a digest, refused cheaply when mistyped."""

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from tenants import keys
from tenants.actors import Actor
from tenants.errors import Conflict, NotAllowed, ValidationFailed
from tenants.models import AccessToken, AuditEvent
from tenants.services.tokens import token_authenticate, token_create, token_revoke


@pytest.fixture
def issued(cast, make_token):
    return make_token(cast.owner, scope="read")


# --- Creating -----------------------------------------------------------------


def test_create_returns_the_plaintext_and_stores_only_its_digest(issued):
    token, plaintext = issued
    assert plaintext.startswith(f"{token.display_prefix}_")
    assert token.secret_digest == keys.digest(plaintext)
    random_part = plaintext.split("_")[2]
    row = AccessToken.objects.filter(pk=token.pk).values().get()
    for value in row.values():
        assert plaintext not in str(value)
        assert random_part[:20] not in str(value)


def test_create_writes_one_audit_event_without_the_secret(cast, make_token, new_audit_events):
    since = new_audit_events()
    token, plaintext = make_token(cast.owner, scope="write", organisation=cast.org)
    (event,) = since()
    assert (event.action, event.actor_user, event.organisation) == (
        "access_token.created",
        cast.owner,
        cast.org,
    )
    assert event.after["prefix"] == token.display_prefix
    assert event.after["scope"] == "write"
    assert plaintext not in str(event.after)
    assert plaintext.split("_")[2][:20] not in str(event.after)


def test_an_unscoped_token_is_audited_without_organisation(cast, make_token, new_audit_events):
    since = new_audit_events()
    make_token(cast.owner)
    (event,) = since()
    assert event.organisation is None


def test_default_expiry_is_ninety_days(cast, make_token):
    token, _ = make_token(cast.owner)
    expected = timezone.now() + timedelta(days=90)
    assert abs(token.expires_at - expected) < timedelta(minutes=1)


@pytest.mark.parametrize(
    "expires_in",
    [timedelta(seconds=-1), timedelta(0), timedelta(days=settings.ACCESS_TOKEN_MAX_DAYS, hours=1)],
)
def test_expiry_must_be_in_the_future_and_within_the_limit(
    cast, make_token, new_audit_events, expires_in
):
    since = new_audit_events()
    with pytest.raises(ValidationFailed) as info:
        make_token(cast.owner, expires_at=timezone.now() + expires_in)
    assert "expires_at" in info.value.fields
    assert not AccessToken.objects.exists()
    assert since() == []


def test_unknown_scopes_are_refused(cast, make_token):
    with pytest.raises(ValidationFailed) as info:
        make_token(cast.owner, scope="admin")
    assert "scope" in info.value.fields


def test_a_token_can_only_be_limited_to_an_organisation_of_its_user(cast, make_token):
    with pytest.raises(ValidationFailed) as info:
        make_token(cast.owner, organisation=cast.other_org)
    assert "organisation" in info.value.fields
    assert not AccessToken.objects.exists()


def test_nobody_creates_tokens_for_someone_else(cast):
    with pytest.raises(NotAllowed):
        token_create(user=cast.member, name="x", scope="write", actor=Actor.for_user(cast.owner))
    assert not AccessToken.objects.exists()


def test_a_read_token_cannot_create_tokens(cast, issued):
    token, _ = issued
    with pytest.raises(NotAllowed):
        token_create(
            user=cast.owner,
            name="escalate",
            scope="write",
            actor=Actor(kind="token", user=cast.owner, token=token),
        )
    assert AccessToken.objects.count() == 1


def test_a_limited_token_only_creates_tokens_limited_the_same_way(cast, make_token):
    parent, _ = make_token(cast.outsider, organisation=cast.other_org)
    # The outsider is also a member of Acme.
    cast.org.memberships.create(user=cast.outsider)
    as_parent = Actor(kind="token", user=cast.outsider, token=parent)

    for organisation in (None, cast.org):
        with pytest.raises(NotAllowed):
            token_create(
                user=cast.outsider,
                name="wider",
                scope="write",
                organisation=organisation,
                actor=as_parent,
            )
    child, _ = token_create(
        user=cast.outsider,
        name="same",
        scope="read",
        organisation=cast.other_org,
        actor=as_parent,
    )
    assert child.organisation == cast.other_org


# --- Authenticating -----------------------------------------------------------


def test_the_plaintext_authenticates_its_token(issued):
    token, plaintext = issued
    assert token_authenticate(presented=plaintext) == token


def test_a_one_character_change_is_refused_without_a_query(issued, django_assert_num_queries):
    _, plaintext = issued
    index = len(plaintext) - 10
    changed = plaintext[:index] + ("A" if plaintext[index] != "A" else "B") + plaintext[index + 1 :]
    with django_assert_num_queries(0):
        assert token_authenticate(presented=changed) is None


@pytest.mark.parametrize("text", ["", "Bearer", "pat_", "ghp_" + "a" * 40, "pat_x_y" * 10])
def test_malformed_text_is_refused_without_a_query(db, text, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert token_authenticate(presented=text) is None


def test_a_well_formed_unknown_token_costs_one_query(db, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert token_authenticate(presented=keys.issue("pat").plaintext) is None


def test_the_right_lookup_id_with_the_wrong_secret_is_refused(issued):
    token, _ = issued
    body = f"pat_{token.lookup_id}_{'Z' * keys.SECRET_LENGTH}"
    forged = body + keys._checksum(body)
    keys.parse("pat", forged)  # well formed: only the digest can tell
    assert token_authenticate(presented=forged) is None
    token.refresh_from_db()
    assert token.last_used_at is None


def test_an_expired_token_is_refused(issued):
    token, plaintext = issued
    with time_machine.travel(token.expires_at - timedelta(seconds=1)):
        assert token_authenticate(presented=plaintext) == token
    with time_machine.travel(token.expires_at + timedelta(seconds=1)):
        assert token_authenticate(presented=plaintext) is None


def test_a_revoked_token_is_refused(cast, issued):
    token, plaintext = issued
    token_revoke(token=token, actor=Actor.for_user(cast.owner))
    assert token_authenticate(presented=plaintext) is None


def test_the_token_of_a_deactivated_user_is_refused(cast, issued):
    _, plaintext = issued
    cast.owner.is_active = False
    cast.owner.save(update_fields=["is_active"])
    assert token_authenticate(presented=plaintext) is None


def test_last_used_at_is_recorded_at_most_every_five_minutes(issued, django_assert_num_queries):
    token, plaintext = issued
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        token_authenticate(presented=plaintext)
        token.refresh_from_db()
        assert token.last_used_at == start

    with time_machine.travel(start + timedelta(minutes=4), tick=False):
        with django_assert_num_queries(1):  # the read only, no write
            token_authenticate(presented=plaintext)
        token.refresh_from_db()
        assert token.last_used_at == start

    later = start + timedelta(minutes=6)
    with time_machine.travel(later, tick=False):
        token_authenticate(presented=plaintext)
        token.refresh_from_db()
        assert token.last_used_at == later


# --- Revoking -----------------------------------------------------------------


def test_revoke_by_its_owner_writes_one_event(cast, issued, new_audit_events, request_id):
    token, _ = issued
    since = new_audit_events()
    token_revoke(token=token, actor=Actor.for_user(cast.owner))
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert not token.is_active
    (event,) = since()
    assert (event.action, event.actor_user, event.after, event.request_id) == (
        "access_token.revoked",
        cast.owner,
        {"prefix": token.display_prefix},
        request_id,
    )


def test_nobody_revokes_someone_elses_token(cast, issued, new_audit_events):
    token, _ = issued
    since = new_audit_events()
    with pytest.raises(NotAllowed):
        token_revoke(token=token, actor=Actor.for_user(cast.admin))
    token.refresh_from_db()
    assert token.revoked_at is None
    assert since() == []


def test_revoking_twice_is_a_conflict(cast, issued):
    token, _ = issued
    token_revoke(token=token, actor=Actor.for_user(cast.owner))
    first = AccessToken.objects.get(pk=token.pk).revoked_at
    with pytest.raises(Conflict):
        token_revoke(token=token, actor=Actor.for_user(cast.owner))
    assert AccessToken.objects.get(pk=token.pk).revoked_at == first
    assert AuditEvent.objects.filter(action="access_token.revoked").count() == 1
