"""Claiming and running one operation. Every path ends with the row telling the truth."""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.conf import settings
from django.db import (
    DatabaseError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    connection,
    transaction,
)
from django.utils import timezone

from clusters.engine.context import (
    ClaimLost,
    OperationAborted,
    OperationContext,
    OperationFailed,
    log_event,
)
from clusters.engine.dispatch import holding_slots
from clusters.engine.registry import get_kind, run_cancel_hook, run_failure_hook
from clusters.engine.workers import WorkerIdentity, claim_token
from clusters.kube.errors import KubeError
from clusters.models import Cluster, Operation, OperationEvent
from controlpanel.core.events import publish

logger = logging.getLogger(__name__)

S = Operation.Status


def _refuse(operation_id: int, pending: bool) -> None:
    """Turned away: the message that brought it is used up, so it is no longer on its
    way (the dispatcher may send it again when a slot frees)."""
    if pending:
        Operation.objects.filter(pk=operation_id, status=S.PENDING).update(enqueued_at=None)


def _may_run(row: dict, now: datetime) -> bool:
    """Whether a claim could win, read without locks (cheap; the locked claim re-checks)."""
    if row["status"] != S.PENDING or row["not_before"] > now:
        return False
    siblings = Operation.objects.filter(lock_key=row["lock_key"])
    if siblings.filter(status=S.RUNNING).exists():
        return False
    if siblings.filter(status=S.PENDING, pk__lt=row["pk"]).exists():
        return False
    limit = (
        Cluster.objects.filter(pk=row["cluster_id"])
        .values_list("max_concurrent_operations", flat=True)
        .first()
    )
    return limit is not None and holding_slots(row["cluster_id"]).count() < limit


def claim(operation_id: int) -> Operation | None:
    """Mark the operation running if it may run now; None if it may not (yet).

    It may run when it is pending and due, it is the oldest pending operation of its lock
    key, nothing else of that key runs, and its cluster has room under its limit. A run
    recorded for a process of this host that is gone (a killed worker whose message came
    back) is taken back first. Refusals take no lock: most messages that cannot win are
    turned away by a few indexed reads.
    """
    fields = ("pk", "status", "not_before", "lock_key", "cluster_id", "worker")
    row = Operation.objects.filter(pk=operation_id).values(*fields).first()
    if row is None:
        return None
    if row["status"] == S.RUNNING and take_back_from_gone_worker(operation_id, row["worker"]):
        row = Operation.objects.filter(pk=operation_id).values(*fields).first() or row
    if not _may_run(row, timezone.now()):
        _refuse(operation_id, row["status"] == S.PENDING)
        return None
    try:
        with transaction.atomic():
            op = (
                Operation.objects.select_for_update(skip_locked=True)
                .filter(pk=operation_id, status=S.PENDING, not_before__lte=timezone.now())
                .first()
            )
            if op is None:
                return None
            # Claims on one cluster are serialised, so its concurrency limit holds.
            cluster = Cluster.objects.select_for_update().get(pk=op.cluster_id)
            siblings = Operation.objects.filter(lock_key=op.lock_key)
            if siblings.filter(status=S.RUNNING).exists():
                return None
            if siblings.filter(status=S.PENDING, pk__lt=op.pk).exists():
                return None
            if holding_slots(cluster.pk).count() >= cluster.max_concurrent_operations:
                _refuse(op.pk, True)
                return None
            now = timezone.now()  # after the locks: waiting for them took time
            op.status = S.RUNNING
            op.attempts += 1
            op.started_at = op.started_at or now
            op.heartbeat_at = now
            op.worker = claim_token()
            op.error = ""
            op.enqueued_at = None
            op.waiting_since = None
            op.save(
                update_fields=[
                    "status",
                    "attempts",
                    "started_at",
                    "heartbeat_at",
                    "worker",
                    "error",
                    "enqueued_at",
                    "waiting_since",
                ]
            )
    except IntegrityError:
        # Another worker started an operation of the same key at the same moment; the
        # partial unique index on running operations stopped this one.
        return None
    log_event(op, f"Started (attempt {op.attempts} of {op.max_attempts}) on {op.worker}.")
    return op


def take_back_from_gone_worker(operation_id: int, token: str) -> bool:
    """A running operation whose recorded worker ran on this host and is gone goes back
    to pending at once (or fails, with no attempts left), as the sweeper would do after
    missed heartbeats. True when it was taken back."""
    identity = WorkerIdentity.parse(token)
    if identity is None or not identity.is_gone():
        return False
    from clusters.engine.sweeper import recover

    return recover(operation_id, token, reason=f"The worker {identity} is gone")


@contextmanager
def heartbeat(operation: Operation) -> Iterator[threading.Event]:
    """Keep `heartbeat_at` fresh while the handler runs, even inside one long API call.

    The thread outlives a lost database connection (a PostgreSQL restart, a killed
    backend): it closes the broken connection and beats again on a new one. The event it
    yields is set once a beat finds the claim gone."""
    stop = threading.Event()
    lost = threading.Event()
    interval = settings.HANGAR_HEARTBEAT_SECONDS

    def beat() -> None:
        try:
            while not stop.wait(interval):
                try:
                    held = Operation.objects.filter(
                        pk=operation.pk, status=S.RUNNING, worker=operation.worker
                    ).update(heartbeat_at=timezone.now())
                except DatabaseError as exc:
                    logger.warning(
                        "heartbeat of operation %s: %s; reconnecting",
                        operation.pk,
                        exc.__class__.__name__,
                    )
                    connection.close()
                    continue
                if not held:
                    lost.set()
        finally:
            connection.close()

    thread = threading.Thread(target=beat, name=f"heartbeat-{operation.pk}", daemon=True)
    thread.start()
    try:
        yield lost
    finally:
        stop.set()
        thread.join(timeout=5)


def _finish(op: Operation, status: str, *, error: str = "", result: dict | None = None) -> bool:
    """Record the outcome, unless someone else owns the run by now (the sweeper gave it
    away after missed heartbeats): then this worker's result is stale and dropped."""
    fields = {
        "status": status,
        "finished_at": timezone.now(),
        "error": error[:4000],
        "waiting_since": None,
    }
    if status == S.SUCCEEDED:
        fields.update(steps_done=op.steps_total, progress_message="Done")
    if result is not None:
        fields["result"] = result
    won = bool(
        Operation.objects.filter(pk=op.pk, status=S.RUNNING, worker=op.worker).update(**fields)
    )
    if won:
        for name, value in fields.items():
            setattr(op, name, value)
    return won


def retry_delay(attempt: int) -> float:
    delays = settings.HANGAR_RETRY_DELAYS
    base = delays[min(attempt, len(delays)) - 1]
    return base * random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not security


def _reschedule(op: Operation, reason: str) -> bool:
    delay = retry_delay(op.attempts)
    won = bool(
        Operation.objects.filter(pk=op.pk, status=S.RUNNING, worker=op.worker).update(
            status=S.PENDING,
            not_before=timezone.now() + timedelta(seconds=delay),
            error=reason[:4000],
            worker="",
            waiting_since=None,
        )
    )
    if won:
        log_event(op, f"{reason} Retrying in {delay:.0f}s.", OperationEvent.Level.WARNING)
        op.status = S.PENDING
        from clusters.engine.dispatch import enqueue

        # Delivered when due, on the queue workers poll first.
        enqueue(op.pk, countdown=delay, retry=True)
    return won


def _abort_requester(op: Operation) -> str:
    """Who asked for the stop, as its log recorded it."""
    asked = (
        OperationEvent.objects.filter(operation=op, message__startswith="Stop requested by")
        .order_by("-pk")
        .values_list("message", flat=True)
        .first()
    )
    return asked or ""


def run_operation(operation_id: int) -> str:
    """Run one operation if it may run now. Returns what happened, for logs and tests.
    (Connection hygiene is the caller's: the task hooks in controlpanel.celery in a worker,
    the embedded worker's loop in the web process.)"""
    kind_name = Operation.objects.filter(pk=operation_id).values_list("kind", flat=True).first()
    try:
        kind = get_kind(kind_name or "")
    except LookupError:
        # Not claimed, so it stays pending for a worker that knows the kind (a process
        # still starting up, or one running newer code).
        logger.error(
            "operation %s has kind %r, which this worker cannot run", operation_id, kind_name
        )
        return "unknown-kind"
    op = claim(operation_id)
    if op is None:
        return "not-claimed"
    outcome = S.FAILED
    with heartbeat(op) as lost:
        try:
            result = kind.handler(OperationContext(op, lost))
        except ClaimLost:
            logger.warning("operation %s: claim lost; this run stopped", op.pk)
            return "lost"
        except OperationAborted as exc:
            requested = _abort_requester(op)
            _finish(op, S.CANCELLED, error=f"{exc} {requested}".strip())
        except OperationFailed as exc:
            _finish(op, S.FAILED, error=str(exc))
        except KubeError as exc:
            if exc.retryable and op.attempts < op.max_attempts:
                outcome = S.PENDING if _reschedule(op, exc.message) else S.FAILED
            else:
                _finish(op, S.FAILED, error=exc.message)
        except (InterfaceError, OperationalError) as exc:
            # The database went away under the handler (a restart, a failover): as
            # transient as a 503. Reconnect and retry later; while it is still down this
            # raises, and the sweeper takes the run back once its heartbeats stop.
            logger.warning("operation %s: database connection lost (%s)", op.pk, exc)
            connection.close()
            if op.attempts < op.max_attempts:
                message = "The connection to Hangar's database was lost."
                outcome = S.PENDING if _reschedule(op, message) else S.FAILED
            else:
                _finish(op, S.FAILED, error="The connection to Hangar's database was lost.")
        except Exception as exc:
            logger.exception("operation %s (%s) crashed", op.pk, op.kind)
            _finish(op, S.FAILED, error=f"Internal error ({exc.__class__.__name__}); see logs.")
        else:
            if _finish(op, S.SUCCEEDED, result=result or {}):
                outcome = S.SUCCEEDED
    if op.is_finished:
        publish(
            client=op.client,
            event="operation.finished",
            data={
                "id": op.pk,
                "kind": op.kind,
                "status": op.status,
                "target": op.target_label,
                "target_type": op.target_type,
                "target_id": op.target_id,
                "error": op.error,
            },
        )
    if op.status == S.FAILED:
        log_event(op, f"Failed: {op.error}", OperationEvent.Level.ERROR)
        run_failure_hook(kind, op)
    elif op.status == S.SUCCEEDED:
        log_event(op, "Succeeded.")
    elif op.status == S.CANCELLED:
        log_event(op, op.error, OperationEvent.Level.WARNING)
        run_cancel_hook(kind, op)
    from clusters.engine.dispatch import dispatch

    dispatch(op.cluster_id)  # the next of this key, and what waited for the slot
    return outcome if op.status != S.RUNNING else "lost"
