"""Where an environment's data lives: database and user names, object-storage prefixes."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sites.models import Environment

STAMP_FORMAT = "%Y%m%dT%H%M%SZ"
STAMP_LENGTH = 16  # len("20260101T020000Z")


def _parts(environment: Environment) -> tuple[str, str, str]:
    return environment.site.client.slug, environment.site.slug, environment.slug


def database_name(environment: Environment) -> str:
    """acme-www-production → acme_www_production (namespaces fit in 63 characters)."""
    return environment.namespace.replace("-", "_")


def database_user(environment: Environment) -> str:
    """A readable start and a hash, within MySQL's 32 characters for user names."""
    name = database_name(environment)
    digest = hashlib.sha256(name.encode()).hexdigest()[:12]
    return f"{name[:19]}_{digest}"


def files_prefix(environment: Environment) -> str:
    """The environment's uploaded files: S3_PREFIX."""
    client, site, env = _parts(environment)
    return f"sites/{client}/{site}/{env}/"


def backups_base(environment: Environment) -> str:
    client, site, env = _parts(environment)
    return f"backups/{client}/{site}/{env}/"


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(STAMP_FORMAT)


def parse_stamp(folder: str) -> datetime | None:
    """The time in a backup folder's name (its last path part), or None."""
    name = folder.rstrip("/").rsplit("/", 1)[-1]
    try:
        return datetime.strptime(name[:STAMP_LENGTH], STAMP_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


def backup_prefix(environment: Environment, moment: datetime, suffix: str = "") -> str:
    return f"{backups_base(environment)}{stamp(moment)}{suffix}/"
