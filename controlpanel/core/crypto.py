"""Symmetric encryption of secrets at rest (MultiFernet over FIELD_ENCRYPTION_KEYS).

The first key encrypts; every listed key decrypts, so keys rotate by prepending a new one,
running `manage.py rotate_encryption_keys`, then dropping the old one.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver


class EncryptionKeyError(Exception):
    """FIELD_ENCRYPTION_KEYS holds something that is not a Fernet key."""


class DecryptionError(Exception):
    """A stored value cannot be decrypted with any configured key."""


def load_keys(keys: list[str] | tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise EncryptionKeyError("FIELD_ENCRYPTION_KEYS is empty.")
    fernets = []
    for position, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key.strip().encode()))
        except (ValueError, TypeError) as exc:
            # Never echo the key itself: it is the secret.
            raise EncryptionKeyError(
                f"FIELD_ENCRYPTION_KEYS entry {position} is not a valid Fernet key "
                "(32 url-safe base64-encoded bytes)."
            ) from exc
    return MultiFernet(fernets)


@lru_cache(maxsize=1)
def _multifernet() -> MultiFernet:
    return load_keys(settings.FIELD_ENCRYPTION_KEYS)


@receiver(setting_changed)
def _reset_on_setting_change(*, setting: str, **kwargs: object) -> None:
    if setting == "FIELD_ENCRYPTION_KEYS":
        _multifernet.cache_clear()


def encrypt(plaintext: str) -> str:
    return _multifernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _multifernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError(
            "A stored secret cannot be decrypted with FIELD_ENCRYPTION_KEYS; "
            "was a key removed before rotation finished?"
        ) from exc


def rotate(token: str) -> str:
    """Re-encrypt a token with the primary key (a no-op in meaning, not in bytes)."""
    try:
        return _multifernet().rotate(token.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError("A stored secret cannot be decrypted for rotation.") from exc
