"""The Operation table is the source of truth; the sweeper makes the broker agree with it.

- Pending operations that are due but that no worker took (message lost, broker down at
  submit time) are enqueued again.
- Running operations whose worker stopped heart-beating (killed, node lost) go back to
  pending, or fail once they have used their attempts. Re-running is safe: every write is
  a server-side apply.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from clusters.engine.context import log_event
from clusters.engine.dispatch import enqueue
from clusters.engine.registry import get_kind, run_failure_hook
from clusters.models import Operation, OperationEvent

logger = logging.getLogger(__name__)
S = Operation.Status


def recover_stale() -> list[int]:
    cutoff = timezone.now() - timedelta(seconds=settings.HANGAR_STALE_AFTER_SECONDS)
    recovered = []
    stale = Operation.objects.filter(status=S.RUNNING, heartbeat_at__lt=cutoff)
    for op in stale:
        exhausted = op.attempts >= op.max_attempts
        fields = (
            {
                "status": S.FAILED,
                "finished_at": timezone.now(),
                "error": "The worker running this operation stopped, and no attempts are left.",
            }
            if exhausted
            else {"status": S.PENDING, "worker": "", "not_before": timezone.now()}
        )
        # Conditional on the same worker: a late heartbeat means it is alive after all.
        if not Operation.objects.filter(
            pk=op.pk, status=S.RUNNING, worker=op.worker, heartbeat_at__lt=cutoff
        ).update(**fields):
            continue
        log_event(
            op,
            f"The worker {op.worker} stopped heart-beating; "
            + ("giving up." if exhausted else "running it again."),
            OperationEvent.Level.WARNING,
        )
        if exhausted:
            op.refresh_from_db()
            run_failure_hook(get_kind(op.kind), op)
        recovered.append(op.pk)
    return recovered


def sweep() -> dict[str, list[int]]:
    """Recover stale runs, then enqueue the first due pending operation of every key."""
    recovered = recover_stale()
    now = timezone.now()
    due = (
        Operation.objects.filter(status=S.PENDING, not_before__lte=now)
        .order_by("lock_key", "pk")
        .values_list("lock_key", "pk")
    )
    enqueued, seen = [], set()
    busy = set(Operation.objects.filter(status=S.RUNNING).values_list("lock_key", flat=True))
    for lock_key, pk in due:
        if lock_key in seen or lock_key in busy:
            continue
        seen.add(lock_key)
        enqueue(pk)
        enqueued.append(pk)
    if recovered or enqueued:
        logger.info("sweep: recovered %s, enqueued %s", recovered, enqueued)
    return {"recovered": recovered, "enqueued": enqueued}
