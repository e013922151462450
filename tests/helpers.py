"""Helpers shared across the test tree: waiting for a condition, a free port, and a Redis
server of a test's own (the same private servers tests/services.py starts for a run)."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import pytest

from tests.services import PrivateRedis, find_program, free_port

__all__ = ["free_port", "private_redis", "wait_for"]

T = TypeVar("T")


def wait_for(
    condition: Callable[[], T],
    timeout: float = 20.0,
    what: str = "condition",
    *,
    interval: float = 0.05,
) -> T:
    """Poll until `condition` returns something truthy and return it; fail the test after
    `timeout` seconds, naming `what` and the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"timed out after {timeout:g}s waiting for {what} (last value: {value!r})"
            )
        time.sleep(interval)


@contextmanager
def private_redis() -> Iterator[PrivateRedis]:
    """A Redis server of this test's own, stopped and removed after it. (Not under pytest's
    temporary directory, which the server's user may not enter when the suite runs as root.)"""
    if find_program("redis-server") is None:
        pytest.skip("redis-server is not installed (.ci/run installs it)")
    root = Path(tempfile.mkdtemp(prefix="hangar-test-redis-"))
    root.chmod(0o755)
    server = PrivateRedis(root)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
