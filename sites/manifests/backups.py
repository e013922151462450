"""Backup and restore Jobs, the scheduled ``backup`` CronJob, and the ConfigMap
``hangar-tools`` that holds the scripts they run (sites/scripts/backup.sh, restore.sh,
sanitize.sh, and lib.sh that each of them sources).

The Jobs run the toolbox image (setting ``HANGAR_TOOLBOX_IMAGE``) with the environment's
Secret ``app-env`` as their environment, so they reach exactly the database and storage
the site does. Their pods carry ``hangar.dev/tool: "true"``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings

from sites.manifests.common import (
    NAME_LABEL,
    SECRET_NAME,
    TMP_DIR,
    Manifest,
    Resources,
    environment_labels,
    job,
    job_spec,
    metadata,
)
from sites.manifests.workload import container_security_context, pod_security_context

if TYPE_CHECKING:
    from sites.models import BackupSchedule, Environment

TOOLS_CONFIGMAP = "hangar-tools"
TOOL_LABEL = "hangar.dev/tool"
BACKUP_CRONJOB = "backup"
SCRIPTS_DIR = Path(__file__).resolve().parent.parent / "scripts"
SCRIPTS_MOUNT = "/hangar/scripts"
# Every file a script reads beside itself: the ConfigMap is the only way they reach a Job.
SCRIPTS = ("backup.sh", "restore.sh", "sanitize.sh", "lib.sh")
# A numeric non-root user, as the restricted Pod Security profile wants; the toolbox image
# (sites/scripts/Dockerfile) runs as this user too.
TOOL_UID = 65532


@cache
def script(name: str) -> str:
    return (SCRIPTS_DIR / name).read_text()


def render_tools_configmap(environment: Environment) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(environment, TOOLS_CONFIGMAP, labels={TOOL_LABEL: "true"}),
        "data": {name: script(name) for name in SCRIPTS},
    }


def _tool_container(
    environment: Environment, name: str, script_name: str, env: dict[str, str]
) -> Manifest:
    variables = {
        "HOME": TMP_DIR,
        "HANGAR_S3_ADDRESSING_STYLE": environment.cluster.storage_addressing_style or "virtual",
        **env,
    }
    return {
        "name": name,
        "image": settings.HANGAR_TOOLBOX_IMAGE,
        "command": ["/bin/sh", f"{SCRIPTS_MOUNT}/{script_name}"],
        "envFrom": [{"secretRef": {"name": SECRET_NAME}}],
        "env": [{"name": key, "value": value} for key, value in sorted(variables.items())],
        # The environment's own size: within its LimitRange and quota like a cron pod.
        "resources": Resources.of_environment(environment).to_container(),
        "securityContext": container_security_context(),
        "volumeMounts": [
            {"name": "tmp", "mountPath": TMP_DIR},
            {"name": "scripts", "mountPath": SCRIPTS_MOUNT, "readOnly": True},
        ],
    }


def tool_pod_spec(container: Manifest, volumes: list[Manifest]) -> Manifest:
    """The pod of a toolbox Job, run once as the toolbox's user, with the environment's
    service account but not its token."""
    return {
        "serviceAccountName": "web",
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": pod_security_context() | {"runAsUser": TOOL_UID, "runAsGroup": TOOL_UID},
        "restartPolicy": "Never",
        "containers": [container],
        "volumes": volumes,
    }


def _tool_pod(environment: Environment, container: Manifest, scratch_bytes: int = 0) -> Manifest:
    # restore.sh downloads the whole compressed dump before touching the target.
    scratch = max(1024**3, scratch_bytes + scratch_bytes // 10 + 256 * 1024**2)
    spec = tool_pod_spec(
        container,
        [
            {
                "name": "tmp",
                "emptyDir": {"sizeLimit": "1Gi" if scratch == 1024**3 else str(scratch)},
            },
            {
                "name": "scripts",
                "configMap": {"name": TOOLS_CONFIGMAP, "defaultMode": 0o444},
            },
        ],
    )
    if environment.node_pool_id is not None:
        spec["nodeSelector"] = {"doks.digitalocean.com/node-pool": environment.node_pool.name}
    return spec


def _job_spec(environment: Environment, labels: dict[str, str], pod: Manifest) -> Manifest:
    return job_spec(
        environment,
        labels,
        pod,
        deadline_seconds=settings.HANGAR_BACKUP_TIMEOUT,
        keep_seconds=24 * 3600,
    )


def _job(
    environment: Environment,
    name: str,
    role: str,
    script_name: str,
    env: dict[str, str],
    scratch_bytes: int = 0,
) -> Manifest:
    labels = {NAME_LABEL: role, TOOL_LABEL: "true"}
    pod = _tool_pod(
        environment, _tool_container(environment, role, script_name, env), scratch_bytes
    )
    return job(
        environment,
        name,
        labels,
        pod,
        deadline_seconds=settings.HANGAR_BACKUP_TIMEOUT,
        keep_seconds=24 * 3600,
    )


def render_backup_job(environment: Environment, *, name: str, key_prefix: str) -> Manifest:
    """A Job that runs backup.sh into ``key_prefix`` (backups/.../{stamp}/)."""
    return _job(environment, name, "backup", "backup.sh", {"HANGAR_BACKUP_PREFIX": key_prefix})


def render_restore_job(
    environment: Environment,
    *,
    name: str,
    source_prefix: str,
    database_sha256: str,
    restore_files: bool = True,
    target_database: str = "",
    database_size: int = 0,
    sanitize_sql: str = "",
) -> Manifest:
    """A Job that runs restore.sh: the backup in ``source_prefix`` into this environment
    (or, with ``target_database``, into that database only). Its scratch volume holds
    the compressed dump (``database_size`` bytes). With ``sanitize_sql`` (a preview's
    copy) the site's sanitize rules run in the database once it is loaded."""
    env = {
        "HANGAR_RESTORE_FROM": source_prefix,
        "HANGAR_RESTORE_DB_SHA256": database_sha256,
        "HANGAR_RESTORE_FILES": "1" if restore_files and not target_database else "0",
    }
    if target_database:
        env["HANGAR_TARGET_DB"] = target_database
    if sanitize_sql:
        env["HANGAR_SANITIZE_SQL"] = sanitize_sql
    return _job(environment, name, "restore", "restore.sh", env, database_size)


def render_sanitize_job(
    environment: Environment,
    *,
    name: str,
    source_prefix: str,
    database_sha256: str,
    scratch_database: str,
    scratch_user: str,
    scratch_password: str,
    sanitize_sql: str,
    target_key: str,
) -> Manifest:
    """A Job that runs sanitize.sh: the backup in ``source_prefix`` into the scratch
    database, the site's sanitize rules, and the sanitized dump to ``target_key``. It
    connects as the scratch user (whose only database is the scratch one), not as the
    site's user."""
    env = {
        "HANGAR_RESTORE_FROM": source_prefix,
        "HANGAR_RESTORE_DB_SHA256": database_sha256,
        "HANGAR_TARGET_DB": scratch_database,
        "HANGAR_SANITIZE_SQL": sanitize_sql,
        "HANGAR_SANITIZED_KEY": target_key,
        "DB_USER": scratch_user,
        "DB_PASSWORD": scratch_password,
    }
    return _job(environment, name, "sanitize", "sanitize.sh", env)


def render_backup_cronjob(environment: Environment, schedule: BackupSchedule) -> Manifest:
    """CronJob ``backup``: backup.sh into backups/{client}/{site}/{env}/{UTC stamp}/.
    Hangar imports and verifies what it writes (sites.backups.imports)."""
    from sites.backups.naming import backups_base

    labels = {NAME_LABEL: "backup", TOOL_LABEL: "true"}
    container = _tool_container(
        environment, "backup", "backup.sh", {"HANGAR_BACKUP_BASE": backups_base(environment)}
    )
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": metadata(environment, BACKUP_CRONJOB, labels=labels),
        "spec": {
            "schedule": schedule.resolved_schedule,
            "timeZone": settings.TIME_ZONE,
            "suspend": not schedule.enabled,
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": 600,
            "successfulJobsHistoryLimit": 1,
            "failedJobsHistoryLimit": 1,
            "jobTemplate": {
                "metadata": {"labels": environment_labels(environment) | labels},
                "spec": _job_spec(environment, labels, _tool_pod(environment, container)),
            },
        },
    }
