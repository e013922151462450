"""Environment variable names and values, and the names Hangar reserves for itself."""

from __future__ import annotations

import re
from collections.abc import Mapping

from django.core.exceptions import ValidationError

from controlpanel.core.validators import _require_str

RESERVED_ENV_KEYS: frozenset[str] = frozenset(
    {
        "DB_HOST",
        "DB_PORT",
        "DB_NAME",
        "DB_USER",
        "DB_PASSWORD",
        "S3_ENDPOINT",
        "S3_REGION",
        "S3_BUCKET",
        "S3_PREFIX",
        "S3_ACCESS_KEY",
        "S3_SECRET_KEY",
        "SMTP_HOST",
        "SMTP_PORT",
        "SMTP_USER",
        "SMTP_PASSWORD",
        "SMTP_MODE",
        "SMTP_TLS",
        "SMTP_TLS_VERIFY",
        "SMTP_FROM",
        "HASH_SALT",
        "SITE_ENVIRONMENT",
        "SITE_TIER",
        "MYSQL_HOST",
        "MYSQL_PORT",
        "MYSQL_DATABASE",
        "MYSQL_USER",
        "MYSQL_PASSWORD",
        "MARIADB_HOST",
        "MARIADB_PORT",
        "MARIADB_DATABASE",
        "MARIADB_USERNAME",
        "MARIADB_PASSWORD",
    }
)
RESERVED_ENV_PREFIXES: tuple[str, ...] = ("HANGAR_", "KUBERNETES_")
ENV_VALUE_MAX_BYTES = 32 * 1024
# The API server refuses a ConfigMap or Secret whose values add up to more than 1 MiB.
CONFIG_MAX_BYTES = 1024 * 1024
_ENV_KEY_MAX = 128
_ENV_KEY_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*", re.ASCII)


def validate_env_key(value: str) -> str:
    """Validate an environment variable name; returns it stripped.

    Rules: a POSIX name (``^[A-Za-z_][A-Za-z0-9_]*$``) of at most 128 characters, not one of
    ``RESERVED_ENV_KEYS`` that Hangar injects and not starting with a prefix in
    ``RESERVED_ENV_PREFIXES``. Names are case-sensitive, as in the container, so ``db_host``
    is allowed. Code ``env_key``.
    """
    key = _require_str(value, "A variable name", "env_key").strip()
    if not key:
        raise ValidationError("The variable name is empty.", code="env_key")
    if len(key) > _ENV_KEY_MAX:
        raise ValidationError(
            f"The variable name is {len(key)} characters long; the limit is {_ENV_KEY_MAX}.",
            code="env_key",
        )
    if not _ENV_KEY_RE.fullmatch(key):
        if key[0].isdigit():
            reason = "it starts with a digit"
        else:
            bad = sorted({c for c in key if not (c.isascii() and (c.isalnum() or c == "_"))})
            reason = "it contains " + ", ".join(repr(c) for c in bad)
        raise ValidationError(
            f'"{key}" is not a valid variable name ({reason}); use letters, digits and '
            "underscores, not starting with a digit.",
            code="env_key",
        )
    if key in RESERVED_ENV_KEYS:
        raise ValidationError(
            f"{key} is set by Hangar and cannot be overridden.", code="env_key_reserved"
        )
    for prefix in RESERVED_ENV_PREFIXES:
        if key.startswith(prefix):
            raise ValidationError(
                f"{key} starts with {prefix}, which is reserved for variables set by Hangar and "
                "Kubernetes.",
                code="env_key_reserved",
            )
    return key


def validate_env_value(value: str) -> str:
    """Validate an environment variable value; returns it unchanged.

    Rules: at most ``ENV_VALUE_MAX_BYTES`` (32 KiB) when encoded as UTF-8 and no NUL
    characters, which cannot be passed through exec(). Whitespace is kept because it may be
    significant. Code ``env_value``.
    """
    text = _require_str(value, "A variable value", "env_value")
    if "\x00" in text:
        raise ValidationError(
            "The value contains a NUL character (\\x00), which environment variables cannot hold.",
            code="env_value",
        )
    size = len(text.encode("utf-8"))
    if size > ENV_VALUE_MAX_BYTES:
        raise ValidationError(
            f"The value is {size} bytes long; the limit is {ENV_VALUE_MAX_BYTES} bytes (32 KiB).",
            code="env_value",
        )
    return text


def validate_config_size(values: Mapping[str, str], *, kind: str, name: str) -> None:
    """Check that the values of one ConfigMap or Secret (``kind`` and ``name`` for the
    message) add up to at most ``CONFIG_MAX_BYTES`` (1 MiB) in UTF-8, the limit the API
    server applies to each. Code ``config_size``."""
    size = sum(len(value.encode("utf-8")) for value in values.values())
    if size > CONFIG_MAX_BYTES:
        raise ValidationError(
            f"The {kind} {name} would hold {size:,} bytes of values; Kubernetes refuses a "
            f"{kind} over 1 MiB ({CONFIG_MAX_BYTES:,} bytes) in total. Shorten or remove "
            "other variables first.",
            code="config_size",
        )
