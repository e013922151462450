"""One watch of a cluster's Deployments per process, shared by every rollout this process
waits for on that cluster (KubeClient.wait_rollout), instead of each waiter reading its
Deployment over and over.

The watch follows every Deployment of the cluster from a resourceVersion, resumes from
the last one it saw when the server ends the stream, lists again (to learn where to start)
when the server answers 410 Gone, and reconnects with backoff when the server cannot be
reached. It keeps no copy of the fleet: only the latest version of the Deployments that
changed in the last RECENT_SECONDS (a waiter registers a moment after its own write, and
finds there what happened in between), and of those someone waits for.

resourceVersions are compared as numbers, as the API server's are (etcd revisions); one
that is not a number is never trusted to be current, and the waiter reads the object.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from clusters.kube.errors import KubeError, KubeForbidden
from clusters.kube.kinds import kind_of
from clusters.kube.transport import Transport, api_client_for

logger = logging.getLogger(__name__)

Key = tuple[str, str]  # namespace, name
Obj = dict[str, Any]

STREAM_SECONDS = 60  # the server ends each stream after this; it is resumed at once
RECENT_SECONDS = 30.0
RECENT_MAX = 1024  # bounded whatever the fleet's size: worker memory stays flat
BACKOFF_MAX = 10.0
# A ClusterRole from before the watch (docs/cluster-access.md) refuses it: waiters read their
# Deployment every poll instead, and the watch asks again this much later, not every backoff.
FORBIDDEN_PAUSE = 600.0
DELETED = "hangar.dev/deleted"  # marks the last state of a Deployment seen deleted


class Gone(Exception):
    """The server no longer has the events since our resourceVersion (410)."""


def _backoff(failures: int) -> float:
    """Seconds before trying again after `failures` failures in a row, with jitter."""
    return random.uniform(0.5, 1.0) * min(BACKOFF_MAX, 0.5 * 2.0 ** (failures - 1))  # noqa: S311


def _version(obj: dict[str, Any] | None) -> int:
    """An object's resourceVersion as a number; -1 for none or one that is not a number."""
    text = str(((obj or {}).get("metadata") or {}).get("resourceVersion") or "")
    return int(text) if text.isdigit() else -1


class DeploymentWatch:
    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self.path = kind_of("apps/v1", "Deployment").path()
        self._changed = threading.Condition()
        # key -> (when seen, latest object): every event after `_floor` is here (the latest
        # per key); every event of a key waited for since its waiter came is in `_waited`.
        self._recent: OrderedDict[Key, tuple[float, Obj]] = OrderedDict()
        self._waited: dict[Key, Obj | None] = {}
        self._waiters: dict[Key, int] = {}
        self._floor = -1  # events up to here may have been missed: -1 while never listed
        self._cursor = -1  # the last resourceVersion the stream delivered
        self._epoch = 0  # one more at every list: what waiters knew before may be stale
        self.streaming = False  # connected and following events
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- for waiters ---------------------------------------------------------------------

    @contextmanager
    def waiting(self, namespace: str, name: str) -> Iterator[Waiter]:
        """From here until the end of the block, every event of this Deployment is kept for
        the waiter (what happened just before is in the recent events)."""
        key = (namespace, name)
        with self._changed:
            self._waiters[key] = self._waiters.get(key, 0) + 1
            found = self._recent.get(key)
            self._waited.setdefault(key, found[1] if found else None)
            waiter = Waiter(self, key, self._floor, self._epoch)
        self._start()
        try:
            yield waiter
        finally:
            with self._changed:
                self._waiters[key] -= 1
                if not self._waiters[key]:
                    del self._waiters[key]
                    self._waited.pop(key, None)

    def newest(self, waiter: Waiter) -> Obj | None:
        """The newest version of the waiter's object: what the watch delivered since the
        waiter's, or the waiter's own when nothing newer happened (as far as the stream
        has come); None when that cannot be told: the stream is down, it listed again
        since the waiter's last look, or the waiter's version is older than what the
        watch remembers. The caller reads the object then."""
        with self._changed:
            if not self.streaming or self._epoch != waiter.epoch:
                return None
            seen = self._waited.get(waiter.key)
            if seen is not None and _version(seen) > _version(waiter.known):
                return None if seen.get(DELETED) else seen
            return waiter.known if waiter.trusted else None

    def wait_for_news(self, waiter: Waiter, timeout: float) -> None:
        """Return when the waiter's object changes, the stream goes up or down or lists
        again, or after `timeout`."""
        with self._changed:
            streaming = self.streaming
            self._changed.wait_for(
                lambda: (
                    self.streaming != streaming
                    or self._epoch != waiter.epoch
                    or _version(self._waited.get(waiter.key)) > _version(waiter.known)
                ),
                timeout=timeout,
            )

    @property
    def epoch(self) -> int:
        with self._changed:
            return self._epoch

    # --- the stream ----------------------------------------------------------------------

    def _start(self) -> None:
        with self._changed:
            if self._stop.is_set() or (self._thread is not None and self._thread.is_alive()):
                return
            self._thread = threading.Thread(
                target=self._run, name=f"deployment-watch{self.path}", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                if self._cursor < 0 or self._floor < 0:
                    self._relist()
                self._follow()
                failures = 0
            except (Gone, KubeError, ValueError) as exc:
                failures += 1
                if isinstance(exc, Gone) or getattr(exc, "status", None) == 410:
                    # List again at once; only a server that keeps answering 410 is paced.
                    logger.info("deployment watch: 410 Gone, listing again")
                    with self._changed:
                        self._cursor = -1
                    if failures == 1:
                        continue
                elif isinstance(exc, KubeForbidden):
                    self._set_streaming(False)
                    logger.warning(
                        "deployment watch refused (403): the hangar ClusterRole lacks list and "
                        "watch on deployments (docs/cluster-access.md); reading each waited-for "
                        "Deployment instead, asking again in %.0f s",
                        FORBIDDEN_PAUSE,
                    )
                    self._stop.wait(FORBIDDEN_PAUSE)
                    continue
                else:
                    self._set_streaming(False)
                    logger.info("deployment watch: %s", exc)
                self._stop.wait(_backoff(failures))
        self._set_streaming(False)

    def _relist(self) -> None:
        """Where to start: the list's resourceVersion. What happened before it is not
        known here, so every waiter reads its object once (`newest` says None)."""
        answer = self.transport.request("GET", self.path, query=[("limit", 1)]).json() or {}
        version = _version(answer)
        if version < 0:
            raise ValueError("the Deployment list has no numeric resourceVersion")
        with self._changed:
            self._floor = self._cursor = version
            self._recent.clear()
            for key in self._waited:
                self._waited[key] = None
            self._epoch += 1
            self._changed.notify_all()

    def _follow(self) -> None:
        query = [
            ("watch", "true"),
            ("resourceVersion", str(self._cursor)),
            ("allowWatchBookmarks", "true"),
            ("timeoutSeconds", STREAM_SECONDS),
        ]
        lines = self.transport.stream(self.path, query=query, timeout=(5.0, STREAM_SECONDS + 30.0))
        self._set_streaming(True)
        for line in lines:
            event = json.loads(line)
            kind, obj = event.get("type"), event.get("object") or {}
            if kind == "ERROR":
                if obj.get("code") == 410:
                    raise Gone()
                raise KubeError(f"the watch ended with an error: {obj.get('message', obj)}")
            self._seen(kind, obj)
            if self._stop.is_set():
                return

    def _seen(self, kind: str, obj: Obj) -> None:
        version = _version(obj)
        with self._changed:
            if version > self._cursor:
                self._cursor = version
            if kind == "BOOKMARK":
                return
            meta = obj.get("metadata") or {}
            key = (meta.get("namespace", ""), meta.get("name", ""))
            obj.get("metadata", {}).pop("managedFields", None)  # not needed, and large
            now = time.monotonic()
            self._recent[key] = (now, obj)
            self._recent.move_to_end(key)
            while self._recent:
                oldest_key, (seen_at, oldest) = next(iter(self._recent.items()))
                if len(self._recent) <= RECENT_MAX and now - seen_at <= RECENT_SECONDS:
                    break
                del self._recent[oldest_key]
                self._floor = max(self._floor, _version(oldest))
            if kind == "DELETED":
                obj[DELETED] = True  # the waiter reads it, and learns it is gone
            if key in self._waited:
                self._waited[key] = obj
            self._changed.notify_all()

    def _set_streaming(self, value: bool) -> None:
        with self._changed:
            if self.streaming != value:
                self.streaming = value
                self._changed.notify_all()


class Waiter:
    """One wait for one Deployment: what is known of it, and waking on its events."""

    def __init__(self, watch: DeploymentWatch, key: Key, floor: int, epoch: int) -> None:
        self.watch = watch
        self.key = key
        self.known: Obj | None = None
        self.trusted = False  # whether `known` was current when the waiter registered
        self._floor = floor  # the watch remembered events after this one then
        self.epoch = epoch  # the watch's list that the waiter's knowledge goes with

    def knows(self, obj: Obj | None) -> None:
        """`obj` is the object as this process wrote or read it before the wait."""
        self.known = obj
        self.trusted = obj is not None and 0 <= self._floor <= _version(obj)

    def read(self, fetch: Callable[[], Obj]) -> Obj:
        """Read the object now (`fetch`): current from here on, unless the watch lists
        again meanwhile (then it is read again at the next look)."""
        epoch = self.watch.epoch
        self.known = fetch()
        self.trusted, self.epoch = True, epoch
        return self.known

    def newest(self) -> Obj | None:
        """The newest version known without asking the server; None: read it."""
        found = self.watch.newest(self)
        if found is not None:
            self.known = found
        return found

    def wait(self, timeout: float) -> None:
        self.watch.wait_for_news(self, timeout)


_watches: dict[int, tuple[Any, DeploymentWatch]] = {}
_watches_lock = threading.Lock()


def deployment_watch(cluster_id: int, kubeconfig: str) -> DeploymentWatch:
    """This process's watch of the cluster's Deployments, on a client of its own (a
    stream holds its connection), made anew when the cluster's kubeconfig changes."""
    from clusters.kube.transport import build_api_client

    api_client = api_client_for(cluster_id, kubeconfig)
    with _watches_lock:
        found = _watches.get(cluster_id)
        if found is not None and found[0] is api_client:
            return found[1]
        if found is not None:
            found[1].stop()
        watch = DeploymentWatch(Transport(build_api_client(kubeconfig)))
        _watches[cluster_id] = (api_client, watch)
        return watch


def forget_watch(cluster_id: int) -> None:
    with _watches_lock:
        found = _watches.pop(cluster_id, None)
    if found is not None:
        found[1].stop()
