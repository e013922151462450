"""Handlers: what each kind of environment operation does on the cluster.

Registered with the engine when the app loads. Each handler reads the environment fresh,
renders its objects, applies them (unchanged objects are skipped), waits for the outcome
it needs, and only then records the new state in the database: a failed operation never
leaves the database claiming what the cluster does not have.
"""

from __future__ import annotations

import copy
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from clusters.engine import OperationContext, OperationFailed, register
from clusters.kube.errors import KubeError
from clusters.models import Operation
from sites.backups import hooks as data_hooks
from sites.backups.data import environment_desired_objects
from sites.manifests import render_foundation
from sites.models import Environment, Release

NAMESPACE_LABEL = "app.kubernetes.io/managed-by=hangar"
OVERRIDABLE = frozenset(
    {
        "image",
        "replicas",
        "autoscale_enabled",
        "autoscale_min",
        "autoscale_max",
        "autoscale_cpu_target",
    }
)
JOB_LOG_LINES = 500


def load_environment(pk: int) -> Environment:
    return (
        Environment.objects.select_related("site__client", "cluster", "node_pool")
        .prefetch_related("domains", "env_vars", "cron_schedules")
        .get(pk=pk)
    )


def with_overrides(environment: Environment, overrides: dict[str, Any]) -> Environment:
    """The environment as it will be once this operation succeeds (not saved)."""
    future = copy.copy(environment)
    for name, value in overrides.items():
        if name in OVERRIDABLE:
            setattr(future, name, value)
    return future


def _desired_names(objects: list[dict]) -> set[tuple[str, str]]:
    return {(obj["kind"], obj["metadata"]["name"]) for obj in objects}


def prune(ctx: OperationContext, environment: Environment, objects: list[dict]) -> list[str]:
    """Delete what an earlier apply created and the environment no longer has (a removed
    domain list's Ingress, a deleted cron schedule, the HPA after autoscaling is off)."""
    desired = _desired_names(objects)
    namespace = environment.namespace
    removed = []
    candidates: list[tuple[str, str, str | None]] = [
        ("networking.k8s.io/v1", "Ingress", "web"),
        ("autoscaling/v2", "HorizontalPodAutoscaler", "web"),
        ("policy/v1", "PodDisruptionBudget", "web"),
        ("v1", "ConfigMap", "varnish-vcl"),
        ("batch/v1", "CronJob", "backup"),
    ]
    for api_version, kind, name in candidates:
        if (kind, name) not in desired and ctx.kube.get_or_none(api_version, kind, name, namespace):
            ctx.kube.delete(api_version, kind, name, namespace)
            removed.append(f"{kind} {name}")
    for cronjob in ctx.kube.list(
        "batch/v1", "CronJob", namespace, label_selector="hangar.dev/cron," + NAMESPACE_LABEL
    ):
        name = cronjob["metadata"]["name"]
        if ("CronJob", name) not in desired:
            ctx.kube.delete("batch/v1", "CronJob", name, namespace)
            removed.append(f"CronJob {name}")
    return removed


def apply_objects(
    ctx: OperationContext, objects: list[dict], *, force_write: bool = False
) -> tuple[int, int]:
    written = skipped = 0
    for obj in objects:
        if ctx.kube.apply(obj, force_write=force_write) is None:
            skipped += 1
        else:
            written += 1
    return written, skipped


def wait_for_rollout(ctx: OperationContext, environment: Environment) -> None:
    def report(status: Any) -> None:
        ctx.progress(f"Rollout: {status.message}")

    try:
        ctx.kube.wait_rollout(
            environment.namespace,
            "web",
            timeout=settings.HANGAR_ROLLOUT_TIMEOUT,
            poll=settings.HANGAR_POLL_SECONDS,
            on_progress=report,
        )
    except KubeError as exc:
        if exc.retryable and exc.status:
            raise
        raise OperationFailed(f"The new pods did not become ready: {exc.message}") from exc


def converge(
    ctx: OperationContext,
    environment: Environment,
    *,
    wait: bool = True,
    force_write: bool = False,
) -> None:
    """Make the cluster match `environment`: apply, prune, wait for the rollout.
    `force_write` applies even objects unchanged since the last apply (drift repair)."""
    objects = environment_desired_objects(environment)
    written, skipped = apply_objects(ctx, objects, force_write=force_write)
    removed = prune(ctx, environment, objects) if environment.image else []
    detail = f"{written} written, {skipped} unchanged" + (
        f", removed {', '.join(removed)}" if removed else ""
    )
    ctx.step(f"Applied {len(objects)} objects to {environment.namespace} ({detail}).")
    if wait and environment.image:
        wait_for_rollout(ctx, environment)
        ctx.step("Rollout complete: every pod runs the new configuration.")


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
    except OperationFailed:
        if previous and previous != image and ctx.params.get("rollback_on_failure", True):
            ctx.log(f"Rolling back to {previous}.", "warning")
            apply_objects(ctx, environment_desired_objects(environment))
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
    converge(ctx, with_overrides(environment, changes))
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


def _run_job(ctx: OperationContext, environment: Environment, job_name: str) -> dict:
    status = ctx.kube.wait_job(
        environment.namespace,
        job_name,
        timeout=ctx.params.get("timeout", 3600) + 60,
        poll=settings.HANGAR_POLL_SECONDS,
    )
    pods = ctx.kube.list("v1", "Pod", environment.namespace, label_selector={"job-name": job_name})
    output = ""
    if pods:
        output = ctx.kube.pod_logs(
            environment.namespace, pods[-1]["metadata"]["name"], tail_lines=JOB_LOG_LINES
        )
    ctx.step(status.message)
    result = {"job": job_name, "succeeded": status.ok, "output": output}
    if not status.ok:
        ctx.operation.result = result
        Operation.objects.filter(pk=ctx.operation.pk).update(result=result)
        raise OperationFailed(f"{status.message}. Output:\n{output[-2000:]}")
    return result


@register("cron.run")
def cron_run(ctx: OperationContext) -> dict:
    environment = load_environment(ctx.operation.target_id)
    ctx.plan(2)
    name = f"cron-{ctx.params['cron']}"
    job_name = ctx.params["job_name"]
    if ctx.kube.get_or_none("batch/v1", "Job", job_name, environment.namespace) is None:
        ctx.kube.create_job_from_cronjob(environment.namespace, name, job_name)
    ctx.step(f"Started job {job_name} from {name}.")
    return _run_job(ctx, environment, job_name)


@register("environment.command")
def run_command(ctx: OperationContext) -> dict:
    from sites.manifests.jobs import render_command_job

    environment = load_environment(ctx.operation.target_id)
    if not environment.image:
        raise OperationFailed("Nothing runs in this environment yet: deploy an image first.")
    ctx.plan(2)
    job = render_command_job(
        environment,
        name=ctx.params["job_name"],
        command=ctx.params["command"],
        timeout_seconds=ctx.params.get("timeout", 3600),
    )
    if (
        ctx.kube.get_or_none("batch/v1", "Job", job["metadata"]["name"], environment.namespace)
        is None
    ):
        ctx.kube.create(job)
    ctx.step(f"Started job {job['metadata']['name']}: {ctx.params['command']}")
    return _run_job(ctx, environment, job["metadata"]["name"])


def _destroy_failed(operation: Operation) -> None:
    Environment.objects.filter(pk=operation.target_id, status=Environment.Status.DESTROYING).update(
        status=Environment.Status.FAILED
    )


@register("environment.destroy", on_failure=_destroy_failed)
def destroy(ctx: OperationContext) -> dict:
    environment = load_environment(ctx.operation.target_id)
    ctx.plan(2)
    namespace = environment.namespace
    data_hooks.final_backup(ctx, environment)
    deleted = ctx.kube.delete("v1", "Namespace", namespace)
    ctx.step(f"Deleting namespace {namespace}." if deleted else f"Namespace {namespace} was gone.")
    ctx.kube.wait_namespace_deleted(namespace, timeout=600, poll=settings.HANGAR_POLL_SECONDS)
    ctx.step(f"Namespace {namespace} and everything in it are deleted.")
    data_hooks.drop_data(ctx, environment)
    environment.delete()
    return {"namespace": namespace}
