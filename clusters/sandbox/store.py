"""Thread-safe object storage with one global resourceVersion counter, like etcd's revision."""

from __future__ import annotations

import copy
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

Key = tuple[str, str, str, str]  # group, plural, namespace ("" if cluster-scoped), name


@dataclass(frozen=True)
class Event:
    """One write, kept for watches: ADDED, MODIFIED or DELETED."""

    revision: int
    type: str
    group: str
    plural: str
    namespace: str
    obj: dict[str, Any]
    previous: dict[str, Any] | None


class Store:
    """Objects by key. Every caller that reads-then-writes holds ``lock``.

    Stored dicts are never handed out: ``get`` and ``list`` return copies, so
    a caller can't change an object without going through ``put``.
    """

    HISTORY = 2000

    def __init__(self) -> None:
        self.lock = threading.RLock()
        # Watches and controllers wait on this; every write notifies it.
        self.changed = threading.Condition(self.lock)
        self._objects: dict[Key, dict[str, Any]] = {}
        self._revision = 0
        self.events: deque[Event] = deque(maxlen=self.HISTORY)

    @property
    def revision(self) -> int:
        return self._revision

    def oldest_revision(self) -> int:
        with self.lock:
            return self.events[0].revision if self.events else self._revision

    def get(self, group: str, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        with self.lock:
            found = self._objects.get((group, plural, namespace, name))
            return copy.deepcopy(found) if found is not None else None

    def list(self, group: str, plural: str, namespace: str | None = None) -> list[dict[str, Any]]:
        """Objects of one resource sorted by namespace then name, as etcd returns them."""
        with self.lock:
            found = [
                copy.deepcopy(obj)
                for (g, p, ns, _), obj in self._objects.items()
                if g == group and p == plural and (namespace is None or ns == namespace)
            ]
        return sorted(
            found, key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"])
        )

    def put(self, group: str, plural: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Store ``obj`` under a new resourceVersion and return a copy of what was stored."""
        meta = obj["metadata"]
        key = (group, plural, meta.get("namespace", ""), meta["name"])
        with self.lock:
            previous = self._objects.get(key)
            self._revision += 1
            stored = copy.deepcopy(obj)
            stored["metadata"]["resourceVersion"] = str(self._revision)
            self._objects[key] = stored
            self.events.append(
                Event(
                    self._revision,
                    "MODIFIED" if previous else "ADDED",
                    group,
                    plural,
                    key[2],
                    stored,
                    previous,
                )
            )
            self.changed.notify_all()
            return copy.deepcopy(stored)

    def remove(self, group: str, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        """Delete and return the object; the DELETED event carries a new resourceVersion."""
        with self.lock:
            previous = self._objects.pop((group, plural, namespace, name), None)
            if previous is None:
                return None
            self._revision += 1
            gone = copy.deepcopy(previous)
            gone["metadata"]["resourceVersion"] = str(self._revision)
            self.events.append(
                Event(self._revision, "DELETED", group, plural, namespace, gone, previous)
            )
            self.changed.notify_all()
            return copy.deepcopy(gone)

    def items(self) -> list[tuple[str, str, dict[str, Any]]]:
        with self.lock:
            return [(g, p, copy.deepcopy(o)) for (g, p, _, _), o in self._objects.items()]

    def uids(self) -> set[str]:
        with self.lock:
            return {o["metadata"].get("uid", "") for o in self._objects.values()}
