"""What provisioning, deploying, scaling, applying configuration, restarting and
destroying an environment do on its cluster.

Each handler reads the environment fresh, converges the namespace (sites.handlers.converge),
waits for the outcome it needs, and only then records the new state in the database: a
failed operation never leaves the database claiming what the cluster does not have.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from clusters.engine import OperationContext, OperationFailed, register
from clusters.models import Operation
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


def _mark_failed(operation: Operation) -> None:
    Environment.objects.filter(
        pk=operation.target_id, status=Environment.Status.PROVISIONING
    ).update(status=Environment.Status.FAILED)


@register("environment.provision", on_failure=_mark_failed)
def provision(ctx: OperationContext) -> dict:
    environment = load_environment(ctx.operation.target_id)
    ctx.plan(3 if environment.image else 2)
    ctx.kube.apply(render_foundation(environment)[0])
    ctx.step(f"Namespace {environment.namespace} exists.")
    data_hooks.provision_data(ctx, environment)
    converge(ctx, environment)
    Environment.objects.filter(pk=environment.pk).update(
        status=Environment.Status.ACTIVE,
        applied_config_version=ctx.params.get("config_version", environment.config_version),
    )
    return {"namespace": environment.namespace}


def _deploy_failed(operation: Operation) -> None:
    Release.objects.filter(operation=operation, status=Release.Status.PENDING).update(
        status=Release.Status.FAILED
    )


@register("environment.deploy", on_failure=_deploy_failed)
def deploy(ctx: OperationContext) -> dict:
    environment = load_environment(ctx.operation.target_id)
    image = ctx.params["image"]
    previous = environment.image
    data_hooks.pre_deploy_backup(ctx, environment)
    ctx.plan(2)
    future = with_overrides(environment, {"image": image})
    try:
        converge(ctx, future)
    except NothingApplied:
        raise
    except OperationFailed:
        if previous and previous != image and ctx.params.get("rollback_on_failure", True):
            ctx.log(f"Rolling back to {previous}.", "warning")
            ctx.kube.apply_all(desired_or_fail(environment).objects)
            ctx.log(f"Rolled back: the environment runs {previous} again.", "warning")
        raise
    with transaction.atomic():
        Environment.objects.filter(pk=environment.pk).update(
            image=image, status=Environment.Status.ACTIVE
        )
        Release.objects.filter(pk=ctx.params.get("release_id")).update(
            status=Release.Status.SUCCEEDED
        )
    return {"image": image, "previous_image": previous}


@register("environment.scale")
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
    converge(ctx, future)
    Environment.objects.filter(pk=environment.pk).update(**changes)
    return changes


@register("environment.apply_config")
def apply_config(ctx: OperationContext) -> dict:
    environment = load_environment(ctx.operation.target_id)
    ctx.plan(2 if environment.image else 1)
    converge(ctx, environment, force_write=bool(ctx.params.get("repair")))
    version = ctx.params.get("config_version", environment.config_version)
    Environment.objects.filter(pk=environment.pk, applied_config_version__lt=version).update(
        applied_config_version=version
    )
    if ctx.params.get("repair"):
        Environment.objects.filter(pk=environment.pk).update(drift_report=[])
    return {"config_version": version}


@register("environment.restart")
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
    ctx.step("Every pod was replaced.")
    return {"restarted_at": stamp}


def _destroy_failed(operation: Operation) -> None:
    Environment.objects.filter(pk=operation.target_id, status=Environment.Status.DESTROYING).update(
        status=Environment.Status.FAILED
    )


@register("environment.destroy", on_failure=_destroy_failed)
def destroy(ctx: OperationContext) -> dict:
    environment = load_environment(ctx.operation.target_id)
    ctx.plan(2)
    namespace = environment.namespace
    if ctx.params.get("final_backup", True):
        data_hooks.final_backup(ctx, environment)
    deleted = ctx.kube.delete("v1", "Namespace", namespace)
    ctx.step(f"Deleting namespace {namespace}." if deleted else f"Namespace {namespace} was gone.")
    ctx.kube.wait_namespace_deleted(namespace, timeout=600, poll=settings.HANGAR_POLL_SECONDS)
    ctx.step(f"Namespace {namespace} and everything in it are deleted.")
    data_hooks.drop_data(ctx, environment)
    environment.delete()
    return {"namespace": namespace}
