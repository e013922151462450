"""Thread-safe object storage with one global resourceVersion counter, like etcd's revision."""

from __future__ import annotations

import builtins
import copy
import pickle
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

Key = tuple[str, str, str, str]  # group, plural, namespace ("" if cluster-scoped), name


def clone(value: Any) -> Any:
    """A deep copy. Stored objects are JSON-like, which pickle copies several times faster
    than ``copy.deepcopy``; anything pickle refuses still gets a deepcopy."""
    try:
        return pickle.loads(pickle.dumps(value, pickle.HIGHEST_PROTOCOL))  # noqa: S301 - own data
    except (pickle.PicklingError, TypeError, AttributeError):
        return copy.deepcopy(value)


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

    Stored dicts are never handed out by ``get``, ``list`` and ``owned``: they return
    copies, so a caller can't change an object without going through ``put``. The
    ``scan``/``peek`` readers hand out the stored objects themselves, for in-process
    scans that only read (the controllers'); they must be called with ``lock`` held.

    Indexes by kind and namespace, by owner uid and by uid keep every lookup
    proportional to what it returns, not to the size of the store.
    """

    HISTORY = 2000

    def __init__(self) -> None:
        self.lock = threading.RLock()
        # Watches wait on this; every write notifies it.
        self.changed = threading.Condition(self.lock)
        self._objects: dict[Key, dict[str, Any]] = {}
        # (group, plural) -> namespace -> name -> the stored object
        self._index: dict[tuple[str, str], dict[str, dict[str, dict[str, Any]]]] = {}
        self._owners: dict[str, set[Key]] = {}  # owner uid -> keys of its dependents
        self._uids: dict[str, Key] = {}
        self._kind_revisions: dict[tuple[str, str], int] = {}
        self._revision = 0
        self.events: deque[Event] = deque(maxlen=self.HISTORY)
        # Called with every Event, lock held, right after the write (the controllers').
        self.listeners: list[Callable[[Event], None]] = []

    @property
    def revision(self) -> int:
        return self._revision

    def kind_revision(self, group: str, plural: str) -> int:
        """The revision of the last write to any object of this kind (0: none yet)."""
        return self._kind_revisions.get((group, plural), 0)

    def oldest_revision(self) -> int:
        with self.lock:
            return self.events[0].revision if self.events else self._revision

    # ----- reads that copy --------------------------------------------------

    def get(self, group: str, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        with self.lock:
            found = self._objects.get((group, plural, namespace, name))
            return clone(found) if found is not None else None

    # Below this method, "list" in an annotation would name it: hence builtins.list.
    def list(self, group: str, plural: str, namespace: str | None = None) -> list[dict[str, Any]]:
        """Objects of one resource sorted by namespace then name, as etcd returns them."""
        with self.lock:
            found = clone(list(self.scan(group, plural, namespace)))
        return sorted(
            found, key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"])
        )

    def owned(self, group: str, plural: str, uid: str) -> builtins.list[dict[str, Any]]:
        """Copies of the objects of one resource with an owner reference to ``uid``, sorted
        by namespace then name."""
        with self.lock:
            keys = sorted(k for k in self._owners.get(uid, ()) if k[:2] == (group, plural))
            return clone([self._objects[k] for k in keys])

    def find_uid(self, uid: str) -> tuple[str, str, dict[str, Any]] | None:
        """The (group, plural, object) with this uid, for owner references."""
        with self.lock:
            key = self._uids.get(uid)
            if key is None:
                return None
            return key[0], key[1], clone(self._objects[key])

    def items(self) -> builtins.list[tuple[str, str, dict[str, Any]]]:
        with self.lock:
            return [(g, p, clone(o)) for (g, p, _, _), o in self._objects.items()]

    def uids(self) -> set[str]:
        with self.lock:
            return set(self._uids)

    def has_uid(self, uid: str) -> bool:
        return uid in self._uids

    # ----- reads that don't copy (lock held, read only) ------------------------

    def scan(self, group: str, plural: str, namespace: str | None = None) -> Iterator[dict]:
        """The stored objects of one resource, unsorted. Read them, never change them."""
        spaces = self._index.get((group, plural))
        if not spaces:
            return iter(())
        if namespace is not None:
            return iter(list(spaces.get(namespace, {}).values()))
        return iter([obj for names in spaces.values() for obj in names.values()])

    def peek(self, group: str, plural: str, namespace: str, name: str) -> dict | None:
        """The stored object itself. Read it, never change it."""
        return self._objects.get((group, plural, namespace, name))

    def dependents(self, uid: str) -> builtins.list[tuple[Key, dict[str, Any]]]:
        """(key, stored object) of everything with an owner reference to ``uid``, sorted."""
        with self.lock:
            return [(k, self._objects[k]) for k in sorted(self._owners.get(uid, ()))]

    # ----- writes -------------------------------------------------------------

    def put(self, group: str, plural: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Store ``obj`` under a new resourceVersion and return a copy of what was stored."""
        meta = obj["metadata"]
        key = (group, plural, meta.get("namespace", ""), meta["name"])
        with self.lock:
            previous = self._objects.get(key)
            if previous is not None:
                self._unindex(key, previous)
            self._revision += 1
            stored = clone(obj)
            stored["metadata"]["resourceVersion"] = str(self._revision)
            self._objects[key] = stored
            self._index_object(key, stored)
            self._record(
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
            return clone(stored)

    def remove(self, group: str, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        """Delete and return the object; the DELETED event carries a new resourceVersion."""
        key = (group, plural, namespace, name)
        with self.lock:
            previous = self._objects.pop(key, None)
            if previous is None:
                return None
            self._unindex(key, previous)
            self._revision += 1
            gone = clone(previous)
            gone["metadata"]["resourceVersion"] = str(self._revision)
            self._record(Event(self._revision, "DELETED", group, plural, namespace, gone, previous))
            return clone(gone)

    def _record(self, event: Event) -> None:
        self._kind_revisions[(event.group, event.plural)] = event.revision
        self.events.append(event)
        for listener in self.listeners:
            listener(event)
        self.changed.notify_all()

    def _index_object(self, key: Key, obj: dict[str, Any]) -> None:
        meta = obj.get("metadata") or {}
        self._index.setdefault(key[:2], {}).setdefault(key[2], {})[key[3]] = obj
        for ref in meta.get("ownerReferences") or []:
            self._owners.setdefault(ref.get("uid", ""), set()).add(key)
        if meta.get("uid"):
            self._uids[meta["uid"]] = key

    def _unindex(self, key: Key, obj: dict[str, Any]) -> None:
        meta = obj.get("metadata") or {}
        spaces = self._index.get(key[:2], {})
        names = spaces.get(key[2], {})
        names.pop(key[3], None)
        if not names:
            spaces.pop(key[2], None)
        for ref in meta.get("ownerReferences") or []:
            owned = self._owners.get(ref.get("uid", ""))
            if owned is not None:
                owned.discard(key)
                if not owned:
                    self._owners.pop(ref.get("uid", ""), None)
        if self._uids.get(meta.get("uid", "")) == key:
            self._uids.pop(meta["uid"], None)
