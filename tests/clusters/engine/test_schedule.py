"""The embedded default runs the one periodic schedule that `celery beat` runs."""

from __future__ import annotations

from django.conf import settings

from clusters.engine.schedule import LocalScheduler
from controlpanel.celery import app


def test_the_embedded_scheduler_has_beats_entries_and_knows_every_task():
    app.loader.import_default_modules()
    scheduler = LocalScheduler(app)
    assert set(scheduler.schedule) == set(settings.CELERY_BEAT_SCHEDULE)
    for name, entry in scheduler.schedule.items():
        assert entry.task in app.tasks, f"{name} names the unknown task {entry.task}"
