"""What provisioning, deploying, scaling, applying configuration, restarting and
destroying an environment do on its cluster.

Each handler reads the environment fresh, converges the namespace (sites.handlers.converge),
waits for the outcome it needs, and only then records the new state in the database: a
failed operation never leaves the database claiming what the cluster does not have.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from clusters.engine import OperationContext, OperationFailed, register
from clusters.models import Operation
from controlpanel.core.permissions import Action
from sites.backups import hooks as data_hooks
from sites.handlers.autoscaling import autoscaled_count, hand_replicas_to_autoscaler
from sites.handlers.converge import (
    OVERRIDABLE,
    NothingApplied,
    converge,
    desired_or_fail,
    load_environment,
    wait_for_rollout,
    with_overrides,
)
from sites.manifests import render_foundation
from sites.models import Environment, Release
from sites.namespaces import require_owned
from sites.services.digests import live_release, release_record_digests, web_pod_digests


def _mark_failed(operation: Operation) -> None:
    Environment.objects.filter(
        pk=operation.target_id, status=Environment.Status.PROVISIONING
    ).update(status=Environment.Status.FAILED)
    _release_ends(operation, Release.Status.FAILED)


def _put_back(marked: str) -> Callable[[Operation], None]:
    """On cancel: the environment's status goes back to what it was before the service
    marked it `marked` (recorded in the operation's params), unless something else
    changed it since."""

    def hook(operation: Operation) -> None:
        before = operation.params.get("status_before")
        if before:
            Environment.objects.filter(pk=operation.target_id, status=marked).update(status=before)
        _release_ends(operation, Release.Status.CANCELLED)

    return hook


def _release_ends(operation: Operation, status: str) -> None:
    """The release an operation was making ends as the operation did: every release ends
    in a final state."""
    Release.objects.filter(operation=operation, status=Release.Status.PENDING).update(status=status)


@register(
    "environment.provision",
    on_failure=_mark_failed,
    on_cancel=_put_back(Environment.Status.PROVISIONING),
    permission=Action.MANAGE_SITES,
    label="Provision",
)
def provision(ctx: OperationContext) -> dict:
    environment = load_environment(ctx.operation.target_id)
    ctx.plan(3 if environment.image else 2)
    require_owned(ctx.kube, environment)
    ctx.kube.apply(render_foundation(environment)[0])
    ctx.step(f"Namespace {environment.namespace} exists.")
    data_hooks.provision_data(ctx, environment)
    converge(ctx, environment)
    with transaction.atomic():
        Environment.objects.filter(pk=environment.pk).update(
            applied_config_version=ctx.params.get("config_version", environment.config_version)
        )
        # Only a provisioning becomes active: a destroy queued meanwhile keeps its status.
        Environment.objects.filter(
            pk=environment.pk, status=Environment.Status.PROVISIONING
        ).update(status=Environment.Status.ACTIVE)
        _release_ends(ctx.operation, Release.Status.SUCCEEDED)
    return {"namespace": environment.namespace}


def _deploy_failed(operation: Operation) -> None:
    _release_ends(operation, Release.Status.FAILED)


def _deploy_cancelled(operation: Operation) -> None:
    _release_ends(operation, Release.Status.CANCELLED)


@register(
    "environment.deploy",
    on_failure=_deploy_failed,
    on_cancel=_deploy_cancelled,
    abortable=True,
    label="Deploy",
)
def deploy(ctx: OperationContext) -> dict:
    environment = load_environment(ctx.operation.target_id)
    image = ctx.params["image"]
    previous = environment.image
    data_hooks.pre_deploy_backup(ctx, environment)
    ctx.plan(2)
    future = with_overrides(environment, {"image": image})
    try:
        digests = converge(ctx, future)
    except NothingApplied:
        raise
    except OperationFailed:
        if previous and previous != image and ctx.params.get("rollback_on_failure", True):
            ctx.log(f"Rolling back to {previous}.", "warning")
            ctx.kube.apply_all(desired_or_fail(environment).objects)
            ctx.log(f"Rolled back: the environment runs {previous} again.", "warning")
        raise
    with transaction.atomic():
        Environment.objects.filter(pk=environment.pk).update(image=image)
        # A deploy that works repairs a failed environment; it never undoes a destroy
        # queued meanwhile (the status follows the operations that really ran).
        Environment.objects.filter(pk=environment.pk, status=Environment.Status.FAILED).update(
            status=Environment.Status.ACTIVE
        )
        release = Release.objects.filter(pk=ctx.params.get("release_id")).first()
        if release is not None:
            Release.objects.filter(pk=release.pk).update(status=Release.Status.SUCCEEDED)
            release_record_digests(release, digests, pin=True)
    digest = release.digest if release is not None else ""
    if digest:
        ctx.log(f"The pods run {digest}: promotions and rollbacks of this release deploy it.")
    return {"image": image, "previous_image": previous, "digest": digest}


@register("environment.scale", label="Scale")
def scale(ctx: OperationContext) -> dict:
    environment = load_environment(ctx.operation.target_id)
    changes = {k: v for k, v in ctx.params.items() if k in OVERRIDABLE}
    ctx.plan(2 if environment.image else 1)
    future = with_overrides(environment, changes)
    if environment.image and future.autoscale_enabled and not environment.autoscale_enabled:
        hand_replicas_to_autoscaler(ctx, future)
    elif (
        environment.autoscale_enabled and not future.autoscale_enabled and "replicas" not in changes
    ):
        # Off without a count of its own: keep what the autoscaler runs now.
        count = autoscaled_count(ctx, environment)
        if count is not None:
            changes["replicas"] = future.replicas = count
    digests = converge(ctx, future)
    Environment.objects.filter(pk=environment.pk).update(**changes)
    release_record_digests(live_release(environment), digests, pin=False)
    return changes


@register("environment.apply_config", label="Apply configuration")
def apply_config(ctx: OperationContext) -> dict:
    environment = load_environment(ctx.operation.target_id)
    ctx.plan(2 if environment.image else 1)
    digests = converge(ctx, environment, force_write=bool(ctx.params.get("repair")))
    release_record_digests(live_release(environment), digests, pin=False)
    version = ctx.params.get("config_version", environment.config_version)
    Environment.objects.filter(pk=environment.pk, applied_config_version__lt=version).update(
        applied_config_version=version
    )
    if ctx.params.get("repair"):
        Environment.objects.filter(pk=environment.pk).update(drift_report=[])
    return {"config_version": version}


@register("environment.restart", label="Restart")
def restart(ctx: OperationContext) -> dict:
    environment = load_environment(ctx.operation.target_id)
    if not environment.image:
        raise OperationFailed("Nothing runs in this environment yet: deploy an image first.")
    ctx.plan(2)
    stamp = timezone.now().isoformat()
    # A field manager of its own, so the next apply by "hangar" leaves the stamp alone.
    ctx.kube.merge_patch(
        "apps/v1",
        "Deployment",
        "web",
        {
            "spec": {
                "template": {
                    "metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": stamp}}
                }
            }
        },
        namespace=environment.namespace,
        field_manager="hangar-restart",
    )
    ctx.step("Asked for new pods.")
    wait_for_rollout(ctx, environment)
    # New pods pull the tag again: record what they run, a moved tag shows here.
    release_record_digests(
        live_release(environment), web_pod_digests(ctx.kube, environment), pin=False
    )
    ctx.step("Every pod was replaced.")
    return {"restarted_at": stamp}


def _destroy_failed(operation: Operation) -> None:
    Environment.objects.filter(pk=operation.target_id, status=Environment.Status.DESTROYING).update(
        status=Environment.Status.FAILED
    )


@register(
    "environment.destroy",
    on_failure=_destroy_failed,
    on_cancel=_put_back(Environment.Status.DESTROYING),
    permission=Action.DESTROY_ENVIRONMENT,
    label="Destroy",
)
def destroy(ctx: OperationContext) -> dict:
    environment = load_environment(ctx.operation.target_id)
    ctx.plan(2)
    namespace = environment.namespace
    # Before the final backup too: its Job would run in someone else's namespace.
    exists = require_owned(ctx.kube, environment)
    if ctx.params.get("final_backup", True):
        data_hooks.final_backup(ctx, environment)
    deleted = exists and ctx.kube.delete("v1", "Namespace", namespace)
    ctx.step(f"Deleting namespace {namespace}." if deleted else f"Namespace {namespace} was gone.")
    ctx.kube.wait_namespace_deleted(namespace, timeout=600, poll=settings.HANGAR_POLL_SECONDS)
    ctx.step(f"Namespace {namespace} and everything in it are deleted.")
    data_hooks.drop_data(ctx, environment)
    environment.delete()
    return {"namespace": namespace}
