"""Celery tasks: thin wrappers that take an id and call the engine."""

from __future__ import annotations

from celery import shared_task

from clusters.engine.runner import run_operation
from clusters.engine.sweeper import sweep
from controlpanel.core.locks import one_at_a_time


@shared_task(name="clusters.run_operation", acks_late=True, reject_on_worker_lost=True)
def run_operation_task(operation_id: int) -> str:
    return run_operation(operation_id)


@shared_task(name="clusters.sweep_operations")
@one_at_a_time
def sweep_operations_task() -> dict[str, list[int]]:
    return sweep()
