"""What a handler gets: the operation, a Kubernetes client for its cluster, and a log."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.utils import timezone

from clusters.kube.client import KubeClient
from clusters.models import Operation, OperationEvent


class OperationFailed(Exception):
    """A handler's verdict that the operation cannot succeed; the message is for users."""


def log_event(operation: Operation, message: str, level: str = OperationEvent.Level.INFO) -> None:
    OperationEvent.objects.create(operation=operation, message=message[:4000], level=level)


class OperationContext:
    def __init__(self, operation: Operation) -> None:
        self.operation = operation

    @property
    def params(self) -> dict[str, Any]:
        return self.operation.params

    @cached_property
    def kube(self) -> KubeClient:
        return KubeClient.for_cluster(self.operation.cluster)

    def log(self, message: str, level: str = OperationEvent.Level.INFO) -> None:
        log_event(self.operation, message, level)

    def plan(self, steps_total: int) -> None:
        """Say how many steps this run has, for the progress bar."""
        self.operation.steps_total = max(1, steps_total)
        self.operation.steps_done = 0
        Operation.objects.filter(pk=self.operation.pk).update(
            steps_total=self.operation.steps_total, steps_done=0
        )

    def step(self, message: str) -> None:
        """One step done: progress moves and the log says what happened."""
        self.operation.steps_done = min(self.operation.steps_done + 1, self.operation.steps_total)
        self.progress(message)
        self.log(message)

    def progress(self, message: str) -> None:
        """Update the live progress line without a log entry (e.g. rollout 2/3 ready)."""
        self.operation.progress_message = message[:255]
        Operation.objects.filter(pk=self.operation.pk).update(
            steps_done=self.operation.steps_done,
            progress_message=self.operation.progress_message,
            heartbeat_at=timezone.now(),
        )
