"""What a handler gets: the operation, a Kubernetes client for its cluster, and a log."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import cached_property
from typing import Any

from django.db import DatabaseError
from django.db.models import QuerySet
from django.utils import timezone

from clusters.kube.client import KubeClient
from clusters.models import Operation, OperationEvent


class OperationFailed(Exception):
    """A handler's verdict that the operation cannot succeed; the message is for users."""


class OperationAborted(OperationFailed):
    """Someone asked this run to stop (Operation.abort_requested_at). A handler that
    started something undoes it and re-raises; the run ends cancelled, not failed."""


class ClaimLost(Exception):
    """This run no longer holds its operation (the sweeper gave it to another worker):
    it stops before its next step and writes nothing more, to the database or a cluster."""


def log_event(operation: Operation, message: str, level: str = OperationEvent.Level.INFO) -> None:
    OperationEvent.objects.create(operation=operation, message=message[:4000], level=level)


class OperationContext:
    def __init__(self, operation: Operation, lost: threading.Event | None = None) -> None:
        self.operation = operation
        # Set by the heartbeat thread once a beat finds the claim gone.
        self._lost = lost or threading.Event()

    @property
    def params(self) -> dict[str, Any]:
        return self.operation.params

    @cached_property
    def kube(self) -> KubeClient:
        kube = KubeClient.for_cluster(self.operation.cluster)
        # Before every write to the cluster, and every retry of one: still ours?
        kube.transport.before_write = self.ensure_claim
        return kube

    def _held(self) -> QuerySet[Operation]:
        return Operation.objects.filter(
            pk=self.operation.pk, status=Operation.Status.RUNNING, worker=self.operation.worker
        )

    def ensure_claim(self) -> None:
        """Raise ClaimLost unless this run still holds the operation (one indexed read)."""
        if self._lost.is_set() or not self._held().exists():
            self._lost.set()
            raise ClaimLost(f"Operation {self.operation.pk} was taken back from this run.")

    @contextmanager
    def waiting(self) -> Iterator[None]:
        """While the run waits for its cluster to act (a rollout), it holds no slot of the
        cluster's concurrency limit: the row is marked waiting (one UPDATE) and the
        operation queued behind the slot is sent at once. The run keeps its claim, its
        heartbeats and its environment's lock. Leaving the wait takes no slot back: what
        follows (reading what runs, or a rollback's writes) is short, and counts against
        the limit again as soon as the mark is cleared."""
        from clusters.engine.dispatch import dispatch

        self._held().update(waiting_since=timezone.now())
        dispatch(self.operation.cluster_id)
        try:
            yield
        except BaseException:
            # The run's end clears the mark too; a failed clear must not hide why it ended.
            with suppress(DatabaseError):
                self._held().update(waiting_since=None)
            raise
        self._held().update(waiting_since=None)

    def log(self, message: str, level: str = OperationEvent.Level.INFO) -> None:
        log_event(self.operation, message, level)

    def plan(self, steps_total: int) -> None:
        """Say how many steps this run has, for the progress bar."""
        self.operation.steps_total = max(1, steps_total)
        self.operation.steps_done = 0
        self._update(steps_total=self.operation.steps_total, steps_done=0)

    def step(self, message: str) -> None:
        """One step done: progress moves and the log says what happened."""
        self.operation.steps_done = min(self.operation.steps_done + 1, self.operation.steps_total)
        self.progress(message)
        self.log(message)

    def progress(self, message: str) -> None:
        """Update the live progress line without a log entry (e.g. rollout 2/3 ready)."""
        self.operation.progress_message = message[:255]
        self._update(
            steps_done=self.operation.steps_done,
            progress_message=self.operation.progress_message,
            heartbeat_at=timezone.now(),
        )

    def _update(self, **fields: Any) -> None:
        """Write to the row only while the claim holds and no stop was asked for; checking
        and writing are one query (a second only when the write did not happen)."""
        if not self._lost.is_set():
            if self._held().filter(abort_requested_at__isnull=True).update(**fields):
                return
            if self._held().exists():
                raise OperationAborted("Stopped on request.")
        self._lost.set()
        raise ClaimLost(f"Operation {self.operation.pk} was taken back from this run.")
