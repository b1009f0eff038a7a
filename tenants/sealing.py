"""Secrets the portal must read back (gateway admin keys, webhook signing
secrets) are sealed with Fernet under keys from the environment.

``PORTICO_ENCRYPTION_KEYS`` holds one or more Fernet keys, comma-separated,
newest first: new values are sealed with the first, any of them opens old
ones, so keys rotate without a migration. In development a key is derived
from SECRET_KEY; production refuses to start without the variable.
"""

import base64
import hashlib
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class SealError(ValueError):
    """A sealed value cannot be opened with the configured keys."""


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def _keys() -> tuple[str, ...]:
    configured = tuple(settings.PORTICO_ENCRYPTION_KEYS)
    if configured:
        return configured
    derived = hashlib.sha256(("portico-sealing:" + settings.SECRET_KEY).encode()).digest()
    return (base64.urlsafe_b64encode(derived).decode(),)


def seal(plaintext: str) -> str:
    return _fernet(_keys()).encrypt(plaintext.encode()).decode()


def unseal(token: str) -> str:
    try:
        return _fernet(_keys()).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise SealError("This secret was sealed with a key that is no longer configured.") from exc
