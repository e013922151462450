"""What a developer does to get an environment onto a laptop besides the compose project
(sites.local.selectors): a sanitized copy of a backup's database, its download link, the
script that fetches the files; and what an owner does: the site's sanitize rules.

Permission first, then validation (field-keyed errors, nothing recorded on error). The
sanitized dump is made by an operation (sites.local.handlers) in the cluster."""

from __future__ import annotations

import shlex

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from clusters.storage import ObjectStorage, StorageError
from controlpanel.core.audit import audit_record
from controlpanel.core.models import User
from controlpanel.core.permissions import Action, require
from sites.backups.data import data_enabled, environment_database
from sites.local.models import SanitizedDump
from sites.local.rules import default_sanitize_sql, validate_sanitize_sql
from sites.models import Backup, Environment, Site
from sites.services.operations import environment_operation, require_provisioned

# The files script lists one presigned URL per file; past this, it says to use rclone.
MAX_FILES_IN_SCRIPT = 5000


def site_sanitize_rules(site: Site) -> str:
    """The SQL a sanitized dump of `site` runs: its own rules, or its kind's defaults."""
    return site.sanitize_sql or default_sanitize_sql(site.kind)


@transaction.atomic
def site_sanitize_rules_set(*, actor: User, site: Site, sanitize_sql: str) -> Site:
    """The owner's rules ("" goes back to the defaults of the site's kind); audited."""
    require(actor, Action.MANAGE_SITES, site.client)
    try:
        sql = validate_sanitize_sql(sanitize_sql)
    except ValidationError as exc:
        raise ValidationError({"sanitize_sql": exc.messages}) from None
    if sql == default_sanitize_sql(site.kind).strip():
        sql = ""
    before = site.sanitize_sql
    Site.objects.filter(pk=site.pk).update(sanitize_sql=sql, updated_at=timezone.now())
    site.sanitize_sql = sql
    if before != sql:
        audit_record(
            actor=actor,
            action="site.sanitize_rules.change",
            target=site,
            client=site.client,
            changes={"sanitize_sql": {"before": before, "after": sql}},
        )
    return site


def sanitized_dumps_visible(actor: User) -> QuerySet[SanitizedDump]:
    return SanitizedDump.objects.for_user(actor).select_related("backup__site__client")


def _backup_visible(actor: User, backup: Backup) -> Backup:
    """The backup, if `actor` may see it at all (the views answer 404 before this)."""
    found = (
        Backup.objects.for_user(actor)
        .select_related("site__client", "environment__cluster", "cluster")
        .filter(pk=backup.pk)
        .first()
    )
    if found is None:
        raise PermissionDenied("No such backup.")
    return found


@transaction.atomic
def backup_sanitize(*, actor: User, backup: Backup, idempotency_key: str = "") -> SanitizedDump:
    """Queue a sanitized copy of a verified backup, made in its environment's namespace
    with the site's current rules. Developers may: the raw dump never leaves the cluster."""
    backup = _backup_visible(actor, backup)
    require(actor, Action.DEPLOY, backup.site.client)
    if backup.status != Backup.Status.SUCCEEDED:
        raise ValidationError({"backup": "Only a verified backup can be sanitized."})
    environment = backup.environment
    if environment is None:
        raise ValidationError(
            {"backup": "Its environment is destroyed: there is no namespace to sanitize in."}
        )
    require_provisioned(environment)
    if not data_enabled(environment) or environment_database(environment) is None:
        raise ValidationError({"backup": f"{environment} has no database to sanitize with."})
    rules = site_sanitize_rules(backup.site)
    if not rules.strip():
        raise ValidationError(
            {"sanitize_sql": f"{backup.site} has no sanitize rules: its owner sets them first."}
        )
    dump = SanitizedDump.objects.create(backup=backup, sanitize_sql=rules, created_by=actor)
    operation, created = environment_operation(
        kind="backup.sanitize",
        environment=environment,
        actor=actor,
        params={"backup_id": backup.pk, "dump_id": dump.pk},
        fingerprint_params={"backup_id": backup.pk},
        idempotency_key=idempotency_key,
        steps_total=3,
    )
    if not created:  # an idempotent repeat: the earlier request has its dump
        dump.delete()
        return SanitizedDump.objects.get(pk=operation.params["dump_id"])
    SanitizedDump.objects.filter(pk=dump.pk).update(operation=operation)
    dump.operation = operation
    return dump


def sanitized_download(*, actor: User, backup: Backup) -> tuple[SanitizedDump, str]:
    """The newest ready sanitized dump of the backup and a short-lived link to it; audited."""
    backup = _backup_visible(actor, backup)
    require(actor, Action.DEPLOY, backup.site.client)
    dump = (
        SanitizedDump.objects.filter(backup=backup, status=SanitizedDump.Status.SUCCEEDED)
        .order_by("-created_at", "-pk")
        .first()
    )
    if dump is None:
        raise ValidationError(
            {"backup": f"Backup #{backup.pk} has no sanitized dump yet: sanitize it first."}
        )
    filename = (
        f"{backup.site.client.slug}-{backup.site.slug}-{backup.environment_slug}-"
        f"{backup.taken_at:%Y%m%d-%H%M%S}-sanitized.sql.gz"
    )
    try:
        url = ObjectStorage.for_cluster(backup.cluster).presigned_get(dump.key, filename=filename)
    except StorageError as exc:
        raise ValidationError({"backup": exc.message}) from exc
    audit_record(
        actor=actor,
        action="backup.sanitized.download",
        target=backup,
        client=backup.site.client,
        changes={"object": dump.key},
    )
    return dump, url


def environment_files_script(*, actor: User, environment: Environment) -> str:
    """A POSIX sh script that downloads the environment's files into ./files with curl,
    one presigned (read-only, short-lived, one object each) URL per file; audited."""
    require(actor, Action.DEPLOY, environment.site.client)
    record = environment_database(environment)
    if not data_enabled(environment) or record is None:
        raise ValidationError({"environment": f"{environment} has no files in object storage."})
    storage = ObjectStorage.for_cluster(environment.cluster)
    prefix = record.files_prefix.rstrip("/") + "/"
    seconds = int(settings.HANGAR_BACKUP_DOWNLOAD_SECONDS)
    lines = [
        "#!/bin/sh",
        f"# The files of {environment} ({environment.namespace}), generated by Hangar at",
        f"# {timezone.now():%Y-%m-%d %H:%M} UTC. Each link reads one file and expires "
        f"{seconds} seconds after that: fetch a new script when it has.",
        "# Run it in the folder of the compose project: sh files.sh",
        "set -eu",
        'dest="${1:-files}"',
        'fetch() { mkdir -p "$dest/$(dirname "$1")"; curl -fsS -o "$dest/$1" "$2"; }',
    ]
    count = 0
    try:
        for found in storage.list(prefix):
            relative = found.key[len(prefix) :]
            if not relative or relative.endswith("/") or ".." in relative.split("/"):
                continue  # folders, and names that would write outside the folder
            if count == MAX_FILES_IN_SCRIPT:
                lines.append(
                    f"echo 'More than {MAX_FILES_IN_SCRIPT} files: the rest is not listed here.'"
                    " >&2"
                )
                break
            url = storage.presigned_get(found.key, expires=seconds)
            lines.append(f"fetch {shlex.quote(relative)} {shlex.quote(url)}")
            count += 1
    except StorageError as exc:
        raise ValidationError({"environment": exc.message}) from exc
    lines.append(f'echo "{count} files in $dest/"')
    audit_record(
        actor=actor,
        action="environment.files.download",
        target=environment,
        client=environment.site.client,
        changes={"files": count},
    )
    return "\n".join(lines) + "\n"
