"""Real parts for integration tests: a private Redis server as the Celery broker, and
Celery worker processes running the operation engine against the test database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection

from tests.helpers import private_redis, wait_for
from tests.services import PrivateRedis

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def broker() -> Iterator[PrivateRedis]:
    """A Redis of this test's own, wired into the Celery app of the test process."""
    from controlpanel.celery import app

    with private_redis() as server:
        saved = app.conf.broker_url
        use_broker(server.url)
        try:
            yield server
        finally:
            use_broker(saved)


def use_broker(url: str) -> None:
    """Point the test process's Celery app at `url`, with publishing not paused."""
    from clusters.engine import dispatch
    from controlpanel.celery import app

    # kombu keeps one pool per broker URL; dropping the app's references makes it
    # pick the pool of the new URL without closing the other's.
    app.conf.broker_url = app.conf.broker_write_url = app.conf.broker_read_url = url
    app._pool = None
    app.amqp._producer_pool = None
    dispatch._paused_until = 0.0


class Worker:
    def __init__(
        self,
        broker: PrivateRedis,
        log: Path,
        *,
        pool: str = "solo",
        concurrency: int = 1,
        queues: str | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        db = connection.settings_dict
        database_url = (
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        )
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "controlpanel.settings_test",
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": broker.url,
            "HANGAR_OPERATION_DISPATCH": "celery",
            "HANGAR_HEARTBEAT_SECONDS": "0.2",
            "HANGAR_POLL_SECONDS": "0.05",
            **(env or {}),
        }
        self.log = log
        self.process = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "controlpanel",
                "worker",
                f"--pool={pool}",
                f"--concurrency={concurrency}",
                *([f"--queues={queues}"] if queues else []),
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                f"test-{log.stem}@%h",
            ],
            cwd=ROOT,
            env=env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        wait_for(
            lambda: "ready." in log.read_text() or self.process.poll() is not None,
            timeout=60,
            what="the celery worker to start",
        )
        assert self.process.poll() is None, log.read_text()

    def children(self) -> list[int]:
        """The pool's processes (prefork)."""
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in path.read_text().split()]

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def start_worker(broker, tmp_path, settings) -> Iterator:
    """Start real Celery workers on the private broker; stops them after the test."""
    settings.HANGAR_OPERATION_DISPATCH = "celery"
    settings.CELERY_BROKER_URL = broker.url
    workers: list[Worker] = []

    def start(**options) -> Worker:
        worker = Worker(broker, tmp_path / f"worker{len(workers)}.log", **options)
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()
    assert settings.HANGAR_OPERATION_DISPATCH == "celery"
