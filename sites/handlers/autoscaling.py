"""Handing `spec.replicas` between Hangar and the HorizontalPodAutoscaler without a dip,
as the Kubernetes docs' "transferring ownership" with server-side apply describes.

A Deployment applied without `spec.replicas` gives up Hangar's ownership of the field; if
nobody else owns it at that moment the API server resets it to its default, 1, and the
autoscaler raises it again only later (3 → 1 → 2 was seen). So, turning autoscaling on,
before Hangar's apply drops the field: the HPA is applied with its minimum at the current
count (or its own minimum if higher), and a field manager of its own claims the current
count, so the field keeps its value when Hangar lets go. The autoscaler's first scale
takes the field over and that manager's entry disappears. Turning it off: Hangar applies
the count the autoscaler last set, taking the field back, before the HPA is deleted.
"""

from __future__ import annotations

from clusters.engine import OperationContext
from clusters.kube.client import FIELD_MANAGER
from clusters.kube.ownership import field_managers
from sites.handlers.converge import desired_or_fail
from sites.manifests.common import WEB
from sites.manifests.workload import render_hpa
from sites.models import Environment
from sites.validators import MAX_REPLICAS

HANDOVER_MANAGER = "hangar-replicas"


def _live_deployment(ctx: OperationContext, environment: Environment) -> dict | None:
    return ctx.kube.get_or_none("apps/v1", "Deployment", WEB, environment.namespace)


def hand_replicas_to_autoscaler(ctx: OperationContext, environment: Environment) -> None:
    """Before autoscaling is turned on (`environment` as it will be): HPA first, at no less
    than the current count, and the current count claimed by HANDOVER_MANAGER."""
    live = _live_deployment(ctx, environment)
    if live is None or FIELD_MANAGER not in field_managers(live, "spec", "replicas"):
        return  # nothing runs yet, or someone else (the autoscaler) has the field already
    current = int((live.get("spec") or {}).get("replicas", 1))
    # Everything the operation writes passes the server's checks before the first write.
    ctx.kube.check_all(desired_or_fail(environment).objects)
    hpa = render_hpa(environment)
    hpa["spec"]["minReplicas"] = min(
        max(current, environment.autoscale_min), environment.autoscale_max
    )
    ctx.kube.apply(hpa, force_write=True)
    ctx.kube.apply_fields(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": WEB, "namespace": environment.namespace},
            "spec": {"replicas": current},
        },
        field_manager=HANDOVER_MANAGER,
    )
    ctx.log(f"The autoscaler takes over at the current {current} replicas.")


def autoscaled_count(ctx: OperationContext, environment: Environment) -> int | None:
    """Before autoscaling is turned off: the count the autoscaler last set, which Hangar
    applies (and records) instead of the count it had before autoscaling."""
    live = _live_deployment(ctx, environment)
    if live is None:
        return None
    count = int((live.get("spec") or {}).get("replicas", 1))
    return max(0, min(count, MAX_REPLICAS))
