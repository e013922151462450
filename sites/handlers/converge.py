"""Making a namespace match an environment: apply what is desired, prune what no longer
is, wait for the rollout. Shared by every handler that changes what runs."""

from __future__ import annotations

import copy
from typing import Any

from django.conf import settings

from clusters.engine import OperationContext, OperationFailed
from clusters.kube.errors import KubeError
from sites.desired import DesiredState, desired_state
from sites.manifests import MANAGED_BY
from sites.models import Environment

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


def prune(
    ctx: OperationContext, environment: Environment, desired: DesiredState, *, look: bool = False
) -> list[str]:
    """Delete what an earlier apply created and the environment no longer has (a removed
    domain list's Ingress, a deleted cron schedule, the HPA after autoscaling is off).

    The candidates are what the applied-object record says Hangar wrote here; with `look`
    (a repair) the namespace is also listed, kind by kind, for objects carrying Hangar's
    label that the record lost."""
    namespace = environment.namespace
    wanted = desired.keys()
    candidates = set(ctx.kube.applied(namespace))
    if look:
        for api_version, kind in sorted(desired.kinds):
            for live in ctx.kube.list(api_version, kind, namespace, label_selector=MANAGED_BY):
                candidates.add((api_version, kind, live["metadata"]["name"]))
    removed = []
    for api_version, kind, name in sorted(candidates):
        if (api_version, kind) in desired.kinds and (api_version, kind, name) not in wanted:
            ctx.kube.delete(api_version, kind, name, namespace)
            removed.append(f"{kind} {name}")
    return removed


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
    `force_write` applies even objects unchanged since the last apply, and looks for
    strays in the namespace (drift repair)."""
    desired = desired_state(environment)
    written, skipped = ctx.kube.apply_all(desired.objects, force_write=force_write)
    removed = prune(ctx, environment, desired, look=force_write) if environment.image else []
    detail = f"{written} written, {skipped} unchanged" + (
        f", removed {', '.join(removed)}" if removed else ""
    )
    ctx.step(f"Applied {len(desired.objects)} objects to {environment.namespace} ({detail}).")
    if wait and environment.image:
        wait_for_rollout(ctx, environment)
        ctx.step("Rollout complete: every pod runs the new configuration.")
