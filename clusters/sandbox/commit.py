"""The one way objects are stored: ``_create`` and ``_commit`` own the server-side metadata
(uid, resourceVersion, generation, managedFields) and skip no-op writes so that
resourceVersion only moves when something changed, as on a real cluster; ``_remove``
deletes with garbage collection. Controllers call the ``system_*`` helpers."""

from __future__ import annotations

import copy
from typing import Any

from . import errors
from .admission import Admission
from .apply import record_update
from .calls import Options
from .defaults import apply_defaults, initial_status
from .meta import new_uid, random_suffix, rfc3339
from .resources import ResourceType
from .scheduling import Scheduling
from .schemas import canonicalise_quantities
from .validation import name_errors
from .workloads import RUNNING

ROOT_CA = "-----BEGIN CERTIFICATE-----\nsandbox\n-----END CERTIFICATE-----\n"


class Committer(Admission, Scheduling):
    namespace_defaults: bool

    SYSTEM = Options(manager="kube-controller-manager")

    def _create(
        self,
        rt: ResourceType,
        namespace: str,
        body: dict[str, Any],
        opts: Options,
        managed: list[dict[str, Any]] | None = None,
        pod_state: str = RUNNING,
    ) -> dict[str, Any]:
        """Insert a new object; the caller holds the store lock and did admission."""
        obj = copy.deepcopy(body)
        obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
        meta = obj.setdefault("metadata", {})
        if rt.namespaced:
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"][:58] + random_suffix()
        causes = name_errors(rt, meta)
        if causes:
            raise errors.invalid(rt.kind, rt.group, meta.get("name", ""), causes)
        if self.store.get(rt.group, rt.plural, namespace if rt.namespaced else "", meta["name"]):
            raise errors.already_exists(rt.plural, rt.group, meta["name"])
        if meta.get("resourceVersion"):
            raise errors.unknown_error(
                500, "resourceVersion should not be set on objects to be created"
            )
        for server_owned in (
            "uid",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "selfLink",
            "managedFields",
        ):
            meta.pop(server_owned, None)
        meta["uid"] = new_uid()
        meta["creationTimestamp"] = rfc3339()
        if rt.generation:
            meta["generation"] = 1
        else:
            meta.pop("generation", None)
        if rt.kind != "Node":
            status = initial_status(rt, obj, self.allocator)
            if status is not None:
                obj["status"] = status
            elif rt.has_status:
                obj.pop("status", None)
        apply_defaults(rt, obj, self.allocator, creating=True)
        canonicalise_quantities(rt.api_version, rt.kind, obj)
        if rt.kind == "Pod" and opts is not self.SYSTEM:
            self._pod_security(namespace, obj)
        if rt.kind == "Pod":
            self._start_pod(obj, pod_state)
        self._validate(rt, obj, None)
        now = rfc3339()
        meta["managedFields"] = (
            managed
            if managed is not None
            else record_update(
                None, obj, manager=opts.manager, now=now, api_version=rt.api_version, kind=rt.kind
            )
        )
        if not meta["managedFields"]:
            meta.pop("managedFields")
        if opts.dry_run:
            return obj
        stored = self.store.put(rt.group, rt.plural, obj)
        if rt.kind == "Namespace" and self.namespace_defaults:
            self._populate_namespace(meta["name"])
        return stored

    def _populate_namespace(self, namespace: str) -> None:
        """What the service-account and root-CA controllers add to every namespace."""
        system = Options(manager="kube-controller-manager")
        sa = self.registry.by_path("", "v1", "serviceaccounts")
        cm = self.registry.by_path("", "v1", "configmaps")
        assert sa is not None and cm is not None  # noqa: S101 - built-in kinds
        self._create(sa, namespace, {"metadata": {"name": "default"}}, system)
        self._create(
            cm,
            namespace,
            {
                "metadata": {
                    "name": "kube-root-ca.crt",
                    "annotations": {
                        "kubernetes.io/description": (
                            "Contains a CA bundle that can be used to verify the "
                            "kube-apiserver when using internal endpoints such as the "
                            "internal service IP or kubernetes.default.svc. No other usage "
                            "is guaranteed across distributions of Kubernetes clusters."
                        )
                    },
                },
                "data": {"ca.crt": ROOT_CA},
            },
            system,
        )

    def _commit(
        self,
        rt: ResourceType,
        old: dict[str, Any],
        new: dict[str, Any],
        opts: Options,
        subresource: str = "",
        managed: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Store an update of ``old``; a no-op leaves resourceVersion alone."""
        new = copy.deepcopy(new)
        new["apiVersion"], new["kind"] = rt.api_version, rt.kind
        meta = new.setdefault("metadata", {})
        old_meta = old["metadata"]
        for key in (
            "name",
            "namespace",
            "uid",
            "creationTimestamp",
            "generation",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "resourceVersion",
        ):
            if key in old_meta:
                meta[key] = old_meta[key]
            else:
                meta.pop(key, None)
        if subresource == "status":
            status = new.get("status")
            new = copy.deepcopy(old)
            if status is None:
                new.pop("status", None)
            else:
                new["status"] = status
            meta = new["metadata"]
        elif rt.has_status:
            if "status" in old:
                new["status"] = copy.deepcopy(old["status"])
            else:
                new.pop("status", None)
        apply_defaults(rt, new, self.allocator, creating=False)
        canonicalise_quantities(rt.api_version, rt.kind, new)
        if subresource != "status":
            self._validate(rt, new, old)
        if rt.generation and self._spec_changed(rt, old, new):
            meta["generation"] = int(old_meta.get("generation", 1)) + 1
        if managed is not None:
            meta["managedFields"] = managed
        else:
            # Client-sent managedFields are ignored: what a client echoes back
            # from a read (re-serialized timestamps and all) must not count as a change.
            meta["managedFields"] = record_update(
                old,
                new,
                manager=opts.manager,
                now=rfc3339(),
                api_version=rt.api_version,
                kind=rt.kind,
                subresource=subresource,
            )
        if not meta.get("managedFields"):
            meta.pop("managedFields", None)
        if new == old or opts.dry_run:
            return old if new == old else new
        stored = self.store.put(rt.group, rt.plural, new)
        if meta.get("deletionTimestamp") and not meta.get("finalizers") and rt.kind != "Namespace":
            # The last finalizer is gone: the deletion that was waiting completes.
            self._remove(rt, stored, "Background")
        return stored

    @staticmethod
    def _spec_changed(rt: ResourceType, old: dict[str, Any], new: dict[str, Any]) -> bool:
        builtin = rt.group in (
            "",
            "apps",
            "batch",
            "autoscaling",
            "policy",
            "networking.k8s.io",
            "apiextensions.k8s.io",
        )
        if builtin:
            return old.get("spec") != new.get("spec")
        # Custom resources: anything but metadata and status counts.
        strip = ("metadata", "status")
        return {k: v for k, v in old.items() if k not in strip} != {
            k: v for k, v in new.items() if k not in strip
        }

    def _remove(self, rt: ResourceType, obj: dict[str, Any], propagation: str) -> None:
        """Delete now, with garbage collection of dependents like the GC controller."""
        meta = obj["metadata"]
        self.store.remove(rt.group, rt.plural, meta.get("namespace", ""), meta["name"])
        uid = meta.get("uid", "")
        # The owner index, not a scan of the store; copies, as the writes below change it.
        for (group, plural, _, _), stored in self.store.dependents(uid):
            dependent = copy.deepcopy(stored)
            dep_rt = self.registry.by_key(group, plural)
            if dep_rt is None:
                continue
            if propagation == "Orphan":
                refs = [r for r in dependent["metadata"]["ownerReferences"] if r.get("uid") != uid]
                orphan = copy.deepcopy(dependent)
                if refs:
                    orphan["metadata"]["ownerReferences"] = refs
                else:
                    orphan["metadata"].pop("ownerReferences", None)
                self.store.put(group, plural, orphan)
            else:
                self._remove(dep_rt, dependent, "Background")

    def system_create(
        self, rt: ResourceType, namespace: str, obj: dict[str, Any], pod_state: str = RUNNING
    ) -> dict[str, Any]:
        """Create without admission or authorization, as a controller would."""
        with self.store.lock:
            return self._create(rt, namespace, obj, self.SYSTEM, pod_state=pod_state)

    def system_update(
        self, rt: ResourceType, old: dict[str, Any], new: dict[str, Any], subresource: str = ""
    ) -> dict[str, Any]:
        """Update as a controller; a write based on a stale read is dropped, not forced."""
        meta = old["metadata"]
        with self.store.lock:
            current = self.store.get(rt.group, rt.plural, meta.get("namespace", ""), meta["name"])
            if current is None or current["metadata"]["resourceVersion"] != meta["resourceVersion"]:
                return current or old
            return self._commit(rt, old, new, self.SYSTEM, subresource)

    def system_delete(
        self, rt: ResourceType, obj: dict[str, Any], propagation: str = "Background"
    ) -> None:
        with self.store.lock:
            self._remove(rt, obj, propagation)
