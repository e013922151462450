"""System checks for configuration mistakes, with stable ids (hangar.E/W###).

| id          | what                                                              |
| ----------- | ----------------------------------------------------------------- |
| hangar.E001 | FIELD_ENCRYPTION_KEYS holds a value that is not a Fernet key       |
| hangar.E002 | SQLite database with DEBUG off                                    |
| hangar.E003 | no CELERY_BROKER_URL with DEBUG off (embedded worker in production) |
| hangar.W001 | FIELD_ENCRYPTION_KEYS unset with DEBUG off (derived from SECRET_KEY) |
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from controlpanel.core.crypto import EncryptionKeyError, load_keys


@register(Tags.security)
def check_encryption_keys(app_configs: Any = None, **kwargs: Any) -> list:
    messages: list = []
    try:
        load_keys(settings.FIELD_ENCRYPTION_KEYS)
    except EncryptionKeyError as exc:
        messages.append(
            Error(
                str(exc),
                hint="Generate a key with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'",
                id="hangar.E001",
            )
        )
    if not settings.DEBUG and getattr(settings, "FIELD_ENCRYPTION_KEYS_DERIVED", False):
        messages.append(
            Warning(
                "FIELD_ENCRYPTION_KEYS is not set; secrets are encrypted with a key derived "
                "from SECRET_KEY, so changing SECRET_KEY makes them unreadable.",
                hint="Set FIELD_ENCRYPTION_KEYS to one or more Fernet keys.",
                id="hangar.W001",
            )
        )
    return messages


@register(Tags.database)
def check_database(app_configs: Any = None, **kwargs: Any) -> list:
    engine = settings.DATABASES["default"]["ENGINE"]
    if not settings.DEBUG and "sqlite" in engine:
        return [
            Error(
                "SQLite is the embedded default for trying Hangar out; production needs "
                "PostgreSQL (row locks, concurrent workers).",
                hint="Set DATABASE_URL=postgres://user:password@host:5432/hangar",
                id="hangar.E002",
            )
        ]
    return []


@register()
def check_broker(app_configs: Any = None, **kwargs: Any) -> list:
    if not settings.DEBUG and getattr(settings, "HANGAR_EMBEDDED_WORKER", False):
        return [
            Error(
                "No CELERY_BROKER_URL: operations would run in a thread of the web process, "
                "which is the embedded default for development only.",
                hint="Set CELERY_BROKER_URL=redis://host:6379/0 and run a worker and beat.",
                id="hangar.E003",
            )
        ]
    return []
