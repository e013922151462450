"""DELETE and DELETE of a collection: preconditions, finalizers, propagation to dependents,
and a namespace's termination."""

from __future__ import annotations

import copy
import time
from typing import Any

from . import errors
from .calls import Options, Result
from .commit import Committer
from .errors import ApiError
from .meta import rfc3339
from .reads import Reads
from .resources import ResourceType

JOB_ORPHAN_WARNING = (
    '299 - "child pods are preserved by default when jobs are deleted; set '
    "propagationPolicy=Background to remove them or set propagationPolicy=Orphan to "
    'suppress this warning"'
)


def success_status(rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
    details: dict[str, Any] = {"name": obj["metadata"]["name"]}
    if rt.group:
        details["group"] = rt.group
    details.update(kind=rt.plural, uid=obj["metadata"].get("uid", ""))
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": details,
    }


class Deletion(Reads, Committer):
    terminating: dict[str, float]

    def delete(self, rt: ResourceType, namespace: str, name: str, opts: Options) -> Result:
        with self.store.lock:
            obj = self._require(rt, namespace, name)
            meta = obj["metadata"]
            for key, field_name in (("uid", "UID"), ("resourceVersion", "ResourceVersion")):
                wanted = opts.preconditions.get(key)
                if wanted and wanted != meta.get(key):
                    raise errors.conflict(
                        rt.plural,
                        rt.group,
                        name,
                        f"Precondition failed: {field_name} in precondition: {wanted}, "
                        f"{field_name} in object meta: {meta.get(key)}",
                    )
            headers: dict[str, str] = {}
            propagation = opts.propagation
            if propagation is None:
                propagation = "Orphan" if rt.kind == "Job" else "Background"
                if rt.kind == "Job":
                    headers["Warning"] = JOB_ORPHAN_WARNING
            if opts.dry_run:
                return Result(200, obj, headers)
            if rt.kind == "Namespace":
                return Result(200, self._terminate_namespace(obj), headers)
            if meta.get("finalizers"):
                # Finalizers hold the object, marked for deletion, until removed.
                if not meta.get("deletionTimestamp"):
                    pending = copy.deepcopy(obj)
                    pending["metadata"]["deletionTimestamp"] = rfc3339()
                    pending["metadata"]["deletionGracePeriodSeconds"] = 0
                    obj = self.store.put(rt.group, rt.plural, pending)
                return Result(200, obj, headers)
            self._remove(rt, obj, propagation)
            if rt.kind == "Pod" or propagation == "Foreground":
                # Graceful deletions answer with the object, not a Status.
                gone = copy.deepcopy(obj)
                gone["metadata"].setdefault("deletionTimestamp", rfc3339())
                gone["metadata"].setdefault(
                    "deletionGracePeriodSeconds",
                    (obj.get("spec") or {}).get("terminationGracePeriodSeconds", 30),
                )
                return Result(200, gone, headers)
            return Result(200, success_status(rt, obj), headers)

    def _terminate_namespace(self, ns: dict[str, Any]) -> dict[str, Any]:
        meta = ns["metadata"]
        if meta.get("deletionTimestamp"):
            raise errors.conflict(
                "namespaces",
                "",
                meta["name"],
                "The system is ensuring all content is removed from this namespace.  Upon "
                "completion, this namespace will automatically be purged by the system.",
            )
        ns = copy.deepcopy(ns)
        ns["metadata"]["deletionTimestamp"] = rfc3339()
        ns.setdefault("status", {})["phase"] = "Terminating"
        stored = self.store.put("", "namespaces", ns)
        self.terminating[meta["uid"]] = time.monotonic()
        for rt in self.registry.all():
            if rt.namespaced:
                for obj in self.store.list(rt.group, rt.plural, meta["name"]):
                    self.store.remove(rt.group, rt.plural, meta["name"], obj["metadata"]["name"])
        return stored

    def delete_collection(
        self, rt: ResourceType, namespace: str | None, query: dict[str, str], opts: Options
    ) -> Result:
        listed = self.list(rt, namespace, query).body
        deleted = []
        with self.store.lock:
            for item in listed["items"]:
                meta = item["metadata"]
                try:
                    self.delete(rt, meta.get("namespace", ""), meta["name"], opts)
                except ApiError as exc:
                    if exc.code != 404:
                        raise
                item["kind"], item["apiVersion"] = rt.kind, rt.api_version
                deleted.append(item)
        listed["items"] = deleted
        return Result(200, listed)
