"""One run at a time: periodic tasks hold a lock while they run, so a run never overlaps
the previous one (a slow drift pass is not started again every interval until it holds
every worker).

On PostgreSQL the lock is a session-level advisory lock (`pg_try_advisory_lock`), not a
Redis lock: it needs no broker (the sweeper must run while Redis is down), and the server
releases it when the holder's connection ends, so a killed worker never leaves a lock
behind and no expiry has to be guessed longer than the slowest run. (Behind PgBouncer in
transaction mode a session lock does not hold: run the workers on a session pool.)
Elsewhere (SQLite: the embedded default, one process running the schedule) a lock of this
process is enough.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from django.db import connection

logger = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])

_local_locks: dict[str, threading.Lock] = {}
_local_guard = threading.Lock()


def _key(name: str) -> int:
    """A stable signed 64-bit key for pg_advisory_lock."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@contextmanager
def held(name: str) -> Iterator[bool]:
    """Try to take the lock `name` without waiting; yields whether it was taken."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [_key(name)])
            taken = bool(cursor.fetchone()[0])
        try:
            yield taken
        finally:
            if taken:
                _unlock(name)
        return
    with _local_guard:
        lock = _local_locks.setdefault(name, threading.Lock())
    taken = lock.acquire(blocking=False)
    try:
        yield taken
    finally:
        if taken:
            lock.release()


def _unlock(name: str) -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_key(name)])
    except Exception:
        # The connection broke during the run: the server released the lock with it.
        logger.warning("lock %s: connection lost; released by the server", name)
        connection.close()


def one_at_a_time(function: F) -> F:
    """For periodic tasks: run unless a run of the same task is under way anywhere; a run
    that finds the lock taken returns {"skipped": "already running"} at once."""
    name = f"{function.__module__}.{function.__qualname__}"

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with held(name) as taken:
            if not taken:
                logger.info("%s: a run is under way; skipped", name)
                return {"skipped": "already running"}
            return function(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
