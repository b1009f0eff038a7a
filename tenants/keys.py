"""The one generator of secrets handed to people: tokens and API keys.

A secret reads ``<prefix>_<lookup id>_<random part><checksum>``: the prefix
says what it is, the lookup id finds its row without revealing anything, the
random part (at least 32 base62 characters) carries the entropy and the
six-character checksum lets a mistyped or truncated secret be refused before
any database read. Only a SHA-256 digest of the whole secret is stored; the
secrets are random enough that a slow hash adds nothing.
"""

import hashlib
import hmac
import re
import secrets
import zlib
from dataclasses import dataclass

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
LOOKUP_LENGTH = 12
SECRET_LENGTH = 40
CHECKSUM_LENGTH = 6


class MalformedSecret(ValueError):
    """The text is not a secret this portal could have issued."""


@dataclass(frozen=True)
class IssuedSecret:
    plaintext: str
    lookup_id: str
    digest: str

    def __repr__(self) -> str:  # never print the plaintext by accident
        return f"IssuedSecret(lookup_id={self.lookup_id!r})"


@dataclass(frozen=True)
class PresentedSecret:
    lookup_id: str
    digest: str


def _random(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def _base62(number: int, width: int) -> str:
    out = []
    for _ in range(width):
        number, rest = divmod(number, 62)
        out.append(ALPHABET[rest])
    return "".join(reversed(out))


def _checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode()), CHECKSUM_LENGTH)


def digest(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def issue(prefix: str, *, separator: str = "_") -> IssuedSecret:
    """A new secret. ``separator=""`` gives a purely alphanumeric secret, for gateways
    that accept nothing else (AWS API keys); the fixed lengths still find the parts."""
    lookup_id = _random(LOOKUP_LENGTH)
    body = f"{prefix}{separator}{lookup_id}{separator}{_random(SECRET_LENGTH)}"
    plaintext = body + _checksum(body)
    return IssuedSecret(plaintext=plaintext, lookup_id=lookup_id, digest=digest(plaintext))


def parse(prefix: str, text: str, *, separator: str = "_") -> PresentedSecret:
    sep = re.escape(separator)
    pattern = re.compile(
        rf"{re.escape(prefix)}{sep}([0-9A-Za-z]{{{LOOKUP_LENGTH}}}){sep}"
        rf"[0-9A-Za-z]{{{SECRET_LENGTH}}}([0-9A-Za-z]{{{CHECKSUM_LENGTH}}})"
    )
    # fullmatch, not "$", which would let a trailing newline through.
    match = pattern.fullmatch(text or "")
    if not match:
        raise MalformedSecret("not in the expected format")
    body = text[:-CHECKSUM_LENGTH]
    if not hmac.compare_digest(_checksum(body), match.group(2)):
        raise MalformedSecret("checksum does not match")
    return PresentedSecret(lookup_id=match.group(1), digest=digest(text))


# A secret is one unbroken run of these characters, at least this long.
_RUN = re.compile(rf"[0-9A-Za-z_-]{{{LOOKUP_LENGTH + SECRET_LENGTH + CHECKSUM_LENGTH},}}")


def redact(text: str) -> str:
    """``text`` with every secret this portal issued cut after its lookup id. A run of
    characters counts only if its checksum holds, so digests and ids are left alone."""

    def cut(match: re.Match) -> str:
        run = match.group(0)
        if not hmac.compare_digest(_checksum(run[:-CHECKSUM_LENGTH]), run[-CHECKSUM_LENGTH:]):
            return run
        return run[: -(SECRET_LENGTH + CHECKSUM_LENGTH)] + "…"

    return _RUN.sub(cut, text)


def matches(stored_digest: str, presented: PresentedSecret) -> bool:
    return hmac.compare_digest(stored_digest, presented.digest)


def new_opaque_token() -> tuple[str, str]:
    """A URL-safe one-time token (invitation links) and its digest."""
    token = secrets.token_urlsafe(32)
    return token, digest(token)
