"""Getting an operation id to a worker: Celery when a broker is configured, a thread of
the web process in the embedded default. Either way `run_operation` does the work."""

from __future__ import annotations

import heapq
import logging
import threading
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import Case, Exists, OuterRef, Q, QuerySet, When
from django.utils import timezone

from clusters.models import Cluster, Operation

S = Operation.Status
DISPATCH_LOCK = 0x4841  # the first key of the (key, cluster id) advisory locks of dispatch

logger = logging.getLogger(__name__)


_paused_until = 0.0  # monotonic; see HANGAR_ENQUEUE_PAUSE_SECONDS


def enqueue(
    operation_id: int,
    *,
    countdown: float | None = None,
    retry: bool = False,
    force: bool = False,
    mark: bool = True,
) -> bool:
    """Hand the operation to a worker. False when it could not be handed over now: the row
    stays pending and the sweeper delivers it. `retry` sends it to the queue workers poll
    first (a retry due now goes before work that has not started); `force` tries even
    while publishing is paused after a failure (the sweeper probing the broker). The row
    is marked as on its way before the message leaves (`mark`; `dispatch` marks itself),
    so no other dispatcher sends it a second time."""
    mode = settings.HANGAR_OPERATION_DISPATCH
    if mode == "none":
        return True  # tests run operations explicitly
    on_its_way = Operation.objects.filter(pk=operation_id, status=S.PENDING)
    if mark:
        on_its_way.update(enqueued_at=timezone.now() + timedelta(seconds=countdown or 0))
    if mode == "thread":
        if not embedded_worker().submit(operation_id, countdown or 0):
            on_its_way.update(enqueued_at=None)
            return False
    elif not _publish(operation_id, countdown, retry, force):
        on_its_way.update(enqueued_at=None)
        return False
    return True


def _publish(operation_id: int, countdown: float | None, retry: bool, force: bool) -> bool:
    global _paused_until
    if not force and time.monotonic() < _paused_until:
        return False
    from clusters.tasks import run_operation_task

    try:
        # Bounded by the broker settings: one try, HANGAR_BROKER_TIMEOUT to connect and to
        # hear back, no retry by kombu or redis-py.
        run_operation_task.apply_async(
            (operation_id,),
            countdown=countdown,
            retry=False,
            **({"queue": "operation-retries"} if retry else {}),
        )
    except Exception as exc:
        _paused_until = time.monotonic() + settings.HANGAR_ENQUEUE_PAUSE_SECONDS
        logger.warning(
            "could not enqueue operation %s (%s: %s); the sweeper will",
            operation_id,
            exc.__class__.__name__,
            str(exc)[:200],
        )
        return False
    _paused_until = 0.0
    return True


def broker_paused() -> bool:
    """Whether this process gave up publishing for a while after a failure."""
    return time.monotonic() < _paused_until


def in_flight_since() -> datetime:
    """A message handed over before this and still unclaimed is presumed lost (the sweeper
    sends another; a duplicate is turned away cheaply)."""
    return timezone.now() - timedelta(seconds=settings.HANGAR_STALE_AFTER_SECONDS)


def runnable_heads(cluster_id: int) -> QuerySet[Operation]:
    """Due pending operations of a cluster that may start now, in the order they should:
    the oldest pending operation of its key, with nothing of its key running, and no
    message for it on its way. Retries (and runs taken back from a lost worker) first,
    then by age: a retry due now goes before work that has not started."""
    now = timezone.now()
    pending = Operation.objects.filter(status=S.PENDING)
    return (
        pending.filter(cluster_id=cluster_id, not_before__lte=now)
        .exclude(enqueued_at__gte=in_flight_since())  # on its way (or due later: a retry)
        .exclude(Exists(pending.filter(lock_key=OuterRef("lock_key"), pk__lt=OuterRef("pk"))))
        .exclude(Exists(Operation.objects.filter(status=S.RUNNING, lock_key=OuterRef("lock_key"))))
        .order_by(Case(When(attempts__gt=0, then=0), default=1), "pk")
    )


# What takes one of a cluster's slots: running, and not waiting for the cluster to act (a
# rollout: `OperationContext.waiting`). The limit governs the work sent to the API server,
# not the waiting; one environment still runs one operation at a time (its lock key).
HOLDS_SLOT = Q(status=S.RUNNING, waiting_since__isnull=True)


def holding_slots(cluster_id: int) -> QuerySet[Operation]:
    """The cluster's operations that take one of its slots (HOLDS_SLOT)."""
    return Operation.objects.filter(HOLDS_SLOT, cluster_id=cluster_id)


def free_slots(cluster_id: int) -> int:
    """The cluster's limit, less what holds a slot and what is on its way to a worker."""
    limit = (
        Cluster.objects.filter(pk=cluster_id)
        .values_list("max_concurrent_operations", flat=True)
        .first()
    )
    if not limit:
        return 0
    now = timezone.now()
    taken = Operation.objects.filter(cluster_id=cluster_id).filter(
        HOLDS_SLOT | Q(status=S.PENDING, enqueued_at__gte=in_flight_since(), enqueued_at__lte=now)
    )
    return limit - taken.count()


def dispatch(cluster_id: int, *, force: bool = False) -> list[int]:
    """Send as many of the cluster's runnable operations as it has free slots, retries
    first. Never more: a message that cannot win a slot is only a refusal later, and a
    backlog in the broker is what a retry would wait behind. Stops at the first message
    the broker does not take (the sweeper tries again)."""
    picked = _pick(cluster_id)
    sent: list[int] = []
    for index, (pk, attempts) in enumerate(picked):
        if not enqueue(pk, retry=attempts > 0, force=force and not sent, mark=False):
            rest = [pk for pk, _ in picked[index:]]
            Operation.objects.filter(pk__in=rest, status=S.PENDING).update(enqueued_at=None)
            break
        sent.append(pk)
    return sent


def _pick(cluster_id: int) -> list[tuple[int, int]]:
    """Choose and mark what to send, one dispatcher per cluster at a time (two finishing
    operations would otherwise both count the same free slot and send two messages)."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [DISPATCH_LOCK, cluster_id])
        free = free_slots(cluster_id)
        if free <= 0:
            return []
        picked = list(runnable_heads(cluster_id).values_list("pk", "attempts")[:free])
        Operation.objects.filter(pk__in=[pk for pk, _ in picked], status=S.PENDING).update(
            enqueued_at=timezone.now()
        )
    return picked


def enqueue_on_commit(operation: Operation) -> None:
    """Once the transaction that created it commits: send it if its cluster has room and
    it is next in line (otherwise a finishing operation, or the sweeper, sends it)."""
    cluster_id = operation.cluster_id
    transaction.on_commit(lambda: dispatch(cluster_id))


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

    def submit(self, operation_id: int, delay: float = 0) -> bool:
        """Queue an operation for the worker thread; False if this process runs none. A
        process that does not serve (a management command such as seed_demo) starts no
        worker: a thread there would die with the command half way through an operation.
        Its operations stay pending, not on their way, and the serving process's first
        sweep sends them."""
        if not self.running:
            return False
        with self._cv:
            heapq.heappush(self._heap, (time.monotonic() + delay, operation_id))
            self._cv.notify()
        return True

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
