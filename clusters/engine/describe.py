"""What people read about an operation: its name, where a queued one stands, how long a
finished one took. Reads only; the engine's state is the Operation row."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from clusters.engine.dispatch import holding_slots
from clusters.engine.registry import find_kind
from clusters.models import Operation

S = Operation.Status


def operation_label(operation: Operation) -> str:
    """ "Promote from Staging", "Roll back to release #12", "Deploy": what the request
    was (an operation records it in params["label"]), else its kind's name."""
    label = (operation.params or {}).get("label")
    if label:
        return str(label)
    kind = find_kind(operation.kind)
    if kind is not None and kind.label:
        return kind.label
    return operation.kind


def where_it_stands(operation: Operation) -> str:
    """A pending operation's honest status line: a retry waiting for its time, the earlier
    operation of the same environment it waits for, a full cluster, or a worker."""
    if operation.status != S.PENDING:
        return operation.progress_message
    now = timezone.now()
    attempt = f" (attempt {operation.attempts + 1})" if operation.attempts else ""
    if operation.not_before > now:
        return f"Retrying in {duration(operation.not_before - now)}{attempt}."
    ahead = (
        Operation.objects.filter(lock_key=operation.lock_key, status__in=(S.RUNNING, S.PENDING))
        .filter(pk__lt=operation.pk)
        .order_by("pk")
        .first()
    )
    if ahead is not None:
        doing = "runs" if ahead.status == S.RUNNING else "is queued"
        return (
            f"Queued behind {operation_label(ahead)} #{ahead.pk} on {ahead.target_label}, "
            f"which {doing}: operations of one environment run one at a time{attempt}."
        )
    limit = operation.cluster.max_concurrent_operations
    running = holding_slots(operation.cluster_id).count()
    if limit and running >= limit:
        return (
            f"Waiting for a free slot on cluster {operation.cluster.name}: {running} of "
            f"{limit} operations run there now{attempt}."
        )
    return f"Queued: waiting for a worker to pick it up{attempt}."


def duration(delta: timedelta | None) -> str:
    """42 s, 3 min 5 s, 1 h 2 min; under a second as 0.4 s (never "0 minutes")."""
    if delta is None:
        return ""
    seconds = max(delta.total_seconds(), 0.0)
    if seconds < 10:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"
