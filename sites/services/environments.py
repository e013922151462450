"""What people do to environments that changes what runs on a cluster: provision, deploy,
promote, roll back, restart, scale, repair, run a command or a cron schedule now, destroy.

Each checks permission and validates its input (field-keyed errors; no operation is created
on error), then records an Operation in one transaction (sites.services.operations). The
engine carries it out; the service returns the Operation for the caller to show or poll.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from clusters.models import Operation
from controlpanel.core.models import User
from controlpanel.core.permissions import Action, require
from sites import validators as v
from sites.manifests.cron import cronjob_name
from sites.manifests.workload import max_web_pods
from sites.models import CronSchedule, Environment, Release, SiteKind
from sites.services.capacity import environment_capacity_check
from sites.services.operations import environment_operation, require_provisioned

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


def pinned(image: str, digest: str) -> str:
    """The reference with its digest, so the very same image runs again (tags move)."""
    reference = v.parse_image_reference(image)
    if reference.digest or not digest:
        return str(reference)
    tag = f":{reference.tag}" if reference.tag else ""
    return f"{reference.name}{tag}@{digest}"


@transaction.atomic
def environment_provision(
    *, actor: User, environment: Environment, idempotency_key: str = ""
) -> Operation:
    require(actor, Action.MANAGE_SITES, environment.site.client)
    if environment.status == Environment.Status.DESTROYING:
        raise ValidationError({"environment": "This environment is being destroyed."})
    before = environment.status
    Environment.objects.filter(pk=environment.pk).update(status=Environment.Status.PROVISIONING)
    environment.status = Environment.Status.PROVISIONING
    operation, created = environment_operation(
        kind="environment.provision",
        environment=environment,
        actor=actor,
        params={"config_version": environment.config_version, "status_before": before},
        fingerprint_params={"config_version": environment.config_version},
        idempotency_key=idempotency_key,
        steps_total=3,
    )
    if created and environment.image:
        # What it is provisioned with is its first release, one it can be rolled back to.
        reference = v.parse_image_reference(environment.image)
        Release.objects.create(
            environment=environment,
            image=environment.image,
            digest=reference.digest or "",
            created_by=actor,
            note="Provisioned",
            status=Release.Status.PENDING,
            operation=operation,
        )
    return operation


@transaction.atomic
def environment_deploy(
    *,
    actor: User,
    environment: Environment,
    image: str,
    idempotency_key: str = "",
    note: str = "",
    rollback_on_failure: bool = True,
    label: str = "Deploy",
) -> Operation:
    """Deploy an image reference. The environment keeps showing its current image until the
    rollout succeeds; the Release records the attempt either way."""
    require(actor, Action.DEPLOY, environment.site.client)
    try:
        reference = v.parse_image_reference((image or "").strip())
    except ValidationError as exc:
        raise ValidationError({"image": exc.messages}) from None
    require_provisioned(environment)
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
    operation, created = environment_operation(
        kind="environment.deploy",
        environment=environment,
        actor=actor,
        params={
            "image": image,
            "release_id": release.pk,
            "rollback_on_failure": rollback_on_failure,
            # What people read the operation as: a deploy, a promote or a rollback.
            "label": label,
        },
        fingerprint_params={"image": image, "rollback_on_failure": rollback_on_failure},
        idempotency_key=idempotency_key,
    )
    if created:
        Release.objects.filter(pk=release.pk).update(operation=operation)
    else:
        release.delete()  # an idempotent repeat: the earlier request has its release
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
        label=f"Promote from {source.name}",
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
        label=f"Roll back to release #{release.pk}",
    )


@transaction.atomic
def environment_restart(
    *, actor: User, environment: Environment, idempotency_key: str = ""
) -> Operation:
    require(actor, Action.DEPLOY, environment.site.client)
    require_provisioned(environment)
    if not environment.image:
        raise ValidationError({"environment": "Nothing runs here yet: deploy an image first."})
    operation, _ = environment_operation(
        kind="environment.restart",
        environment=environment,
        actor=actor,
        idempotency_key=idempotency_key,
    )
    return operation


def environment_scale_check(environment: Environment, changes: dict[str, Any]) -> list[str]:
    """Field-keyed errors unless `changes` (replicas, autoscale bounds) are valid for the
    environment and its pods fit its nodes; changes nothing. Returns the capacity warnings
    (more pods than the pool holds). Forms call it to show errors before any confirmation."""
    candidate = Environment(
        **{f.attname: getattr(environment, f.attname) for f in Environment._meta.concrete_fields}
    )
    for name, value in changes.items():
        setattr(candidate, name, value)
    candidate.clean()
    return environment_capacity_check(candidate, pods=max_web_pods(candidate))


@transaction.atomic
def environment_scale(
    *, actor: User, environment: Environment, replicas: int, idempotency_key: str = ""
) -> Operation:
    require(actor, Action.SCALE, environment.site.client)
    environment_scale_check(environment, {"replicas": replicas, "autoscale_enabled": False})
    require_provisioned(environment)
    operation, _ = environment_operation(
        kind="environment.scale",
        environment=environment,
        actor=actor,
        params={"replicas": replicas, "autoscale_enabled": False},
        idempotency_key=idempotency_key,
    )
    return operation


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
    environment_scale_check(environment, changes)
    require_provisioned(environment)
    operation, _ = environment_operation(
        kind="environment.scale",
        environment=environment,
        actor=actor,
        params=changes,
        idempotency_key=idempotency_key,
    )
    return operation


@transaction.atomic
def environment_repair(
    *, actor: User, environment: Environment, idempotency_key: str = ""
) -> Operation:
    """Re-apply every object, changed or not, undoing drift found by reconcile."""
    require(actor, Action.DEPLOY, environment.site.client)
    require_provisioned(environment)
    operation, _ = environment_operation(
        kind="environment.apply_config",
        environment=environment,
        actor=actor,
        params={"config_version": environment.config_version, "repair": True},
        idempotency_key=idempotency_key,
    )
    return operation


@transaction.atomic
def cron_run_now(*, actor: User, cron: CronSchedule, idempotency_key: str = "") -> Operation:
    environment = cron.environment
    require(actor, Action.MANAGE_CRON, environment.site.client)
    require_provisioned(environment)
    job_name = v.job_name(f"{cronjob_name(cron)}-manual", uuid.uuid4().hex[:6])
    operation, _ = environment_operation(
        kind="cron.run",
        environment=environment,
        actor=actor,
        params={"cron": cron.name, "job_name": job_name, "timeout": cron.timeout_seconds},
        idempotency_key=idempotency_key,
    )
    return operation


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
    errors: dict[str, ValidationError] = {}
    try:
        command = v.validate_command(command)
    except ValidationError as exc:
        errors["command"] = exc
    try:
        timeout = v.validate_timeout(timeout)
    except ValidationError as exc:
        errors["timeout"] = exc
    if errors:
        raise ValidationError(errors)
    require_provisioned(environment)
    job_name = f"task-{uuid.uuid4().hex[:10]}"
    operation, _ = environment_operation(
        kind="environment.command",
        environment=environment,
        actor=actor,
        params={"command": command, "job_name": job_name, "timeout": int(timeout)},
        idempotency_key=idempotency_key,
    )
    return operation


@transaction.atomic
def environment_destroy(
    *,
    actor: User,
    environment: Environment,
    confirm: str,
    idempotency_key: str = "",
    final_backup: bool = True,
) -> Operation:
    """Delete the environment's namespace and everything in it, then the environment; a
    verified final backup first unless `final_backup` is off (a preview holds a copy)."""
    require(actor, Action.DESTROY_ENVIRONMENT, environment.site.client)
    if confirm != environment.namespace:
        raise ValidationError(
            {"confirm": f"Type the namespace name, {environment.namespace}, to confirm."}
        )
    return _destroy(environment, actor, final_backup=final_backup, idempotency_key=idempotency_key)


@transaction.atomic
def environment_destroy_expired(*, environment: Environment) -> Operation:
    """Hangar itself destroys a preview whose time to live passed (sites.previews), with
    no final backup; nobody asked, so there is no actor."""
    if not environment.is_preview:
        raise ValueError(f"{environment} is not a preview; only previews expire.")
    return _destroy(environment, None, final_backup=False)


def _destroy(
    environment: Environment,
    actor: User | None,
    *,
    final_backup: bool,
    idempotency_key: str = "",
) -> Operation:
    # A second destroy behind the first has nothing else to put back when cancelled.
    before = "" if environment.status == Environment.Status.DESTROYING else environment.status
    Environment.objects.filter(pk=environment.pk).update(status=Environment.Status.DESTROYING)
    environment.status = Environment.Status.DESTROYING
    operation, _ = environment_operation(
        kind="environment.destroy",
        environment=environment,
        actor=actor,
        # Cancelling the destroy puts this status back.
        params={"status_before": before, **({} if final_backup else {"final_backup": False})},
        fingerprint_params={},
        idempotency_key=idempotency_key,
    )
    return operation
