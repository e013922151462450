"""The checks a request passes before a write: the namespace exists and is not being
terminated, Pod Security, the object's identity matches the URL, its labels and spec are
valid."""

from __future__ import annotations

from typing import Any

from . import errors
from .errors import ApiError
from .podsecurity import violations
from .resources import Registry, ResourceType
from .store import Store
from .validation import label_errors, spec_errors


class Admission:
    store: Store
    registry: Registry

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
