"""The one secret generator: format, checksum and digest."""

import hashlib
import re

import pytest

from tenants import keys

FORMAT = re.compile(r"^pat_[0-9A-Za-z]{12}_[0-9A-Za-z]{46}$")


@pytest.fixture
def issued():
    return keys.issue("pat")


def test_a_secret_reads_prefix_lookup_id_random_part_and_checksum(issued):
    assert FORMAT.match(issued.plaintext)
    prefix, lookup_id, rest = issued.plaintext.split("_")
    assert (prefix, lookup_id) == ("pat", issued.lookup_id)
    assert len(rest) == keys.SECRET_LENGTH + keys.CHECKSUM_LENGTH


def test_the_digest_is_the_sha256_of_the_whole_secret(issued):
    assert issued.digest == hashlib.sha256(issued.plaintext.encode()).hexdigest()
    assert keys.digest(issued.plaintext) == issued.digest


def test_parse_gives_back_the_lookup_id_and_digest(issued):
    presented = keys.parse("pat", issued.plaintext)
    assert presented.lookup_id == issued.lookup_id
    assert presented.digest == issued.digest
    assert keys.matches(issued.digest, presented)


def test_secrets_do_not_repeat():
    secrets = {keys.issue("pat").plaintext for _ in range(200)}
    lookups = {s.split("_")[1] for s in secrets}
    assert len(secrets) == len(lookups) == 200


def test_the_plaintext_is_not_in_the_repr(issued):
    assert issued.plaintext not in repr(issued)
    assert issued.lookup_id in repr(issued)


def _positions(plaintext: str):
    return [i for i, char in enumerate(plaintext) if char != "_" and i >= len("pat_")]


def test_every_one_character_change_is_refused(issued):
    """CRC-32 catches every change of one character, in the lookup id, the random part
    or the checksum itself."""
    text = issued.plaintext
    for index in _positions(text):
        for replacement in {keys.ALPHABET[0], keys.ALPHABET[-1], text[index].swapcase()}:
            if replacement == text[index]:
                continue
            changed = text[:index] + replacement + text[index + 1 :]
            with pytest.raises(keys.MalformedSecret):
                keys.parse("pat", changed)


def test_two_swapped_neighbours_are_refused(issued):
    text = issued.plaintext
    for index in _positions(text)[:-1]:
        if text[index] == text[index + 1] or "_" in text[index : index + 2]:
            continue
        swapped = text[:index] + text[index + 1] + text[index] + text[index + 2 :]
        with pytest.raises(keys.MalformedSecret):
            keys.parse("pat", swapped)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1],  # truncated
        lambda t: t + "A",  # one too many
        lambda t: t + "\n",  # a trailing newline, as pasted from a file
        lambda t: " " + t,
        lambda t: "pax" + t[3:],  # another prefix
        lambda t: t.replace("_", "-"),
        lambda t: t[:10] + "!" + t[11:],  # outside the alphabet
        lambda t: "",
    ],
)
def test_malformed_text_is_refused(issued, mangle):
    with pytest.raises(keys.MalformedSecret):
        keys.parse("pat", mangle(issued.plaintext))


def test_none_is_refused():
    with pytest.raises(keys.MalformedSecret):
        keys.parse("pat", None)


def test_a_secret_of_another_kind_is_refused():
    other = keys.issue("key")
    with pytest.raises(keys.MalformedSecret):
        keys.parse("pat", other.plaintext)
    assert keys.parse("key", other.plaintext).lookup_id == other.lookup_id


def test_matches_compares_digests(issued):
    other = keys.parse("pat", keys.issue("pat").plaintext)
    assert not keys.matches(issued.digest, other)


def test_opaque_tokens_are_url_safe_and_come_with_their_digest():
    token, digest = keys.new_opaque_token()
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)
    assert digest == keys.digest(token)
    assert keys.new_opaque_token()[0] != token


def test_a_trailing_newline_is_refused_for_its_format_before_any_checksum(issued):
    with pytest.raises(keys.MalformedSecret, match="format"):
        keys.parse("pat", issued.plaintext + "\n")
