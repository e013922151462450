"""Fake controllers: deployments roll out, jobs run, namespaces finish terminating.

They run in one background thread that wakes on every write and at least every
``interval`` seconds. Timing is driven by delays counted from the moment a
controller first sees a new generation, so tests can wait for an outcome with a
short deadline instead of sleeping.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping

from .jobs import JobController
from .meta import rfc3339
from .operations import Api
from .rollouts import DeploymentController

log = logging.getLogger(__name__)


class Controllers:
    # Events expire like the apiserver's default --event-ttl, so a long-running
    # dev sandbox does not grow without bound.
    EVENT_TTL = 3600.0
    HOUSEKEEPING_INTERVAL = 10.0

    def __init__(
        self,
        api: Api,
        *,
        rollout_delay: float = 0.2,
        job_duration: float = 0.2,
        namespace_deletion_delay: float = 0.3,
        interval: float = 0.02,
        execute_tool_jobs: bool = False,
        tool_job_env: Mapping[str, str] | None = None,
    ) -> None:
        self.api = api
        self.store = api.store
        self.deployments = DeploymentController(api, rollout_delay)
        self.jobs = JobController(
            api, job_duration, execute_tool_jobs=execute_tool_jobs, tool_env=tool_job_env
        )
        self.namespace_deletion_delay = namespace_deletion_delay
        self.interval = interval
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_housekeeping = time.monotonic()

    @property
    def rollout_delay(self) -> float:
        return self.deployments.rollout_delay

    @rollout_delay.setter
    def rollout_delay(self, seconds: float) -> None:
        self.deployments.rollout_delay = seconds

    @property
    def job_duration(self) -> float:
        return self.jobs.job_duration

    @job_duration.setter
    def job_duration(self, seconds: float) -> None:
        self.jobs.job_duration = seconds

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="sandbox-controllers", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        with self.store.changed:
            self.store.changed.notify_all()
        if self._thread:
            self._thread.join(timeout=5)
        self.jobs.stop_all()

    def _run(self) -> None:
        while not self._stopping.is_set():
            with self.store.changed:
                self.store.changed.wait(timeout=self.interval)
            if self._stopping.is_set():
                return
            try:
                self.tick()
            except Exception:  # a broken object must not kill the controllers
                log.exception("sandbox controller tick failed")

    def tick(self) -> None:
        """One reconcile pass over everything; safe to call from tests directly."""
        now = time.monotonic()
        self._namespaces(now)
        self._garbage_collect()
        if now - self._last_housekeeping >= self.HOUSEKEEPING_INTERVAL:
            self._last_housekeeping = now
            self._housekeeping()
        for group, kind, controller in (
            ("apps", "deployments", self.deployments),
            ("batch", "jobs", self.jobs),
        ):
            for listed in self.store.list(group, kind):
                meta = listed["metadata"]
                with self.store.lock:
                    # Re-read under the lock so a write racing the tick is not lost.
                    current = self.store.get(group, kind, meta["namespace"], meta["name"])
                    if current is not None:
                        controller.reconcile(current, now)

    # ----- namespaces and garbage collection -------------------------------

    def _namespaces(self, now: float) -> None:
        for ns in self.store.list("", "namespaces"):
            meta = ns["metadata"]
            if not meta.get("deletionTimestamp"):
                continue
            started = self.api.terminating.setdefault(meta["uid"], now)
            if now - started >= self.namespace_deletion_delay:
                with self.store.lock:
                    for rt in self.api.registry.all():
                        if rt.namespaced:
                            for obj in self.store.list(rt.group, rt.plural, meta["name"]):
                                self.store.remove(
                                    rt.group, rt.plural, meta["name"], obj["metadata"]["name"]
                                )
                    self.store.remove("", "namespaces", "", meta["name"])
                    self.api.terminating.pop(meta["uid"], None)

    def _garbage_collect(self) -> None:
        """Delete objects all of whose owners are gone, like the garbage collector."""
        with self.store.lock:
            uids = self.store.uids()
            for group, plural, obj in self.store.items():
                refs = obj["metadata"].get("ownerReferences") or []
                if refs and not any(r.get("uid") in uids for r in refs):
                    rt = next(
                        (r for r in self.api.registry.all() if r.key == (group, plural)), None
                    )
                    if rt is not None and self.store.get(
                        group,
                        plural,
                        obj["metadata"].get("namespace", ""),
                        obj["metadata"]["name"],
                    ):
                        self.api.system_delete(rt, obj)

    def _housekeeping(self) -> None:
        cutoff = rfc3339(time.time() - self.EVENT_TTL)
        with self.store.lock:
            for event in self.store.list("", "events"):
                if (event.get("lastTimestamp") or "9") < cutoff:
                    meta = event["metadata"]
                    self.store.remove("", "events", meta["namespace"], meta["name"])
            live = self.store.uids()
            for controller in (self.deployments, self.jobs):
                controller.forget_all_but(live)
