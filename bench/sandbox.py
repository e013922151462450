"""The Kubernetes API emulator in a process of its own, with a fixed latency per request.

    python bench/sandbox.py --port 0 --latency 0.005

Prints one line ``ready <url>`` once listening, then answers commands on stdin, one per
line, with one line of JSON on stdout:

    stats   requests received since the last reset: by HTTP method, writes, applies
    reset   forget the requests received so far
    objects how many objects of each kind it holds
    fault <json>    add a fault rule (the keyword arguments of Faults.add), for the soak
    clear-faults    remove every fault rule but the fixed latency
    lose-state      forget every object, as an API server whose etcd was lost
    quit    stop

A process of its own, so the emulator's own CPU time (it is Python too) does not share a
GIL with the harness or the tools being measured.

The emulator stands for a remote API server whose cost is the fixed latency, so this process
makes its bookkeeping scale (`scale_for_benchmarks`, off with --plain): as shipped, every
list of one kind scans and deep-copies every object of every kind, the controllers'
pass (after every write) reconciles every Deployment, listing ReplicaSets and pods that way,
and garbage collection deep-copies the whole store. That is quadratic in the number of
environments: at 40 environments the emulator alone spent a core during an image update,
and at 2,000 it would dominate everything measured. Here lists read an index by kind,
Deployments whose rollout is complete and that did not change since are not reconciled
again, deleting an object finds its dependents through an index of owner references, kinds are
looked up in a cache instead of re-reading every CRD per request, deep copies of the
stored JSON go through pickle, and
namespace termination and garbage collection (nothing but pods is deleted in the
benchmarks) run every 5 seconds instead of after every write. Responses are the same.
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import pickle
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from clusters.sandbox import (
    SandboxCluster,
    apply,
    cert_manager_crds,
    jobs,
    operations,
    patches,
    rollouts,
    workloads,
)
from clusters.sandbox import store as store_module
from clusters.sandbox.resources import BUILTIN, resources_from_crd
from clusters.sandbox.store import Store

APPLY = "application/apply-patch+yaml"


class IndexedStore(Store):
    """The emulator's store with indexes: objects by kind and namespace, and by owner."""

    def build_index(self) -> None:
        with self.lock:
            self.kind_revision: dict[tuple[str, str], int] = {}
            # (group, plural) -> namespace -> name -> the stored object
            self._index: dict[tuple[str, str], dict[str, dict[str, dict[str, Any]]]] = {}
            self._owners: dict[str, set[tuple[str, str, str, str]]] = {}
            for key, obj in self._objects.items():
                self._add(key, obj)

    def _add(self, key: tuple[str, str, str, str], obj: dict[str, Any]) -> None:
        self._index.setdefault(key[:2], {}).setdefault(key[2], {})[key[3]] = obj
        for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
            self._owners.setdefault(ref.get("uid", ""), set()).add(key)

    def _drop(self, key: tuple[str, str, str, str]) -> None:
        obj = self._objects.get(key)
        if obj is None:
            return
        self._index.get(key[:2], {}).get(key[2], {}).pop(key[3], None)
        for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
            self._owners.get(ref.get("uid", ""), set()).discard(key)

    def put(self, group: str, plural: str, obj: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            meta = obj["metadata"]
            key = (group, plural, meta.get("namespace", ""), meta["name"])
            self._drop(key)
            stored = super().put(group, plural, obj)
            self._add(key, self._objects[key])
            self.kind_revision[key[:2]] = self._revision
            return stored

    def remove(self, group: str, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        with self.lock:
            key = (group, plural, namespace, name)
            self._drop(key)
            gone = super().remove(group, plural, namespace, name)
            self.kind_revision[key[:2]] = self._revision
            return gone

    def list(self, group: str, plural: str, namespace: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            spaces = self._index.get((group, plural), {})
            if namespace is None:
                stored = [obj for names in spaces.values() for obj in names.values()]
            else:
                stored = list(spaces.get(namespace, {}).values())
            found = fast_deepcopy(stored)
        return sorted(
            found, key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"])
        )

    def owned_by(self, uid: str) -> list[tuple[str, str, dict[str, Any]]]:
        """Objects with an owner reference to `uid` (stored objects: read, never change)."""
        with self.lock:
            keys = sorted(self._owners.get(uid, ()))
            return [(k[0], k[1], self._objects[k]) for k in keys if k in self._objects]

    def items(self) -> list[tuple[str, str, dict[str, Any]]]:
        # The callers (garbage collection) only read: no deep copy of the whole store.
        with self.lock:
            return [(g, p, o) for (g, p, _, _), o in self._objects.items()]

    def versions(self, group: str, plural: str) -> list[tuple[str, str, str, str]]:
        """(namespace, name, uid, resourceVersion) of every object of one kind, no copies."""
        with self.lock:
            return [
                (ns, name, obj["metadata"].get("uid", ""), obj["metadata"]["resourceVersion"])
                for ns, names in self._index.get((group, plural), {}).items()
                for name, obj in names.items()
            ]

    def stored(self, group: str, plural: str, namespace: str, name: str) -> dict | None:
        """The stored object itself (read, never change)."""
        return self._index.get((group, plural), {}).get(namespace, {}).get(name)


def rollout_complete(deployment: dict[str, Any]) -> bool:
    spec, status = deployment.get("spec") or {}, deployment.get("status") or {}
    desired = int(spec.get("replicas", 1))
    return (
        status.get("observedGeneration") == deployment["metadata"].get("generation")
        and status.get("updatedReplicas", 0) == desired
        and status.get("availableReplicas", 0) == desired
        and status.get("replicas", 0) == desired
    )


def fast_deepcopy(value: Any, memo: Any = None) -> Any:
    """copy.deepcopy for JSON-like data (all the emulator stores), several times faster."""
    return pickle.loads(pickle.dumps(value, pickle.HIGHEST_PROTOCOL))  # noqa: S301 - own data


class FastCopy:
    deepcopy = staticmethod(fast_deepcopy)
    copy = staticmethod(copy.copy)


def scale_for_benchmarks(sandbox: SandboxCluster) -> None:
    """See the module's docstring: same answers, bookkeeping that scales."""
    for module in (apply, jobs, operations, patches, rollouts, store_module, workloads):
        module.copy = FastCopy
    store = sandbox.store
    store.__class__ = IndexedStore
    store.build_index()
    crd_key = ("apiextensions.k8s.io", "customresourcedefinitions")
    served: list[Any] = [None, None]  # (CRD revision, resource types)

    def all_types() -> list[Any]:
        # Every request looks its kind up; as shipped that re-reads (deep-copies) and parses
        # every CRD each time. Cached until a CRD changes.
        revision = store.kind_revision.get(crd_key, 0)
        if served[0] != revision:
            found = list(BUILTIN)
            for crd in store.list(*crd_key):
                found.extend(resources_from_crd(crd))
            served[:] = [revision, found]
        return served[1]

    sandbox.registry.all = all_types
    controllers = sandbox.controllers
    settled: dict[str, str] = {}  # Deployment uid -> resourceVersion once rolled out
    last_slow = [0.0]

    def tick() -> None:
        now = time.monotonic()
        if now - last_slow[0] >= 5.0:
            last_slow[0] = now
            controllers._namespaces(now)
            controllers._garbage_collect()
            if now - controllers._last_housekeeping >= controllers.HOUSEKEEPING_INTERVAL:
                controllers._last_housekeeping = now
                controllers._housekeeping()
        for namespace, name, uid, version in store.versions("apps", "deployments"):
            if settled.get(uid) == version:
                continue
            with store.lock:
                current = store.get("apps", "deployments", namespace, name)
                if current is None:
                    continue
                controllers.deployments.reconcile(current, now)
                after = store.stored("apps", "deployments", namespace, name)
                if after is not None and rollout_complete(after):
                    settled[uid] = after["metadata"]["resourceVersion"]
        for listed in store.list("batch", "jobs"):
            meta = listed["metadata"]
            with store.lock:
                current = store.get("batch", "jobs", meta["namespace"], meta["name"])
                if current is not None:
                    controllers.jobs.reconcile(current, now)

    controllers.tick = tick
    api = sandbox.api

    def remove(rt: Any, obj: dict[str, Any], propagation: str) -> None:
        # Api._remove, finding dependents through the owner index instead of a deep copy
        # of the whole store per deletion.
        meta = obj["metadata"]
        store.remove(rt.group, rt.plural, meta.get("namespace", ""), meta["name"])
        for group, plural, dependent in store.owned_by(meta.get("uid", "")):
            dep_rt = next((r for r in api.registry.all() if r.key == (group, plural)), None)
            if dep_rt is None:
                continue
            if propagation == "Orphan":
                uid = meta.get("uid", "")
                orphan = copy.deepcopy(dependent)
                refs = [r for r in orphan["metadata"]["ownerReferences"] if r.get("uid") != uid]
                if refs:
                    orphan["metadata"]["ownerReferences"] = refs
                else:
                    orphan["metadata"].pop("ownerReferences", None)
                store.put(group, plural, orphan)
            else:
                remove(dep_rt, dependent, "Background")

    api._remove = remove


def stats(sandbox: SandboxCluster) -> dict:
    records = list(sandbox.requests)
    methods = Counter(r.method for r in records)
    statuses = Counter(str(r.status) for r in records)
    return {
        "requests": len(records),
        "by_method": dict(sorted(methods.items())),
        "writes": sum(1 for r in records if r.is_write),
        "applies": sum(
            1 for r in records if r.method == "PATCH" and r.content_type.startswith(APPLY)
        ),
        "by_status": dict(sorted(statuses.items())),
    }


def objects(sandbox: SandboxCluster) -> dict:
    counts: Counter[str] = Counter()
    for _group, plural, _ns, _name in list(sandbox.store._objects):
        counts[plural] += 1
    return dict(sorted(counts.items()))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.005)
    parser.add_argument("--rollout-delay", type=float, default=0.0)
    parser.add_argument("--token", default=None, help="require this bearer token")
    parser.add_argument("--plain", action="store_true", help="the emulator as shipped")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    sandbox = SandboxCluster(
        args.host,
        args.port,
        token=args.token,
        rollout_delay=args.rollout_delay,
        nodes=[{"name": f"bench-node-{i}", "pool": "bench"} for i in range(3)],
        objects=cert_manager_crds(),
    )
    if not args.plain:
        scale_for_benchmarks(sandbox)
    if args.latency > 0:
        sandbox.faults.add(latency=args.latency, times=None)
    sandbox.start()
    print(f"ready {sandbox.url}", flush=True)
    try:
        for line in sys.stdin:
            command = line.strip()
            if command == "stats":
                answer: dict = stats(sandbox)
            elif command == "reset":
                sandbox.requests.clear()
                answer = {"ok": True}
            elif command == "objects":
                answer = objects(sandbox)
            elif command.startswith("fault "):
                rule = sandbox.faults.add(**json.loads(command.split(" ", 1)[1]))
                answer = {"ok": True, "rule": repr(rule)}
            elif command == "clear-faults":
                for rule in sandbox.faults.rules:
                    if rule.times is not None or rule.status or rule.drop or rule.lose_answer:
                        sandbox.faults.remove(rule)
                answer = {"ok": True}
            elif command == "lose-state":
                answer = {"lost": sandbox.lose_state()}
            elif command == "quit":
                break
            else:
                answer = {"error": f"unknown command {command!r}"}
            print(json.dumps(answer), flush=True)
    finally:
        sandbox.stop()


if __name__ == "__main__":
    main()
