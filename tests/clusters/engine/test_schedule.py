"""The embedded default: the one periodic schedule that `celery beat` runs, and no worker
thread in a process that does not serve."""

from __future__ import annotations

import threading

import pytest
from django.conf import settings

from clusters.engine import dispatch
from clusters.engine.schedule import LocalScheduler
from clusters.models import Operation
from controlpanel.celery import app
from tests import factories as f


def test_the_embedded_scheduler_has_beats_entries_and_knows_every_task():
    app.loader.import_default_modules()
    scheduler = LocalScheduler(app)
    assert set(scheduler.schedule) == set(settings.CELERY_BEAT_SCHEDULE)
    for name, entry in scheduler.schedule.items():
        assert entry.task in app.tasks, f"{name} names the unknown task {entry.task}"


@pytest.mark.django_db
def test_a_command_hands_no_operation_to_a_worker_it_does_not_run(settings, monkeypatch):
    """seed_demo and other commands run no embedded worker: what they create stays pending
    and not "on its way", so the serving process's first sweep sends it at once."""
    settings.HANGAR_OPERATION_DISPATCH = "thread"
    monkeypatch.setattr(dispatch, "_embedded", dispatch.EmbeddedWorker())
    operation = f.OperationFactory(status=Operation.Status.PENDING)
    assert dispatch.enqueue(operation.pk) is False
    operation.refresh_from_db()
    assert operation.enqueued_at is None
    assert not dispatch.embedded_worker().running
    assert "hangar-embedded-worker" not in {thread.name for thread in threading.enumerate()}
