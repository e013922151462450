"""Getting an operation id to a worker: Celery when a broker is configured, a thread of
the web process in the embedded default. Either way `run_operation` does the work."""

from __future__ import annotations

import heapq
import logging
import threading
import time

from django.conf import settings
from django.db import close_old_connections, transaction
from django.utils import timezone

from clusters.models import Operation

logger = logging.getLogger(__name__)


def enqueue(operation_id: int, *, countdown: float | None = None) -> None:
    mode = settings.HANGAR_OPERATION_DISPATCH
    if mode == "thread":
        embedded_worker().submit(operation_id, countdown or 0)
    elif mode == "celery":
        from clusters.tasks import run_operation_task

        try:
            run_operation_task.apply_async((operation_id,), countdown=countdown, retry=False)
        except Exception as exc:
            logger.warning(
                "could not enqueue operation %s (%s: %s); the sweeper will",
                operation_id,
                exc.__class__.__name__,
                str(exc)[:200],
            )
    # mode "none": tests run operations explicitly.


def enqueue_on_commit(operation: Operation) -> None:
    transaction.on_commit(lambda: enqueue(operation.pk))


def enqueue_next(lock_key: str) -> None:
    """After an operation ends, start the next one waiting on the same key."""
    following = (
        Operation.objects.filter(lock_key=lock_key, status=Operation.Status.PENDING)
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )
    if following is not None:
        enqueue(following)


def enqueue_waiting(cluster_id: int, *, skip_key: str = "") -> list[int]:
    """After an operation on a cluster ends, enqueue the oldest due operations of other keys
    on that cluster, as many as it has free slots. `claim` turns an operation away while
    its cluster is at its limit and nothing else would enqueue it again but the sweeper
    (every HANGAR_SWEEP_SECONDS): with more worker slots than a cluster's limit, a fleet
    deploy would otherwise advance one sweep at a time. An operation that is still queued
    may be enqueued twice; `claim` runs it once."""
    from clusters.models import Cluster

    limit = (
        Cluster.objects.filter(pk=cluster_id)
        .values_list("max_concurrent_operations", flat=True)
        .first()
    )
    if not limit:
        return []
    busy = set(
        Operation.objects.filter(
            cluster_id=cluster_id, status=Operation.Status.RUNNING
        ).values_list("lock_key", flat=True)
    )
    free = limit - len(busy)
    if free <= 0:
        return []
    busy.add(skip_key)  # enqueue_next starts that key's next operation
    waiting = (
        Operation.objects.filter(
            cluster_id=cluster_id,
            status=Operation.Status.PENDING,
            not_before__lte=timezone.now(),
        )
        .order_by("pk")
        .values_list("pk", "lock_key")
    )
    enqueued: list[int] = []
    # Only the oldest of each key may run; look a little past the free slots for them.
    for pk, lock_key in waiting[: free * 4 + 16]:
        if lock_key in busy:
            continue
        busy.add(lock_key)
        enqueue(pk)
        enqueued.append(pk)
        if len(enqueued) >= free:
            break
    return enqueued


class EmbeddedWorker:
    """The embedded default's worker, started by the serving process (controlpanel.apps):
    one daemon thread runs operations in order of due time, another runs the periodic
    schedule (clusters.engine.schedule), as `celery worker` and `celery beat` would."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int]] = []
        self._cv = threading.Condition()
        self._thread: threading.Thread | None = None
        self._schedule: threading.Thread | None = None
        self._stop = threading.Event()

    def submit(self, operation_id: int, delay: float = 0) -> None:
        """Queue an operation for the worker thread. In a process that does not serve (a
        management command such as seed_demo) the thread never starts: the operation
        stays pending, and the serving process's sweeper takes it (a thread here would
        die with the command, half way through an operation)."""
        with self._cv:
            heapq.heappush(self._heap, (time.monotonic() + delay, operation_id))
            self._cv.notify()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        from clusters.engine.schedule import run_schedule

        with self._cv:
            if not self.running:
                self._thread = threading.Thread(
                    target=self._loop, name="hangar-embedded-worker", daemon=True
                )
                self._thread.start()
            if self._schedule is None or not self._schedule.is_alive():
                self._schedule = threading.Thread(
                    target=run_schedule,
                    args=(self._stop,),
                    name="hangar-embedded-schedule",
                    daemon=True,
                )
                self._schedule.start()

    def _next(self) -> int:
        with self._cv:
            while True:
                now = time.monotonic()
                if self._heap and self._heap[0][0] <= now:
                    return heapq.heappop(self._heap)[1]
                self._cv.wait(self._heap[0][0] - now if self._heap else None)

    def _loop(self) -> None:
        from clusters.engine.runner import run_operation
        from clusters.engine.sweeper import sweep

        try:
            sweep()  # work left pending when the process last stopped, or by a command
        except Exception:
            logger.exception("embedded worker: first sweep")
        finally:
            close_old_connections()
        while True:
            try:
                operation_id = self._next()
                close_old_connections()
                run_operation(operation_id)
            except Exception:  # the thread must outlive any one operation
                logger.exception("embedded worker")
            finally:
                close_old_connections()


_embedded: EmbeddedWorker | None = None
_embedded_lock = threading.Lock()


def embedded_worker() -> EmbeddedWorker:
    global _embedded
    with _embedded_lock:
        if _embedded is None:
            _embedded = EmbeddedWorker()
        return _embedded
