"""The periodic work in the embedded default: Celery beat's own scheduler over the one
schedule (settings.CELERY_BEAT_SCHEDULE), running each due task in this process instead of
sending it to a broker.

Production runs `celery beat`, which sends the same entries at the same intervals to the
workers. Without a broker, `EmbeddedWorker` runs this in a thread of the web process, one
task at a time: a task never overlaps itself, and a slow one delays the others rather
than piling up.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from celery.beat import ScheduleEntry, Scheduler
from django.db import close_old_connections

logger = logging.getLogger(__name__)


class LocalScheduler(Scheduler):
    """beat's Scheduler (intervals, crontabs, first run one interval after the start)
    with `apply_entry` running the task here, eagerly, in the calling thread."""

    # Nothing is published: no producer, no broker connection.
    producer = None

    def install_default_entries(self, data: dict[str, Any]) -> None:
        """Only the settings' entries (beat would add a result-backend cleanup, and Hangar
        keeps no results)."""

    def apply_entry(self, entry: ScheduleEntry, producer: Any = None) -> None:
        task = self.app.tasks.get(entry.task)
        if task is None:
            logger.error("schedule: %s names the unknown task %s", entry.name, entry.task)
            return
        close_old_connections()
        try:
            # Celery's tracer logs the outcome (and a failure's traceback), as in a worker.
            task.apply(entry.args, entry.kwargs)
        finally:
            close_old_connections()


def run_schedule(stop: threading.Event) -> None:
    """Run the schedule until `stop` is set (the loop of `celery beat`, in a thread)."""
    from controlpanel.celery import app

    # What `celery worker` does at start: import every app's tasks module (autodiscovery).
    app.loader.import_default_modules()
    scheduler = LocalScheduler(app)
    logger.info("schedule: %s", ", ".join(sorted(scheduler.schedule)))
    while not stop.is_set():
        try:
            delay = scheduler.tick()
        except Exception:  # the thread must outlive any one task
            logger.exception("schedule")
            delay = 1.0
        if delay:
            stop.wait(delay)
