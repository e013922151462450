"""Periodic work (issue 14, item 3): its own queue, an expiry shorter than its interval,
and never two runs of one task at once."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection

from controlpanel.celery import app
from controlpanel.core.locks import _key, held

BEAT = sorted(settings.CELERY_BEAT_SCHEDULE.items())


def queue_of(task_name: str) -> str:
    return app.amqp.router.route({}, task_name, (), {})["queue"].name


@pytest.mark.parametrize(("entry", "beat"), BEAT)
def test_a_periodic_task_expires_before_its_next_run_and_has_its_own_queue(entry, beat):
    assert 0 < beat["options"]["expires"] < float(beat["schedule"])
    assert queue_of(beat["task"]) == "periodic"


def test_every_task_goes_to_a_queue_a_worker_consumes():
    app.loader.import_default_modules()
    ours = [name for name in app.tasks if not name.startswith("celery.")]
    assert {queue_of(name) for name in ours} <= set(settings.HANGAR_QUEUES)
    assert queue_of("clusters.run_operation") == "operations"
    assert queue_of("api.deliver_webhook") == "webhooks"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("entry", "beat"), BEAT)
def test_a_periodic_task_never_overlaps_itself(entry, beat):
    """While a run holds the task's lock (in another process: another connection), a
    second run returns at once without doing anything."""
    app.loader.import_default_modules()
    function = app.tasks[beat["task"]].run
    name = f"{function.__module__}.{function.__wrapped__.__qualname__}"
    other = connection.copy()
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [_key(name)])
            assert cursor.fetchone()[0]
        assert function() == {"skipped": "already running"}
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_key(name)])
        with held(name) as taken:
            assert taken  # and once that run is over, the next one runs
    finally:
        other.close()
