"""Celery workers keep their database connection from task to task, like web requests do,
instead of opening a new PostgreSQL backend for every task (Celery's Django fixup closes
connections around each task unless CELERY_DB_REUSE_MAX is set)."""

from __future__ import annotations

import time

import pytest
from django.db import connection

from controlpanel.celery import app, reuse_database_connections

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_fixup_is_told_to_reuse_connections():
    assert app.conf.get("CELERY_DB_REUSE_MAX") >= 100


def test_tasks_keep_a_healthy_connection_and_drop_an_expired_one():
    connection.ensure_connection()
    connection.close_at = time.monotonic() + 60  # CONN_MAX_AGE not reached
    reuse_database_connections()
    assert connection.connection is not None
    connection.close_at = time.monotonic() - 1  # older than CONN_MAX_AGE
    reuse_database_connections()
    assert connection.connection is None
