"""Actions: what people do to environments that changes what runs on a cluster.

Each action checks permission and validates its input (field-keyed errors; no operation is
created on error), then records an Operation in one transaction. The engine carries it out;
the action returns the Operation for the caller to show or poll.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, QuerySet

from clusters.engine import operation_create
from clusters.models import Cluster, Operation
from controlpanel.core.audit import audit_record
from controlpanel.core.models import Client, User
from controlpanel.core.permissions import Action, require
from sites import validators as v
from sites.models import CronSchedule, Environment, Release, SiteKind

# Actions queue behind a provisioning that is under way (operations of one environment
# run in order), but an environment that was never provisioned has nothing to act on.
PROVISIONED = (
    Environment.Status.PROVISIONING,
    Environment.Status.ACTIVE,
    Environment.Status.FAILED,
)

# Common one-off tasks per site kind, offered as buttons; any command may be typed.
COMMON_TASKS: dict[str, list[tuple[str, str]]] = {
    SiteKind.DRUPAL: [
        ("drush cr", "Rebuild caches"),
        ("drush updb -y", "Run database updates"),
        ("drush cim -y", "Import configuration"),
        ("drush cron", "Run cron now"),
    ],
    SiteKind.WORDPRESS: [
        ("wp cache flush", "Flush the object cache"),
        ("wp core update-db", "Update the database"),
        ("wp cron event run --due-now", "Run due cron events"),
    ],
    SiteKind.PHP: [
        ("php spark migrate", "Run migrations (CodeIgniter)"),
        ("php spark cache:clear", "Clear the cache (CodeIgniter)"),
    ],
    SiteKind.STATIC: [],
}
MAX_COMMAND_LENGTH = 2000


def pinned(image: str, digest: str) -> str:
    """The reference with its digest, so the very same image runs again (tags move)."""
    reference = v.parse_image_reference(image)
    if reference.digest or not digest:
        return str(reference)
    tag = f":{reference.tag}" if reference.tag else ""
    return f"{reference.name}{tag}@{digest}"


def _operation(
    *,
    kind: str,
    environment: Environment,
    actor: User,
    params: dict[str, Any] | None = None,
    idempotency_key: str = "",
    steps_total: int = 2,
    fingerprint_params: dict[str, Any] | None = None,
) -> Operation:
    operation, created = operation_create(
        kind=kind,
        cluster=environment.cluster,
        target=environment,
        lock_key=environment.lock_key,
        client=environment.site.client,
        params=params or {},
        requested_by=actor,
        idempotency_key=idempotency_key,
        steps_total=steps_total,
        fingerprint_params=fingerprint_params,
    )
    if created:
        audit_record(
            actor=actor,
            action=kind,
            target=environment,
            client=environment.site.client,
            changes={k: val for k, val in (params or {}).items() if k != "release_id"},
        )
    return operation


def _require_provisioned(environment: Environment) -> None:
    if environment.status not in PROVISIONED:
        raise ValidationError(
            {
                "environment": f"{environment} is {environment.get_status_display().lower()}; "
                "provision it first."
            }
        )


@transaction.atomic
def environment_provision(
    *, actor: User, environment: Environment, idempotency_key: str = ""
) -> Operation:
    require(actor, Action.MANAGE_SITES, environment.site.client)
    if environment.status == Environment.Status.DESTROYING:
        raise ValidationError({"environment": "This environment is being destroyed."})
    Environment.objects.filter(pk=environment.pk).update(status=Environment.Status.PROVISIONING)
    environment.status = Environment.Status.PROVISIONING
    return _operation(
        kind="environment.provision",
        environment=environment,
        actor=actor,
        params={"config_version": environment.config_version},
        idempotency_key=idempotency_key,
        steps_total=3,
    )


@transaction.atomic
def environment_deploy(
    *,
    actor: User,
    environment: Environment,
    image: str,
    idempotency_key: str = "",
    note: str = "",
    rollback_on_failure: bool = True,
) -> Operation:
    """Deploy an image reference. The environment keeps showing its current image until the
    rollout succeeds; the Release records the attempt either way."""
    require(actor, Action.DEPLOY, environment.site.client)
    try:
        reference = v.parse_image_reference((image or "").strip())
    except ValidationError as exc:
        raise ValidationError({"image": exc.messages}) from None
    _require_provisioned(environment)
    image = str(reference)
    release = Release(
        environment=environment,
        image=image,
        digest=reference.digest or "",
        created_by=actor,
        note=note[:255],
        status=Release.Status.PENDING,
    )
    release.full_clean()
    release.save()
    operation = _operation(
        kind="environment.deploy",
        environment=environment,
        actor=actor,
        params={
            "image": image,
            "release_id": release.pk,
            "rollback_on_failure": rollback_on_failure,
        },
        fingerprint_params={"image": image, "rollback_on_failure": rollback_on_failure},
        idempotency_key=idempotency_key,
    )
    if operation.pk and release.operation_id is None:
        if operation.params.get("release_id") == release.pk:
            Release.objects.filter(pk=release.pk).update(operation=operation)
        else:
            # An idempotent repeat: the earlier request already has its release.
            release.delete()
    return operation


@transaction.atomic
def environment_promote(
    *, actor: User, source: Environment, target: Environment, idempotency_key: str = ""
) -> Operation:
    """Deploy to `target` exactly what runs in `source` (by digest when known)."""
    if source.site_id != target.site_id or source.pk == target.pk:
        raise ValidationError({"source": "Promote from another environment of the same site."})
    require(actor, Action.VIEW, source.site.client)
    source.refresh_from_db(fields=["image"])
    if not source.image:
        raise ValidationError({"source": f"Nothing is deployed to {source.name} yet."})
    live = source.releases.filter(status=Release.Status.SUCCEEDED).order_by("-created_at").first()
    image = pinned(source.image, live.digest if live is not None else "")
    return environment_deploy(
        actor=actor,
        environment=target,
        image=image,
        idempotency_key=idempotency_key,
        note=f"Promoted from {source.name}",
    )


@transaction.atomic
def environment_rollback(
    *, actor: User, environment: Environment, release: Release, idempotency_key: str = ""
) -> Operation:
    if release.environment_id != environment.pk:
        raise ValidationError({"release": "That release belongs to another environment."})
    if release.status != Release.Status.SUCCEEDED:
        raise ValidationError({"release": "Only a release that went live can be rolled back to."})
    image = pinned(release.image, release.digest)
    return environment_deploy(
        actor=actor,
        environment=environment,
        image=image,
        idempotency_key=idempotency_key,
        note=f"Rollback to release #{release.pk}",
    )


@transaction.atomic
def environment_restart(
    *, actor: User, environment: Environment, idempotency_key: str = ""
) -> Operation:
    require(actor, Action.DEPLOY, environment.site.client)
    _require_provisioned(environment)
    if not environment.image:
        raise ValidationError({"environment": "Nothing runs here yet: deploy an image first."})
    return _operation(
        kind="environment.restart",
        environment=environment,
        actor=actor,
        idempotency_key=idempotency_key,
    )


def _validated_scale(environment: Environment, changes: dict[str, Any]) -> dict[str, Any]:
    candidate = Environment(
        **{f.attname: getattr(environment, f.attname) for f in Environment._meta.concrete_fields}
    )
    for name, value in changes.items():
        setattr(candidate, name, value)
    candidate.clean()  # field-keyed errors for replicas and autoscale bounds
    return changes


@transaction.atomic
def environment_scale(
    *, actor: User, environment: Environment, replicas: int, idempotency_key: str = ""
) -> Operation:
    require(actor, Action.SCALE, environment.site.client)
    _validated_scale(environment, {"replicas": replicas, "autoscale_enabled": False})
    _require_provisioned(environment)
    return _operation(
        kind="environment.scale",
        environment=environment,
        actor=actor,
        params={"replicas": replicas, "autoscale_enabled": False},
        idempotency_key=idempotency_key,
    )


@transaction.atomic
def environment_autoscale(
    *,
    actor: User,
    environment: Environment,
    enabled: bool,
    min_replicas: int | None = None,
    max_replicas: int | None = None,
    cpu_target: int | None = None,
    idempotency_key: str = "",
) -> Operation:
    require(actor, Action.SCALE, environment.site.client)
    changes: dict[str, Any] = {"autoscale_enabled": bool(enabled)}
    if min_replicas is not None:
        changes["autoscale_min"] = min_replicas
    if max_replicas is not None:
        changes["autoscale_max"] = max_replicas
    if cpu_target is not None:
        changes["autoscale_cpu_target"] = cpu_target
    _validated_scale(environment, changes)
    _require_provisioned(environment)
    return _operation(
        kind="environment.scale",
        environment=environment,
        actor=actor,
        params=changes,
        idempotency_key=idempotency_key,
    )


def config_changed(*, actor: User, environment: Environment) -> Operation | None:
    """Domains, variables or cron changed: count a new configuration version and, when the
    environment exists on its cluster, apply it. Call inside the changing transaction."""
    Environment.objects.filter(pk=environment.pk).update(config_version=F("config_version") + 1)
    environment.refresh_from_db(fields=["config_version", "status"])
    if environment.status not in PROVISIONED:
        return None
    return _operation(
        kind="environment.apply_config",
        environment=environment,
        actor=actor,
        params={"config_version": environment.config_version},
    )


@transaction.atomic
def environment_repair(
    *, actor: User, environment: Environment, idempotency_key: str = ""
) -> Operation:
    """Re-apply every object, changed or not, undoing drift found by reconcile."""
    require(actor, Action.DEPLOY, environment.site.client)
    _require_provisioned(environment)
    return _operation(
        kind="environment.apply_config",
        environment=environment,
        actor=actor,
        params={"config_version": environment.config_version, "repair": True},
        idempotency_key=idempotency_key,
    )


@transaction.atomic
def cron_run_now(*, actor: User, cron: CronSchedule, idempotency_key: str = "") -> Operation:
    environment = cron.environment
    require(actor, Action.MANAGE_CRON, environment.site.client)
    _require_provisioned(environment)
    job_name = f"cron-{cron.name}-manual-{uuid.uuid4().hex[:6]}"[:63]
    return _operation(
        kind="cron.run",
        environment=environment,
        actor=actor,
        params={"cron": cron.name, "job_name": job_name, "timeout": cron.timeout_seconds},
        idempotency_key=idempotency_key,
    )


@transaction.atomic
def environment_run_command(
    *,
    actor: User,
    environment: Environment,
    command: str,
    timeout: int = 3600,
    idempotency_key: str = "",
) -> Operation:
    require(actor, Action.RUN_COMMAND, environment.site.client)
    command = (command or "").strip()
    if not command:
        raise ValidationError({"command": "A command is required."})
    if len(command) > MAX_COMMAND_LENGTH or "\x00" in command:
        raise ValidationError(
            {"command": f"A command is at most {MAX_COMMAND_LENGTH} characters, without NUL."}
        )
    if not 60 <= int(timeout) <= 24 * 3600:
        raise ValidationError({"timeout": "Between 60 seconds and 24 hours."})
    _require_provisioned(environment)
    job_name = f"task-{uuid.uuid4().hex[:10]}"
    return _operation(
        kind="environment.command",
        environment=environment,
        actor=actor,
        params={"command": command, "job_name": job_name, "timeout": int(timeout)},
        idempotency_key=idempotency_key,
    )


@transaction.atomic
def environment_destroy(
    *, actor: User, environment: Environment, confirm: str, idempotency_key: str = ""
) -> Operation:
    """Delete the environment's namespace and everything in it, then the environment."""
    require(actor, Action.DESTROY_ENVIRONMENT, environment.site.client)
    if confirm != environment.namespace:
        raise ValidationError(
            {"confirm": f"Type the namespace name, {environment.namespace}, to confirm."}
        )
    Environment.objects.filter(pk=environment.pk).update(status=Environment.Status.DESTROYING)
    environment.status = Environment.Status.DESTROYING
    return _operation(
        kind="environment.destroy",
        environment=environment,
        actor=actor,
        idempotency_key=idempotency_key,
    )


@dataclass(frozen=True)
class FleetFilter:
    site_kind: str = ""
    client: Client | None = None
    cluster: Cluster | None = None
    environment_slug: str = ""


def fleet_environments(*, actor: User, where: FleetFilter) -> QuerySet[Environment]:
    queryset = Environment.objects.for_user(actor).filter(status__in=PROVISIONED)
    if where.site_kind:
        queryset = queryset.filter(site__kind=where.site_kind)
    if where.client is not None:
        queryset = queryset.filter(site__client=where.client)
    if where.cluster is not None:
        queryset = queryset.filter(cluster=where.cluster)
    if where.environment_slug:
        queryset = queryset.filter(slug=where.environment_slug)
    return queryset.select_related("site__client", "cluster").order_by("pk")


@transaction.atomic
def fleet_deploy(*, actor: User, image: str, where: FleetFilter) -> tuple[str, list[Operation]]:
    """One image to every matching environment (the base-image security update): one
    operation each, which the per-cluster limit keeps from flooding an API server.
    Returns the batch id that `fleet_progress` reports on."""
    require(actor, Action.MANAGE_CLUSTERS)
    try:
        v.validate_image_reference(image)
    except ValidationError as exc:
        raise ValidationError({"image": exc.messages}) from None
    batch = uuid.uuid4().hex[:12]
    operations = []
    for environment in fleet_environments(actor=actor, where=where):
        operation = environment_deploy(
            actor=actor, environment=environment, image=image, note=f"Fleet deploy {batch}"
        )
        Operation.objects.filter(pk=operation.pk).update(batch=batch)
        operations.append(operation)
    if not operations:
        raise ValidationError({"filter": "No provisioned environment matches."})
    return batch, operations


def fleet_progress(batch: str) -> dict[str, Any]:
    """Aggregate progress of a fleet deploy: counts by status and overall fraction done."""
    operations = list(
        Operation.objects.filter(batch=batch).only("status", "steps_done", "steps_total")
    )
    counts = {status: 0 for status in Operation.Status.values}
    for operation in operations:
        counts[operation.status] += 1
    total = len(operations)
    done = sum(1.0 if op.is_finished else op.progress for op in operations)
    return {"total": total, "counts": counts, "progress": done / total if total else 1.0}
