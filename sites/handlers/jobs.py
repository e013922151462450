"""Operations that run a Job in an environment's namespace with the site's own image: a
cron schedule run now, a one-off command."""

from __future__ import annotations

from django.conf import settings

from clusters.engine import OperationContext, OperationFailed, register
from clusters.engine.context import OperationAborted
from clusters.kube.status import JobStatus
from clusters.models import Operation
from controlpanel.core.events import publish
from controlpanel.core.permissions import Action
from sites.handlers.converge import load_environment
from sites.manifests.jobs import render_command_job
from sites.models import Environment
from sites.services.cron_runs import cron_failure_data

JOB_LOG_LINES = 500


def job_outcome(
    ctx: OperationContext, environment: Environment, job_name: str, *, timeout: float
) -> tuple[JobStatus, str]:
    """Wait for the Job to finish; its status and the last lines of its pod's log.

    Asked to stop meanwhile (OperationAborted, raised by the progress update), the Job
    is deleted with its pods, so nothing keeps running that nobody waits for."""

    shown = {"output": ""}

    def running(status: JobStatus) -> None:
        ctx.progress(f"Job {job_name}: {status.message}")
        # The output so far, for the operation page to show as it comes (only a read
        # whose text changed is written).
        if status.active:
            output = ctx.kube.job_log(environment.namespace, job_name, tail_lines=JOB_LOG_LINES)
            if output != shown["output"] and not output.startswith("log unavailable"):
                shown["output"] = output
                _keep_output(ctx, {"job": job_name, "output": output})

    try:
        status = ctx.kube.wait_job(
            environment.namespace,
            job_name,
            timeout=timeout,
            poll=settings.HANGAR_POLL_SECONDS,
            on_progress=running,
        )
    except OperationAborted:
        output = ctx.kube.job_log(environment.namespace, job_name, tail_lines=JOB_LOG_LINES)
        ctx.kube.delete("batch/v1", "Job", job_name, environment.namespace)
        ctx.log(f"Deleted job {job_name} and its pods.", "warning")
        _keep_output(ctx, {"job": job_name, "succeeded": False, "output": output})
        raise
    # The Job's status is the outcome; its log is only what it printed.
    output = ctx.kube.job_log(environment.namespace, job_name, tail_lines=JOB_LOG_LINES)
    return status, output


def _keep_output(ctx: OperationContext, result: dict) -> None:
    """What a Job printed stays on an operation that did not succeed."""
    ctx.operation.result = result
    Operation.objects.filter(pk=ctx.operation.pk).update(result=result)


def _run_job(ctx: OperationContext, environment: Environment, job_name: str) -> dict:
    status, output = job_outcome(
        ctx, environment, job_name, timeout=ctx.params.get("timeout", 3600) + 60
    )
    ctx.step(status.message)
    result = {"job": job_name, "succeeded": status.ok, "output": output}
    if not status.ok:
        _keep_output(ctx, result)
        raise OperationFailed(f"{status.message}. Output:\n{output[-2000:]}")
    return result


def _cron_run_failed(operation: Operation) -> None:
    """A run started by "Run now" that failed is announced as a scheduled one is."""
    environment = Environment.objects.select_related("site__client").get(pk=operation.target_id)
    cron = environment.cron_schedules.filter(name=operation.params.get("cron")).first()
    if cron is None:
        return
    publish(
        client=environment.site.client,
        event="cron.failed",
        data=cron_failure_data(
            environment,
            cron,
            operation.params.get("job_name", ""),
            operation.error.split("\n", 1)[0],
            (operation.result or {}).get("output", ""),
        ),
    )


@register(
    "cron.run",
    on_failure=_cron_run_failed,
    permission=Action.MANAGE_CRON,
    abortable=True,
    label="Run cron now",
)
def cron_run(ctx: OperationContext) -> dict:
    environment = load_environment(ctx.operation.target_id)
    ctx.plan(2)
    name = f"cron-{ctx.params['cron']}"
    job_name = ctx.params["job_name"]
    if ctx.kube.get_or_none("batch/v1", "Job", job_name, environment.namespace) is None:
        ctx.kube.create_job_from_cronjob(environment.namespace, name, job_name)
    ctx.step(f"Started job {job_name} from {name}.")
    return _run_job(ctx, environment, job_name)


@register("environment.command", permission=Action.RUN_COMMAND, abortable=True, label="Run command")
def run_command(ctx: OperationContext) -> dict:
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
