"""Fake controllers: deployments roll out, jobs run, namespaces finish terminating.

They run in one background thread that sleeps until a write touches what they
watch (the store tells them of every write) or the next deadline of one of their
objects comes due (a rollout delay, a job's run time, a progress deadline, a
namespace's deletion delay, housekeeping), so an idle sandbox costs no CPU
however many objects it holds. Timing is driven by delays counted from the moment
a controller first sees a new generation, so tests can wait for an outcome with a
short deadline instead of sleeping.

What wakes which controller: a Deployment's own writes, and writes to ReplicaSets
and pods in its namespace (what it reads); a Job's own writes and pods in its
namespace; a namespace marked for deletion; any object written with owner
references, or whose owner is deleted (garbage collection).
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections.abc import Mapping

from .jobs import JobController
from .meta import rfc3339
from .operations import Api
from .reconcile import Reconciler
from .rollouts import DeploymentController
from .store import Event, Key, clone

log = logging.getLogger(__name__)


# (group, plural) the two workload controllers reconcile, and the kinds whose writes in a
# namespace may change their outcome there.
WORKLOADS = {("apps", "deployments"): "deployments", ("batch", "jobs"): "jobs"}
READS = {
    ("apps", "replicasets"): ("deployments",),
    ("", "pods"): ("deployments", "jobs"),
}
RETRY_SECONDS = 0.1  # after a reconcile failed


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
        rollout_spread: float = 0.0,
        job_duration: float = 0.2,
        namespace_deletion_delay: float = 0.3,
        execute_tool_jobs: bool = False,
        tool_job_env: Mapping[str, str] | None = None,
    ) -> None:
        self.api = api
        self.store = api.store
        self.deployments = DeploymentController(api, rollout_delay, rollout_spread)
        self.jobs = JobController(
            api, job_duration, execute_tool_jobs=execute_tool_jobs, tool_env=tool_job_env
        )
        self._namespace_deletion_delay = namespace_deletion_delay
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_housekeeping = time.monotonic()
        # What the next pass must look at; guarded by the store's lock (the listener
        # fills them while a write holds it).
        self._everything = True
        self._dirty: dict[str, set[tuple[str, str]]] = {"deployments": set(), "jobs": set()}
        self._dirty_namespaces: dict[str, set[str]] = {"deployments": set(), "jobs": set()}
        self._terminating: set[str] = set()  # namespaces marked for deletion
        self._owned_written: set[Key] = set()  # objects written with owner references
        self._gone_uids: set[str] = set()  # uids of deleted objects: check their dependents
        # Deadlines: a heap of (time, controller, namespace, name), and the one time each
        # object is due (stale heap entries are skipped).
        self._deadlines: list[tuple[float, str, str, str]] = []
        self._due: dict[tuple[str, str, str], float] = {}
        self._wake = threading.Event()
        self.store.listeners.append(self._on_write)

    @property
    def rollout_delay(self) -> float:
        return self.deployments.rollout_delay

    @rollout_delay.setter
    def rollout_delay(self, seconds: float) -> None:
        self.deployments.rollout_delay = seconds
        self.kick()

    @property
    def job_duration(self) -> float:
        return self.jobs.job_duration

    @job_duration.setter
    def job_duration(self, seconds: float) -> None:
        self.jobs.job_duration = seconds
        self.kick()

    @property
    def namespace_deletion_delay(self) -> float:
        return self._namespace_deletion_delay

    @namespace_deletion_delay.setter
    def namespace_deletion_delay(self, seconds: float) -> None:
        self._namespace_deletion_delay = seconds
        self.kick()

    def kick(self) -> None:
        """Look at everything on the next pass (a setting that every deadline uses changed)."""
        with self.store.lock:
            self._everything = True
        self._wake.set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="sandbox-controllers", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout=5)
        self.jobs.stop_all()

    # ----- waking ---------------------------------------------------------------

    def _on_write(self, event: Event) -> None:
        """The store's listener, called with its lock held: note what to look at."""
        key = (event.group, event.plural)
        if key == ("", "events"):
            return  # nothing watches Events
        name = event.obj["metadata"]["name"]
        noted = False
        controller = WORKLOADS.get(key)
        if controller is not None:
            self._dirty[controller].add((event.namespace, name))
            noted = True
        for reader in READS.get(key, ()):
            self._dirty_namespaces[reader].add(event.namespace)
            noted = True
        deleting = event.obj["metadata"].get("deletionTimestamp")
        if key == ("", "namespaces") and event.type != "DELETED" and deleting:
            self._terminating.add(name)
            noted = True
        if event.type == "DELETED":
            uid = event.obj["metadata"].get("uid")
            if uid:
                self._gone_uids.add(uid)
                noted = True
        elif event.obj["metadata"].get("ownerReferences"):
            self._owned_written.add((*key, event.namespace, name))
            noted = True
        if noted:
            self._wake.set()

    def _schedule(self, controller: str, namespace: str, name: str, at: float | None) -> None:
        """Lock held: reconcile this object again at ``at`` (None: not for time's sake)."""
        key = (controller, namespace, name)
        if at is None:
            self._due.pop(key, None)
        elif self._due.get(key) != at:
            self._due[key] = at
            heapq.heappush(self._deadlines, (at, controller, namespace, name))

    def _next_wake(self, now: float) -> float:
        """Seconds until the earliest deadline."""
        with self.store.lock:
            while self._deadlines:
                at, controller, namespace, name = self._deadlines[0]
                if self._due.get((controller, namespace, name)) == at:
                    break
                heapq.heappop(self._deadlines)  # stale: rescheduled or dropped since
            earliest = self._last_housekeeping + self.HOUSEKEEPING_INTERVAL
            if self._deadlines:
                earliest = min(earliest, self._deadlines[0][0])
            for name in self._terminating:
                ns = self.store.peek("", "namespaces", "", name)
                started = self.api.terminating.get(ns["metadata"]["uid"]) if ns else None
                if started is not None:
                    earliest = min(earliest, started + self.namespace_deletion_delay)
                else:
                    earliest = now  # not looked at yet
        return max(earliest - now, 0.0)

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(timeout=self._next_wake(time.monotonic()))
            self._wake.clear()
            if self._stopping.is_set():
                return
            try:
                self._pass(time.monotonic())
            except Exception:  # a broken object must not kill the controllers
                log.exception("sandbox controller pass failed")

    # ----- passes -------------------------------------------------------------------

    def tick(self) -> None:
        """One reconcile pass over everything; safe to call from tests directly."""
        self.kick()
        self._pass(time.monotonic())

    def _pass(self, now: float) -> None:
        """Reconcile what changed and what is due (everything after a kick)."""
        work = self._take(now)
        self._namespaces(now)
        self._garbage_collect(work["collect"])
        if now - self._last_housekeeping >= self.HOUSEKEEPING_INTERVAL:
            self._last_housekeeping = now
            self._housekeeping()
        for group, plural, controller in (
            ("apps", "deployments", self.deployments),
            ("batch", "jobs", self.jobs),
        ):
            name_of = WORKLOADS[(group, plural)]
            for namespace, name in sorted(work[name_of]):
                self._reconcile(controller, name_of, group, plural, namespace, name, now)

    def _take(self, now: float) -> dict[str, set]:
        """Lock held briefly: empty the notes and the due deadlines into this pass's work."""
        with self.store.lock:
            work: dict[str, set] = {
                "deployments": self._dirty["deployments"],
                "jobs": self._dirty["jobs"],
                "collect": self._owned_written,
            }
            self._dirty = {"deployments": set(), "jobs": set()}
            self._owned_written = set()
            gone, self._gone_uids = self._gone_uids, set()
            for uid in gone:
                work["collect"].update(key for key, _ in self.store.dependents(uid))
            spaces = self._dirty_namespaces
            self._dirty_namespaces = {"deployments": set(), "jobs": set()}
            for group, plural in WORKLOADS:
                controller = WORKLOADS[(group, plural)]
                if self._everything:
                    namespaces = None
                elif spaces[controller]:
                    namespaces = spaces[controller]
                else:
                    continue
                for namespace in namespaces if namespaces is not None else (None,):
                    for obj in self.store.scan(group, plural, namespace):
                        meta = obj["metadata"]
                        work[controller].add((meta["namespace"], meta["name"]))
            if self._everything:
                self._everything = False
                for ns in self.store.scan("", "namespaces"):
                    if ns["metadata"].get("deletionTimestamp"):
                        self._terminating.add(ns["metadata"]["name"])
                for key, obj in self.store._objects.items():
                    if obj["metadata"].get("ownerReferences"):
                        work["collect"].add(key)
            while self._deadlines and self._deadlines[0][0] <= now:
                at, controller, namespace, name = heapq.heappop(self._deadlines)
                if self._due.get((controller, namespace, name)) == at:
                    del self._due[(controller, namespace, name)]
                    work[controller].add((namespace, name))
        return work

    def _reconcile(
        self,
        controller: Reconciler,
        name_of: str,
        group: str,
        plural: str,
        namespace: str,
        name: str,
        now: float,
    ) -> None:
        with self.store.lock:
            # Read under the lock so a write racing the pass is not lost.
            current = self.store.get(group, plural, namespace, name)
            if current is None:
                self._schedule(name_of, namespace, name, None)
                return
            try:
                wake = controller.reconcile(current, now)  # type: ignore[attr-defined]
            except Exception:  # a broken object must not stop the others; try it again
                log.exception("sandbox controller failed on %s %s/%s", plural, namespace, name)
                wake = now + RETRY_SECONDS
            self._schedule(name_of, namespace, name, wake)

    # ----- namespaces and garbage collection -------------------------------

    def _namespaces(self, now: float) -> None:
        with self.store.lock:
            for name in sorted(self._terminating):
                ns = self.store.peek("", "namespaces", "", name)
                meta = ns["metadata"] if ns else {}
                if not meta.get("deletionTimestamp"):
                    self._terminating.discard(name)
                    continue
                started = self.api.terminating.setdefault(meta["uid"], now)
                if now - started < self.namespace_deletion_delay:
                    continue
                uid = meta["uid"]
                for rt in self.api.registry.all():
                    if rt.namespaced:
                        for obj in list(self.store.scan(rt.group, rt.plural, name)):
                            self.store.remove(rt.group, rt.plural, name, obj["metadata"]["name"])
                self.store.remove("", "namespaces", "", name)
                self.api.terminating.pop(uid, None)
                self._terminating.discard(name)

    def _garbage_collect(self, candidates: set[Key]) -> None:
        """Delete objects all of whose owners are gone, like the garbage collector."""
        with self.store.lock:
            for key in sorted(candidates):
                obj = self.store.peek(*key)
                refs = (obj or {}).get("metadata", {}).get("ownerReferences") or []
                if refs and not any(self.store.has_uid(r.get("uid", "")) for r in refs):
                    rt = self.api.registry.by_key(key[0], key[1])
                    if rt is not None:
                        self.api.system_delete(rt, clone(obj))

    def _housekeeping(self) -> None:
        cutoff = rfc3339(time.time() - self.EVENT_TTL)
        with self.store.lock:
            for event in list(self.store.scan("", "events")):
                if (event.get("lastTimestamp") or "9") < cutoff:
                    meta = event["metadata"]
                    self.store.remove("", "events", meta["namespace"], meta["name"])
            live = self.store.uids()
            for controller in (self.deployments, self.jobs):
                controller.forget_all_but(live)
