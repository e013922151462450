"""Making a namespace match an environment: apply what is desired, prune what no longer
is, wait for the rollout. Shared by every handler that changes what runs."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError

from clusters.engine import OperationContext, OperationFailed
from clusters.kube.client import path_key
from clusters.kube.errors import KubeError, KubeNotFound, KubeUnreachable
from clusters.kube.status import PodTrouble, pod_trouble, rollout_status
from sites.desired import DesiredState, desired_state
from sites.manifests import MANAGED_BY
from sites.manifests.common import WEB, selector_labels
from sites.models import Environment
from sites.namespaces import NamespaceNotOwned, refuse_system_namespace, require_owned
from sites.services.digests import web_pod_digests
from sites.validators import parse_image_reference

# What a deploy or a scale operation carries in its params, saved once it succeeded.
OVERRIDABLE = frozenset(
    {
        "autoscale_cpu_target",
        "autoscale_enabled",
        "autoscale_max",
        "autoscale_min",
        "image",
        "replicas",
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
    ctx: OperationContext,
    environment: Environment,
    desired: DesiredState,
    *,
    look: bool = False,
    before_delete: Callable[[], None] | None = None,
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
            if before_delete is not None:
                before_delete()
            ctx.kube.delete(api_version, kind, name, namespace)
            removed.append(f"{kind} {name}")
    return removed


class RolloutBroken(OperationFailed):
    """A new pod certainly cannot become ready: the rollout fails now, not at its deadline."""


def _new_pods(ctx: OperationContext, environment: Environment) -> list[dict[str, Any]]:
    """The web pods made from the Deployment's current template (as last read): those
    carrying its annotations (the config checksum, a restart stamp) and its images. Old
    pods, crash-looping or not, are what the rollout replaces, not its failure."""
    deployment = ctx.kube.observed.get(deployment_key(environment)) or {}
    template = (deployment.get("spec") or {}).get("template") or {}
    wanted = (template.get("metadata") or {}).get("annotations") or {}
    images = {
        c.get("name"): c.get("image") for c in (template.get("spec") or {}).get("containers") or []
    }
    pods = ctx.kube.list(
        "v1", "Pod", environment.namespace, label_selector=selector_labels(environment, WEB)
    )
    new = []
    for pod in pods:
        annotations = (pod.get("metadata") or {}).get("annotations") or {}
        running = {
            c.get("name"): c.get("image") for c in (pod.get("spec") or {}).get("containers") or []
        }
        if running == images and all(annotations.get(k) == v for k, v in wanted.items()):
            new.append(pod)
    return new


def explain_trouble(ctx: OperationContext, namespace: str, trouble: PodTrouble) -> str:
    """The cause first, then what `kubectl logs --tail` and the pod's events say."""
    parts = [trouble.message]
    if trouble.has_log:
        try:
            log = ctx.kube.pod_logs(
                namespace, trouble.pod, container=trouble.container, tail_lines=TAIL
            )
        except KubeError as exc:
            log = f"(log unavailable: {exc.message})"
        parts.append(f"Last log lines of {trouble.container}:\n{log.rstrip()}")
    try:
        events = ctx.kube.list(
            "v1",
            "Event",
            namespace,
            field_selector=f"involvedObject.kind=Pod,involvedObject.name={trouble.pod}",
        )
    except KubeError:
        events = []
    events.sort(key=lambda e: e.get("lastTimestamp") or e.get("eventTime") or "")
    lines = [
        f"{e.get('type', '')} {e.get('reason', '')}: {e.get('message', '')}" for e in events[-TAIL:]
    ]
    if lines:
        parts.append(f"Events of pod {trouble.pod}:\n" + "\n".join(lines))
    return "\n\n".join(parts)


TAIL = 10  # log lines and events shown with a failed rollout


def wait_for_rollout(ctx: OperationContext, environment: Environment) -> dict[str, Any]:
    """Wait until the web Deployment has rolled out; returns it as last read.

    While it waits, the new pods are read too: one that certainly cannot become ready
    (crash loop, image that cannot be pulled, no node to run it; clusters.kube.status
    .pod_trouble) fails the rollout at once with its cause, log lines and events, instead
    of at the rollout's deadline.

    Losing contact with the API server while waiting is not a failed rollout: it is
    retried until the wait's own deadline, and after that the operation is retried later
    (a retryable error), not rolled back."""

    def report(status: Any) -> None:
        ctx.progress(f"Rollout: {status.message}")
        if status.done or status.failed:
            return
        for pod in _new_pods(ctx, environment):
            trouble = pod_trouble(
                pod,
                restarts=settings.HANGAR_CRASH_RESTARTS,
                unschedulable_seconds=settings.HANGAR_UNSCHEDULABLE_SECONDS,
            )
            if trouble is not None:
                raise RolloutBroken(explain_trouble(ctx, environment.namespace, trouble))

    try:
        with ctx.waiting():  # the cluster's slot goes to the next operation meanwhile
            ctx.kube.wait_rollout(
                environment.namespace,
                WEB,
                timeout=settings.HANGAR_ROLLOUT_TIMEOUT,
                poll=settings.HANGAR_POLL_SECONDS,
                on_progress=report,
                watch=settings.HANGAR_WATCH_DEPLOYMENTS,
            )
    except KubeError as exc:
        if exc.retryable and (exc.status or isinstance(exc, KubeUnreachable)):
            raise
        raise OperationFailed(f"The new pods did not become ready: {exc.message}") from exc
    return ctx.kube.observed[deployment_key(environment)]


def deployment_key(environment: Environment) -> str:
    return path_key("apps/v1", "Deployment", WEB, environment.namespace)


def verify_running(
    ctx: OperationContext, environment: Environment, deployment: dict
) -> dict[str, str]:
    """What really runs is what was deployed: the live Deployment's web container has
    the environment's image and, when that image is pinned by digest, every pod of it that
    reports the digest it runs (containerStatuses[].imageID) reports that one. Returns
    the digest each web pod runs, for the release to record.

    The pods are listed even when nothing was written (a re-deploy of what runs): a pod
    replaced since the last release (a lost node, an eviction) pulled its image again,
    and a release records what its pods run, not what ran before (docs/architecture.md)."""
    containers = (((deployment.get("spec") or {}).get("template") or {}).get("spec") or {}).get(
        "containers"
    ) or []
    running = next((c.get("image") for c in containers if c.get("name") == WEB), None)
    if running != environment.image:
        raise OperationFailed(
            f"The cluster's Deployment runs {running or 'no web container'}, not "
            f"{environment.image}: it was changed while this operation ran."
        )
    digests = web_pod_digests(ctx.kube, environment)
    digest = parse_image_reference(environment.image).digest
    for pod, pulled in sorted(digests.items()):
        if digest and pulled != digest:
            raise OperationFailed(f"Pod {pod} runs {pulled}, not the deployed {digest}.")
    return digests


class NothingApplied(OperationFailed):
    """The operation failed before its first write: there is nothing to roll back."""


def desired_or_fail(environment: Environment) -> DesiredState:
    """The desired state, or a failed operation naming what cannot be rendered (a
    schedule stored before a rule of the server was known, say): checked before anything
    is written."""
    try:
        return desired_state(environment)
    except ValidationError as exc:
        raise NothingApplied(
            "The configuration cannot be applied: " + " ".join(exc.messages)
        ) from exc


def converge(
    ctx: OperationContext,
    environment: Environment,
    *,
    wait: bool = True,
    force_write: bool = False,
) -> dict[str, str]:
    """Make the cluster match `environment`: apply (all or nothing, see
    KubeClient.apply_all), prune, wait for the rollout and check that what runs is the
    environment's image. `force_write` applies even objects unchanged since the last
    apply, and looks for strays in the namespace (drift repair). Returns the digest each
    web pod runs (nothing when it did not wait)."""
    desired = desired_or_fail(environment)

    def owned(*, read: bool = True) -> None:
        # Before the first write only: a batch with nothing to write touched nothing, and
        # its Deployment read (same uid as written) proved the namespace still the one
        # Hangar wrote into (sites.namespaces). A refusal applied nothing: a deploy does
        # not roll back into that namespace either.
        try:
            if read:
                require_owned(ctx.kube, environment)
            else:
                refuse_system_namespace(environment)
        except NamespaceNotOwned as exc:
            raise NothingApplied(str(exc)) from exc

    owned(read=False)  # the cluster's own namespaces, before any request
    try:
        outcome = ctx.kube.apply_all(desired.objects, force_write=force_write, before_write=owned)
    except KubeNotFound as exc:
        if exc.details.get("kind") != "namespaces":
            raise
        # The namespace is gone (deleted by hand, an API server that lost its state):
        # every record of what was in it is stale. Make it all again.
        ctx.log(
            f"Namespace {environment.namespace} is missing on the cluster: creating it and "
            "everything in it again.",
            "warning",
        )
        ctx.kube.forget_namespace(environment.namespace)
        outcome = ctx.kube.apply_all(desired.objects, force_write=True, before_write=owned)
    removed = (
        prune(ctx, environment, desired, look=force_write, before_delete=owned)
        if environment.image
        else []
    )
    detail = f"{outcome.written} written, {outcome.skipped} unchanged" + (
        f", removed {', '.join(removed)}" if removed else ""
    )
    ctx.step(f"Applied {len(desired.objects)} objects to {environment.namespace} ({detail}).")
    if wait and environment.image:
        # The Deployment as written or as read to skip its write: when it shows a finished
        # rollout (nothing changed its spec), there is nothing to wait for.
        deployment = ctx.kube.observed.get(deployment_key(environment))
        if deployment is None or not rollout_status(deployment).done:
            deployment = wait_for_rollout(ctx, environment)
        digests = verify_running(ctx, environment, deployment)
        ctx.step(f"Rollout complete: every pod runs {environment.image}.")
        return digests
    return {}
