"""The Operation table is the source of truth; the sweeper makes the broker agree with it.

- Pending operations that are due but that no worker took (message lost, broker down at
  submit time) are enqueued again.
- Running operations whose worker stopped heart-beating (killed, node lost), or whose
  worker ran on this host and is gone, go back to pending, or fail once they have used
  their attempts. Re-running is safe: every write is a server-side apply, and the old run,
  if it still runs, stops before its next step (OperationContext.ensure_claim).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from clusters.engine.context import log_event
from clusters.engine.dispatch import broker_paused, dispatch
from clusters.engine.registry import get_kind, run_failure_hook
from clusters.engine.workers import WorkerIdentity
from clusters.models import Operation, OperationEvent

logger = logging.getLogger(__name__)
S = Operation.Status


def recover(
    operation_id: int, worker: str, *, reason: str, stale_before: datetime | None = None
) -> bool:
    """Take a running operation back from `worker`: pending again (due now), or failed
    once it has used its attempts. Conditional on the same worker (and, for the sweeper,
    on its heartbeat still being old): a late heartbeat means it is alive after all."""
    op = Operation.objects.filter(pk=operation_id).first()
    if op is None:
        return False
    exhausted = op.attempts >= op.max_attempts
    fields = (
        {
            "status": S.FAILED,
            "finished_at": timezone.now(),
            "error": "The worker running this operation stopped, and no attempts are left.",
            "waiting_since": None,
        }
        if exhausted
        else {
            "status": S.PENDING,
            "worker": "",
            "not_before": timezone.now(),
            "enqueued_at": None,
            "waiting_since": None,
        }
    )
    held = Operation.objects.filter(pk=op.pk, status=S.RUNNING, worker=worker)
    if stale_before is not None:
        held = held.filter(heartbeat_at__lt=stale_before)
    if not held.update(**fields):
        return False
    log_event(
        op,
        f"{reason}; " + ("giving up." if exhausted else "running it again."),
        OperationEvent.Level.WARNING,
    )
    if exhausted:
        op.refresh_from_db()
        run_failure_hook(get_kind(op.kind), op)
    return True


def recover_stale() -> list[int]:
    """Running operations whose worker stopped heart-beating, or that ran in a process of
    this host that is gone."""
    cutoff = timezone.now() - timedelta(seconds=settings.HANGAR_STALE_AFTER_SECONDS)
    recovered = []
    for pk, worker, heartbeat_at in Operation.objects.filter(status=S.RUNNING).values_list(
        "pk", "worker", "heartbeat_at"
    ):
        identity = WorkerIdentity.parse(worker)
        if identity is not None and identity.is_gone():
            done = recover(pk, worker, reason=f"The worker {identity} is gone")
        elif heartbeat_at is None or heartbeat_at < cutoff:
            done = recover(
                pk,
                worker,
                reason=f"The worker {worker} stopped heart-beating",
                stale_before=cutoff,
            )
        else:
            continue
        if done:
            recovered.append(pk)
    return recovered


def sweep() -> dict[str, list[int]]:
    """Recover lost runs, then send every cluster's runnable operations, as many as it has
    free slots, retries first. The first message the broker refuses ends the sweep's
    sending: the next sweep tries again."""
    recovered = recover_stale()
    clusters = (
        Operation.objects.filter(status=S.PENDING, not_before__lte=timezone.now())
        .order_by("cluster_id")
        .values_list("cluster_id", flat=True)
        .distinct()
    )
    enqueued: list[int] = []
    for cluster_id in clusters:
        sent = dispatch(cluster_id, force=True)
        enqueued.extend(sent)
        if not sent and broker_paused():
            break
    if recovered or enqueued:
        logger.info("sweep: recovered %s, enqueued %s", recovered, enqueued)
    return {"recovered": recovered, "enqueued": enqueued}
