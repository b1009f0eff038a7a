"""Subscription keys: their format, a mistyped key refused without a database read, one
look at an issued key, rotation with a grace period measured to the second, revocation
and expiry."""

import datetime
import hashlib
import re

import pytest
import time_machine
from django.utils import timezone

from apis.models import Credential, Subscription
from apis.services import keys
from apis.services.subscriptions import subscription_act, subscription_request
from tenants import keys as secret_keys
from tenants.errors import Conflict, NotAllowed

ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
KEY = re.compile(r"pak(?P<lookup>[0-9A-Za-z]{12})(?P<random>[0-9A-Za-z]{40})[0-9A-Za-z]{6}")
START = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)


def approve(world, *, grace_hours: int = 24) -> Subscription:
    world.manual.key_grace_hours = grace_hours
    world.manual.save(update_fields=["key_grace_hours"])
    subscription = subscription_request(
        application=world.application,
        api=world.api,
        plan=world.manual,
        actor=world.actor("app_developer"),
    )
    return subscription_act(
        subscription=subscription, action="approve", actor=world.actor("api_maintainer")
    )


@pytest.fixture
def issued(world):
    """An approved subscription and its first key's value, looked at once."""
    subscription = approve(world)
    credential = subscription.credentials.get()
    plaintext = keys.credential_reveal(credential=credential, actor=world.actor("app_developer"))
    return credential, plaintext


def test_the_key_format(issued):
    credential, plaintext = issued
    match = KEY.fullmatch(plaintext)
    assert match, plaintext
    assert len(plaintext) == 61
    assert plaintext.isalnum()  # AWS takes nothing else as a key value
    assert match["lookup"] == credential.lookup_id
    assert credential.prefix == credential.display_prefix == f"pak{credential.lookup_id}"
    assert len(match["random"]) >= 32
    assert credential.digest == hashlib.sha256(plaintext.encode()).hexdigest()
    assert secret_keys.parse("pak", plaintext, separator="").lookup_id == credential.lookup_id


def test_keys_differ_and_their_random_parts_use_the_whole_alphabet(world):
    values = [secret_keys.issue("pak", separator="").plaintext for _ in range(200)]
    assert len(set(values)) == 200
    assert len({KEY.fullmatch(v)["lookup"] for v in values}) == 200
    seen = set("".join(KEY.fullmatch(v)["random"] for v in values))
    assert seen == set(ALNUM)


def test_a_key_one_character_off_is_refused_without_a_query(issued, django_assert_num_queries):
    _, plaintext = issued
    for position, char in enumerate(plaintext):
        for replacement in (
            ALNUM[(ALNUM.index(char) + 1) % 62],
            ALNUM[(ALNUM.index(char) + 31) % 62],
        ):
            typo = plaintext[:position] + replacement + plaintext[position + 1 :]
            with django_assert_num_queries(0):
                assert keys.credential_authenticate(typo) is None, position


@pytest.mark.parametrize(
    "damage",
    [
        lambda k: k[:-1],
        lambda k: k + "A",
        lambda k: k + "\n",
        lambda k: " " + k,
        lambda k: k.upper(),
        lambda k: "PAK" + k[3:],
        lambda k: "sk-" + k,
        lambda k: k[:20] + "-" + k[21:],
        lambda k: "",
        lambda k: None,
    ],
    ids=[
        "truncated",
        "longer",
        "newline",
        "space",
        "upper",
        "prefix case",
        "other prefix",
        "dash",
        "empty",
        "none",
    ],
)
def test_malformed_keys_cost_no_query(issued, django_assert_num_queries, damage):
    _, plaintext = issued
    with django_assert_num_queries(0):
        assert keys.credential_authenticate(damage(plaintext)) is None


def test_a_well_formed_key_the_portal_never_issued_costs_one_query(
    issued, django_assert_num_queries
):
    stranger = secret_keys.issue("pak", separator="").plaintext
    with django_assert_num_queries(1):
        assert keys.credential_authenticate(stranger) is None
    # Same lookup id, other secret: found by its lookup id, refused by its digest.
    credential, plaintext = issued
    body = plaintext[:15] + stranger[15:55]
    forged = body + secret_keys._checksum(body)
    with django_assert_num_queries(1):
        assert keys.credential_authenticate(forged) is None
    with django_assert_num_queries(1):
        assert keys.credential_authenticate(plaintext) == credential


def test_an_issued_key_is_shown_once_and_only_to_its_team(world):
    subscription = approve(world)
    credential = subscription.credentials.get()
    assert credential.sealed_reveal
    assert credential.revealed_at is None

    for outsider in ("api_maintainer", "provider_admin", "app_viewer", "outsider"):
        with pytest.raises(NotAllowed):
            keys.credential_reveal(credential=credential, actor=world.actor(outsider))
    plaintext = keys.credential_reveal(credential=credential, actor=world.actor("app_maintainer"))
    credential.refresh_from_db()
    assert credential.sealed_reveal == ""
    assert credential.revealed_at is not None
    with pytest.raises(Conflict, match="shown once"):
        keys.credential_reveal(credential=credential, actor=world.actor("app_developer"))
    # Looking does not spend the key.
    assert keys.credential_authenticate(plaintext) == credential


def test_rotation_keeps_the_old_key_to_the_end_of_the_grace_period(world):
    with time_machine.travel(START, tick=False) as traveller:
        subscription = approve(world, grace_hours=48)
        old = subscription.credentials.get()
        old_value = keys.credential_reveal(credential=old, actor=world.actor("app_developer"))
        traveller.shift(datetime.timedelta(days=3))
        rotated_at = timezone.now()

        new, new_value = keys.credential_rotate(credential=old, actor=world.actor("app_developer"))

        old.refresh_from_db()
        assert old.replaced_at == rotated_at
        assert old.grace_until == rotated_at + datetime.timedelta(hours=48)
        assert new.sealed_reveal == ""  # shown now, by the rotation, and never again
        assert new_value != old_value
        assert keys.credential_authenticate(new_value) == new
        assert keys.credential_authenticate(old_value) == old

        traveller.move_to(old.grace_until - datetime.timedelta(seconds=1))
        assert keys.credential_authenticate(old_value) == old
        traveller.move_to(old.grace_until)
        assert keys.credential_authenticate(old_value) is None
        traveller.move_to(old.grace_until + datetime.timedelta(seconds=1))
        assert keys.credential_authenticate(old_value) is None
        assert keys.credential_authenticate(new_value) == new

    with pytest.raises(Conflict, match="current key"):
        keys.credential_rotate(credential=old, actor=world.actor("app_developer"))


def test_only_the_applications_team_rotates_or_revokes(world, issued):
    credential, _ = issued
    for outsider in ("api_maintainer", "app_viewer", "outsider"):
        with pytest.raises(NotAllowed):
            keys.credential_rotate(credential=credential, actor=world.actor(outsider))
        with pytest.raises(NotAllowed):
            keys.credential_revoke(credential=credential, actor=world.actor(outsider))
    assert Credential.objects.filter(subscription=credential.subscription).count() == 1


def test_revocation_ends_a_key_at_once_and_a_new_one_may_be_issued(world, issued):
    credential, plaintext = issued
    with time_machine.travel(START, tick=False):
        keys.credential_revoke(credential=credential, actor=world.actor("app_developer"))
        assert keys.credential_authenticate(plaintext) is None
        credential.refresh_from_db()
        assert credential.revoked_at == timezone.now()
    with pytest.raises(Conflict, match="already revoked"):
        keys.credential_revoke(credential=credential, actor=world.actor("app_developer"))
    with pytest.raises(Conflict):
        keys.credential_rotate(credential=credential, actor=world.actor("app_developer"))

    new, value = keys.credential_issue(
        subscription=credential.subscription, actor=world.actor("app_developer")
    )
    assert keys.credential_authenticate(value) == new
    with pytest.raises(Conflict, match="has a key"):
        keys.credential_issue(
            subscription=credential.subscription, actor=world.actor("app_developer")
        )


def test_a_key_expires_at_the_end_of_its_lifetime(world, settings):
    settings.SUBSCRIPTION_KEY_LIFETIME_DAYS = 30
    with time_machine.travel(START, tick=False) as traveller:
        subscription = approve(world)
        credential = subscription.credentials.get()
        plaintext = keys.credential_reveal(
            credential=credential, actor=world.actor("app_developer")
        )
        assert credential.expires_at == START + datetime.timedelta(days=30)

        traveller.move_to(credential.expires_at - datetime.timedelta(seconds=1))
        assert keys.credential_authenticate(plaintext) == credential
        traveller.move_to(credential.expires_at + datetime.timedelta(seconds=1))
        assert keys.credential_authenticate(plaintext) is None


def test_keys_work_only_while_the_subscription_is_approved(world, issued):
    credential, plaintext = issued
    subscription = credential.subscription
    subscription_act(
        subscription=subscription,
        action="suspend",
        reason="Abuse.",
        actor=world.actor("api_maintainer"),
    )
    assert keys.credential_authenticate(plaintext) is None
    with pytest.raises(Conflict):
        keys.credential_rotate(credential=credential, actor=world.actor("app_developer"))
    subscription_act(
        subscription=subscription, action="resume", actor=world.actor("api_maintainer")
    )
    assert keys.credential_authenticate(plaintext) == credential
    subscription_act(
        subscription=subscription,
        action="revoke",
        reason="Contract ended.",
        actor=world.actor("api_maintainer"),
    )
    assert keys.credential_authenticate(plaintext) is None
    credential.refresh_from_db()
    assert credential.revoked_at is not None
