"""The REST verbs with upstream semantics: create, get, list, update, patch, apply, delete.

Every write goes through ``_create`` or ``_commit``, which own the server-side
metadata (uid, resourceVersion, generation, managedFields) and skip no-op writes
so that resourceVersion only moves when something changed, as on a real cluster.
"""

from __future__ import annotations

import base64
import calendar
import copy
import json
import time
from dataclasses import dataclass, field
from typing import Any

from . import errors
from .access import AccessPolicy
from .apply import record_update, server_side_apply
from .defaults import Allocator, apply_defaults, initial_status
from .errors import ApiError
from .logs import render_log
from .meta import new_uid, random_suffix, rfc3339
from .patches import json_patch, merge_patch, strategic_merge
from .podsecurity import violations
from .resources import Registry, ResourceType
from .scale import replicas_of, scale_of
from .schemas import Shape, canonicalise_quantities
from .selectors import field_matcher, label_matcher
from .store import Store
from .validation import label_errors, name_errors, spec_errors
from .workloads import RUNNING, UNSCHEDULABLE, ImageTags, pod_status

APPLY = "application/apply-patch+yaml"
MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
PATCH_TYPES = (JSON_PATCH, MERGE, APPLY, STRATEGIC)
ROOT_CA = "-----BEGIN CERTIFICATE-----\nsandbox\n-----END CERTIFICATE-----\n"
JOB_ORPHAN_WARNING = (
    '299 - "child pods are preserved by default when jobs are deleted; set '
    "propagationPolicy=Background to remove them or set propagationPolicy=Orphan to "
    'suppress this warning"'
)


@dataclass
class Result:
    """What a verb returns: HTTP code, JSON body (or text) and extra headers."""

    code: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Options:
    """Per-request options taken from the query string and DeleteOptions."""

    manager: str = ""
    dry_run: bool = False
    force: bool | None = None
    propagation: str | None = None
    preconditions: dict[str, Any] = field(default_factory=dict)


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


def parse_json(body: bytes) -> Any:
    try:
        return json.loads(body or b"null")
    except ValueError as exc:
        raise errors.bad_request(f"couldn't get version/kind; json parse error: {exc}") from exc


def parse_apply_body(body: bytes) -> Any:
    """Apply bodies are YAML; JSON is YAML too, so try the cheaper parser first."""
    try:
        return json.loads(body)
    except ValueError:
        pass
    try:
        import yaml
    except ImportError as exc:  # pragma: no cover - PyYAML is a project dependency
        raise errors.bad_request("YAML apply bodies need PyYAML") from exc
    try:
        return yaml.safe_load(body)
    except yaml.YAMLError as exc:
        raise errors.bad_request(f"error decoding YAML: {exc}") from exc


class Api:
    """The verbs, over one store. Controllers call the ``system_*`` helpers."""

    def __init__(
        self,
        store: Store,
        registry: Registry,
        access: AccessPolicy,
        *,
        namespace_defaults: bool = True,
    ) -> None:
        self.store = store
        self.registry = registry
        self.access = access
        self.allocator = Allocator()
        self.tags = ImageTags()
        self.namespace_defaults = namespace_defaults
        # Namespace uid -> monotonic time its deletion started; the namespace
        # controller removes the namespace a little after that.
        self.terminating: dict[str, float] = {}
        self.custom_logs: dict[tuple[str, str, str], str] = {}
        self._node_turn = 0

    # ----- helpers -------------------------------------------------------

    def _ns_check(self, rt: ResourceType, namespace: str, name: str) -> None:
        """NamespaceLifecycle admission for creates."""
        if not rt.namespaced:
            return
        ns = self.store.get("", "namespaces", "", namespace)
        if ns is None:
            raise errors.not_found("namespaces", "", namespace)
        if ns["metadata"].get("deletionTimestamp"):
            raise errors.forbidden(
                rt.plural,
                rt.group,
                name,
                f"unable to create new content in namespace {namespace} because it is being "
                "terminated",
                causes=[
                    {
                        "reason": "NamespaceTerminating",
                        "message": f"namespace {namespace} is being terminated",
                        "field": "metadata.namespace",
                    }
                ],
            )

    def pod_security_refusal(self, namespace: str, pod: dict[str, Any]) -> ApiError | None:
        """The 403 Pod Security admission (enforce) of the pod's namespace gives ``pod``,
        if any. Controllers ask before creating their pods, as theirs go through admission
        on a real cluster too."""
        ns = self.store.get("", "namespaces", "", namespace) or {}
        why = violations((ns.get("metadata") or {}).get("labels") or {}, pod)
        if why:
            return errors.forbidden("pods", "", pod["metadata"].get("name", ""), why)
        return None

    def _pod_security(self, namespace: str, pod: dict[str, Any]) -> None:
        refusal = self.pod_security_refusal(namespace, pod)
        if refusal is not None:
            raise refusal

    def _require(self, rt: ResourceType, namespace: str, name: str) -> dict[str, Any]:
        obj = self.store.get(rt.group, rt.plural, namespace, name)
        if obj is None:
            raise errors.not_found(rt.plural, rt.group, name)
        return obj

    def _check_identity(self, rt: ResourceType, namespace: str, name: str, body: Any) -> None:
        if not isinstance(body, dict):
            raise errors.bad_request(
                f"the object provided is unrecognized (must be of type {rt.kind})"
            )
        meta = body.get("metadata") or {}
        if rt.namespaced and meta.get("namespace") and meta["namespace"] != namespace:
            raise errors.bad_request(
                "the namespace of the provided object does not match the namespace sent on "
                "the request"
            )
        if name and meta.get("name") and meta["name"] != name:
            raise errors.bad_request(
                f"the name of the object ({meta['name']}) does not match the name on the URL "
                f"({name})"
            )

    def _validate(self, rt: ResourceType, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        meta = obj["metadata"]
        causes = label_errors(meta.get("labels"))
        causes += spec_errors(rt, obj, old)
        if causes:
            raise errors.invalid(rt.kind, rt.group, meta.get("name", ""), causes)

    def _next_node(self) -> str:
        """Round-robin over the Nodes, like a scheduler with nothing else to weigh."""
        names = [n["metadata"]["name"] for n in self.store.list("", "nodes")]
        if not names:
            return "sandbox-node"
        self._node_turn = (self._node_turn + 1) % len(names)
        return names[self._node_turn]

    def _node_ip(self, node: str) -> str:
        found = self.store.get("", "nodes", "", node)
        for address in ((found or {}).get("status") or {}).get("addresses") or []:
            if address.get("type") == "InternalIP":
                return address["address"]
        return "10.0.0.2"

    # ----- writes --------------------------------------------------------

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

    def _start_pod(self, pod: dict[str, Any], state: str) -> None:
        """Play scheduler and kubelet: bind the pod to a node and start it."""
        spec = pod.setdefault("spec", {})
        if state == UNSCHEDULABLE:
            pod["status"] = pod_status(pod, state, time.time(), "", "")
            return
        if not spec.get("nodeName"):
            spec["nodeName"] = self._next_node()
        pod["status"] = pod_status(
            pod,
            state,
            time.time(),
            self.allocator.pod_ip(),
            self._node_ip(spec["nodeName"]),
            self.tags,
        )

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

    # ----- for controllers and in-process callers ---------------------------

    SYSTEM = Options(manager="kube-controller-manager")

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

    def start_pod_status(self, pod: dict[str, Any], state: str) -> dict[str, Any]:
        """A status for ``pod`` in ``state``, keeping its IPs and start time."""
        status = pod.get("status") or {}
        started = status.get("startTime")
        started_at = (
            calendar.timegm(time.strptime(started, "%Y-%m-%dT%H:%M:%SZ"))
            if started
            else time.time()
        )
        return pod_status(
            pod,
            state,
            started_at,
            status.get("podIP") or self.allocator.pod_ip(),
            status.get("hostIP") or self._node_ip((pod.get("spec") or {}).get("nodeName", "")),
            self.tags,
        )

    # ----- verbs ---------------------------------------------------------

    def create(self, rt: ResourceType, namespace: str, body: Any, opts: Options) -> Result:
        if rt.kind == "SelfSubjectAccessReview":
            return Result(201, self.access.review(body if isinstance(body, dict) else {}))
        self._check_identity(rt, namespace, "", body)
        with self.store.lock:
            name = (body.get("metadata") or {}).get("name", "")
            self._ns_check(rt, namespace, name)
            return Result(201, self._create(rt, namespace, body, opts))

    def get(self, rt: ResourceType, namespace: str, name: str) -> Result:
        return Result(200, self._require(rt, namespace, name))

    def list(self, rt: ResourceType, namespace: str | None, query: dict[str, str]) -> Result:
        labels = label_matcher(query.get("labelSelector"))
        fields = field_matcher(query.get("fieldSelector"), rt.field_selectors)
        with self.store.lock:
            revision = str(self.store.revision)
            items = [
                o
                for o in self.store.list(rt.group, rt.plural, namespace)
                if labels(o) and fields(o)
            ]
        start = 0
        if query.get("continue"):
            try:
                token = json.loads(base64.urlsafe_b64decode(query["continue"]))
                start, revision = int(token["start"]), str(token["rv"])
            except (ValueError, KeyError, TypeError) as exc:
                raise errors.bad_request(
                    "continue key is not valid: incorrect encoded start "
                    "resourceVersion (version meta.k8s.io/v1)"
                ) from exc
        list_meta: dict[str, Any] = {"resourceVersion": revision}
        limit = int(query.get("limit") or 0)
        if limit > 0:
            page = items[start : start + limit]
            if start + limit < len(items):
                list_meta["continue"] = base64.urlsafe_b64encode(
                    json.dumps({"rv": int(revision), "start": start + limit}).encode()
                ).decode()
                if not (query.get("labelSelector") or query.get("fieldSelector")):
                    # Upstream counts what remains only when no selector filters the list.
                    list_meta["remainingItemCount"] = len(items) - start - limit
            items = page
        for item in items:
            # Items of typed lists carry no kind/apiVersion on the wire.
            item.pop("kind", None)
            item.pop("apiVersion", None)
        return Result(
            200,
            {
                "kind": f"{rt.kind}List",
                "apiVersion": rt.api_version,
                "metadata": list_meta,
                "items": items,
            },
        )

    def replace(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        body: Any,
        opts: Options,
        subresource: str = "",
    ) -> Result:
        self._check_identity(rt, namespace, name, body)
        with self.store.lock:
            old = self._require(rt, namespace, name)
            wanted = (body.get("metadata") or {}).get("resourceVersion")
            if wanted and wanted != old["metadata"]["resourceVersion"]:
                raise errors.conflict(rt.plural, rt.group, name, errors.STALE_OBJECT)
            if subresource == "scale":
                return Result(200, self._scale_to(rt, old, body, opts))
            return Result(200, self._commit(rt, old, body, opts, subresource))

    def patch(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        raw: bytes,
        content_type: str,
        opts: Options,
        subresource: str = "",
    ) -> Result:
        kind = content_type.split(";")[0].strip().lower()
        if kind not in PATCH_TYPES:
            raise errors.unsupported_media_type(content_type, list(PATCH_TYPES))
        if kind == APPLY:
            return self._apply(rt, namespace, name, raw, opts, subresource)
        if opts.force is not None:
            raise errors.invalid(
                "PatchOptions",
                "meta.k8s.io",
                "",
                [
                    errors.field_error(
                        "Forbidden", "force", "may not be specified for non-apply patch"
                    )
                ],
            )
        patch = parse_json(raw)
        with self.store.lock:
            old = self._require(rt, namespace, name)
            base = scale_of(old) if subresource == "scale" else old
            if kind == JSON_PATCH:
                patched = json_patch(base, patch)
            elif not isinstance(patch, dict):
                raise errors.bad_request(
                    "json: cannot unmarshal array into Go value of type map[string]interface {}"
                )
            elif kind == MERGE:
                patched = merge_patch(base, patch)
            else:
                shape = Shape("autoscaling/v1", "Scale") if subresource == "scale" else rt.shape
                patched = strategic_merge(base, patch, shape)
            if subresource == "scale":
                return Result(200, self._scale_to(rt, old, patched, opts))
            wanted = (patched.get("metadata") or {}).get("resourceVersion")
            if wanted and wanted != old["metadata"]["resourceVersion"]:
                raise errors.conflict(rt.plural, rt.group, name, errors.STALE_OBJECT)
            return Result(200, self._commit(rt, old, patched, opts, subresource))

    def _apply(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        raw: bytes,
        opts: Options,
        subresource: str,
    ) -> Result:
        if not opts.manager:
            raise errors.invalid(
                "PatchOptions",
                "meta.k8s.io",
                "",
                [errors.field_error("Required", "fieldManager", "is required for apply patch")],
            )
        applied = parse_apply_body(raw)
        if not isinstance(applied, dict):
            raise errors.bad_request("error decoding YAML: the apply body must be an object")
        if applied.get("apiVersion") != rt.api_version:
            raise errors.bad_request(
                f"the API version in the data ({applied.get('apiVersion', '')}) does not match "
                f"the expected API version ({rt.api_version})"
            )
        if applied.get("kind") != rt.kind:
            raise errors.bad_request(
                f"the kind in the data ({applied.get('kind', '')}) does not match the expected "
                f"kind ({rt.kind})"
            )
        self._check_identity(rt, namespace, name, applied)
        if subresource == "scale":
            raise errors.method_not_allowed("apply", rt.plural, rt.group)
        now = rfc3339()
        with self.store.lock:
            live = self.store.get(rt.group, rt.plural, namespace if rt.namespaced else "", name)
            if live is None:
                if subresource:
                    raise errors.not_found(rt.plural, rt.group, name)
                self._ns_check(rt, namespace, name)
                merged = server_side_apply(
                    None,
                    applied,
                    manager=opts.manager,
                    force=bool(opts.force),
                    now=now,
                    api_version=rt.api_version,
                    kind=rt.kind,
                )
                merged["metadata"]["name"] = name
                managed = merged["metadata"].pop("managedFields")
                return Result(201, self._create(rt, namespace, merged, opts, managed=managed))
            wanted = (applied.get("metadata") or {}).get("resourceVersion")
            if wanted and wanted != live["metadata"]["resourceVersion"]:
                # An applied resourceVersion is a precondition, as on update.
                raise errors.conflict(rt.plural, rt.group, name, errors.STALE_OBJECT)
            merged = server_side_apply(
                live,
                applied,
                manager=opts.manager,
                force=bool(opts.force),
                now=now,
                api_version=rt.api_version,
                kind=rt.kind,
                subresource=subresource,
            )
            managed = merged["metadata"]["managedFields"]
            return Result(200, self._commit(rt, live, merged, opts, subresource, managed))

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

    # ----- subresources ---------------------------------------------------

    def get_scale(self, rt: ResourceType, namespace: str, name: str) -> Result:
        return Result(200, scale_of(self._require(rt, namespace, name)))

    def _scale_to(
        self, rt: ResourceType, old: dict[str, Any], scale: Any, opts: Options
    ) -> dict[str, Any]:
        new = copy.deepcopy(old)
        new["spec"]["replicas"] = replicas_of(scale, old["metadata"]["name"])
        return scale_of(self._commit(rt, old, new, opts))

    def pod_log(self, namespace: str, name: str, query: dict[str, str]) -> Result:
        pods = self.registry.by_path("", "v1", "pods")
        assert pods is not None  # noqa: S101 - built-in kind
        pod = self._require(pods, namespace, name)
        return Result(200, render_log(pod, query, self.custom_logs))
