"""KubeClient: the operations Hangar performs on a cluster, over `Transport`."""

from __future__ import annotations

import copy
import hashlib
import json
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from clusters.kube.errors import KubeError, KubeNotFound, KubeTimeout
from clusters.kube.kinds import kind_for, kind_of
from clusters.kube.status import JobStatus, RolloutStatus, job_status, rollout_status
from clusters.kube.transport import RetryPolicy, Transport, api_client_for

if TYPE_CHECKING:
    from clusters.models import Cluster

FIELD_MANAGER = "hangar"
APPLY = "application/apply-patch+yaml"
MERGE_PATCH = "application/merge-patch+json"
MAX_LOG_BYTES = 2 * 1024 * 1024


class DigestStore(Protocol):
    """Remembers what was last applied successfully, to skip unchanged writes."""

    def get(self, key: str) -> str | None: ...

    def set(self, key: str, digest: str) -> None: ...

    def forget(self, key: str) -> None: ...

    def forget_namespace(self, namespace: str) -> None: ...

    def keys(self, namespace: str) -> set[str]: ...


def path_key(api_version: str, kind: str, name: str, namespace: str | None) -> str:
    return "/".join([api_version, kind, namespace or "", name])


def split_key(key: str) -> tuple[str, str, str, str]:
    """(api_version, kind, namespace, name) of a `path_key`; apiVersion may hold a slash."""
    api_version, kind, namespace, name = key.rsplit("/", 3)
    return api_version, kind, namespace, name


def object_key(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return path_key(
        obj.get("apiVersion", ""), obj.get("kind", ""), meta["name"], meta.get("namespace")
    )


def object_digest(obj: Mapping[str, Any]) -> str:
    return hashlib.sha256(
        json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()


class KubeClient:
    def __init__(
        self,
        transport: Transport,
        *,
        digests: DigestStore | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.transport = transport
        self.digests = digests
        self.sleep = sleep

    @classmethod
    def for_cluster(
        cls, cluster: Cluster, *, retry: RetryPolicy | None = None, skip_unchanged: bool = True
    ) -> KubeClient:
        from clusters.kube.digests import DatabaseDigestStore

        api_client = api_client_for(cluster.pk, cluster.kubeconfig)
        return cls(
            Transport(api_client, retry=retry),
            digests=DatabaseDigestStore(cluster) if skip_unchanged else None,
        )

    # --- reading ---------------------------------------------------------------------

    def version(self) -> dict[str, Any]:
        return self.transport.request("GET", "/version").json()

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict:
        path = kind_of(api_version, kind).path(namespace=namespace, name=name)
        return self.transport.request("GET", path).json()

    def get_or_none(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> dict | None:
        try:
            return self.get(api_version, kind, name, namespace)
        except KubeNotFound:
            return None

    def list(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        *,
        label_selector: str | Mapping[str, str] | None = None,
        field_selector: str | None = None,
    ) -> list[dict]:
        query: list[tuple[str, Any]] = []
        if label_selector:
            if isinstance(label_selector, Mapping):
                label_selector = ",".join(f"{k}={v}" for k, v in sorted(label_selector.items()))
            query.append(("labelSelector", label_selector))
        if field_selector:
            query.append(("fieldSelector", field_selector))
        path = kind_of(api_version, kind).path(namespace=namespace)
        items = self.transport.request("GET", path, query=query).json().get("items") or []
        # List items carry no apiVersion/kind; restore them so items are whole objects.
        for item in items:
            item.setdefault("apiVersion", api_version)
            item.setdefault("kind", kind)
        return items

    # --- writing -----------------------------------------------------------------------

    def apply(self, obj: Mapping[str, Any], *, force_write: bool = False) -> dict | None:
        """Server-side apply one object. Returns the live object, or None when the same
        object was applied successfully before and the write was skipped."""
        kind = kind_for(dict(obj))
        meta = obj.get("metadata") or {}
        key = object_key(obj)
        digest = object_digest(obj)
        if not force_write and self.digests is not None and self.digests.get(key) == digest:
            return None
        path = kind.path(namespace=meta.get("namespace"), name=meta["name"])
        live = self.transport.request(
            "PATCH",
            path,
            body=copy.deepcopy(dict(obj)),
            content_type=APPLY,
            query=[("fieldManager", FIELD_MANAGER), ("force", "true")],
        ).json()
        if self.digests is not None:
            self.digests.set(key, digest)
        return live

    def apply_all(
        self, objects: Iterable[Mapping[str, Any]], *, force_write: bool = False
    ) -> tuple[int, int]:
        """Apply in order; returns (written, skipped)."""
        written = skipped = 0
        for obj in objects:
            if self.apply(obj, force_write=force_write) is None:
                skipped += 1
            else:
                written += 1
        return written, skipped

    def applied(self, namespace: str) -> list[tuple[str, str, str]]:
        """(api_version, kind, name) of every object this cluster's record says Hangar
        applied in `namespace` and has not deleted since; empty without a record."""
        if self.digests is None:
            return []
        return sorted(
            (api_version, kind, name)
            for api_version, kind, _, name in map(split_key, self.digests.keys(namespace))
        )

    def create(self, obj: Mapping[str, Any]) -> dict:
        kind = kind_for(dict(obj))
        path = kind.path(namespace=(obj.get("metadata") or {}).get("namespace"))
        # A create is not idempotent: never repeated blindly after an unanswered attempt
        # (the transport repeats only reads and applies).
        return self.transport.request(
            "POST",
            path,
            body=dict(obj),
            content_type="application/json",
            query=[("fieldManager", FIELD_MANAGER)],
        ).json()

    def replace(self, obj: Mapping[str, Any]) -> dict:
        kind = kind_for(dict(obj))
        meta = obj.get("metadata") or {}
        path = kind.path(namespace=meta.get("namespace"), name=meta["name"])
        return self.transport.request(
            "PUT",
            path,
            body=dict(obj),
            content_type="application/json",
            query=[("fieldManager", FIELD_MANAGER)],
        ).json()

    def merge_patch(
        self,
        api_version: str,
        kind: str,
        name: str,
        patch: Mapping[str, Any],
        namespace: str | None = None,
        *,
        field_manager: str = FIELD_MANAGER,
    ) -> dict:
        path = kind_of(api_version, kind).path(namespace=namespace, name=name)
        return self.transport.request(
            "PATCH",
            path,
            body=dict(patch),
            content_type=MERGE_PATCH,
            query=[("fieldManager", field_manager)],
        ).json()

    def delete(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str | None = None,
        *,
        propagation: str = "Background",
    ) -> bool:
        """Delete; False when it was already gone (deleting is then done, not failed)."""
        kind_info = kind_of(api_version, kind)
        path = kind_info.path(namespace=namespace, name=name)
        try:
            self.transport.request(
                "DELETE",
                path,
                body={
                    "kind": "DeleteOptions",
                    "apiVersion": "v1",
                    "propagationPolicy": propagation,
                },
                content_type="application/json",
            )
        except KubeNotFound:
            return False
        finally:
            # Whatever happened, the next apply must write again.
            if self.digests is not None:
                self.digests.forget(path_key(api_version, kind, name, namespace))
                if kind == "Namespace":
                    self.digests.forget_namespace(name)
        return True

    # --- waiting -------------------------------------------------------------------------

    def _wait(self, check: Callable[[], Any], *, timeout: float, poll: float, what: str) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            result = check()
            if result is not None:
                return result
            if time.monotonic() >= deadline:
                raise KubeTimeout(f"Timed out after {timeout:g}s waiting for {what}.")
            self.sleep(poll)

    def wait_namespace_deleted(self, name: str, *, timeout: float = 300, poll: float = 1.0) -> None:
        def gone() -> bool | None:
            return True if self.get_or_none("v1", "Namespace", name) is None else None

        self._wait(gone, timeout=timeout, poll=poll, what=f'namespace "{name}" to be deleted')

    def rollout_status(self, namespace: str, name: str) -> RolloutStatus:
        return rollout_status(self.get("apps/v1", "Deployment", name, namespace))

    def wait_rollout(
        self,
        namespace: str,
        name: str,
        *,
        timeout: float = 600,
        poll: float = 2.0,
        on_progress: Callable[[RolloutStatus], None] | None = None,
    ) -> RolloutStatus:
        """Wait until the Deployment has rolled out; raise KubeError if it cannot."""

        def check() -> RolloutStatus | None:
            status = self.rollout_status(namespace, name)
            if on_progress is not None:
                on_progress(status)
            if status.failed:
                raise KubeError(status.message)
            return status if status.done else None

        return self._wait(check, timeout=timeout, poll=poll, what=f'rollout of "{name}"')

    def job_status(self, namespace: str, name: str) -> JobStatus:
        return job_status(self.get("batch/v1", "Job", name, namespace))

    def wait_job(
        self, namespace: str, name: str, *, timeout: float = 3600, poll: float = 2.0
    ) -> JobStatus:
        def check() -> JobStatus | None:
            status = self.job_status(namespace, name)
            return status if status.done else None

        return self._wait(check, timeout=timeout, poll=poll, what=f'job "{name}"')

    def create_job_from_cronjob(self, namespace: str, cronjob_name: str, job_name: str) -> dict:
        """What `kubectl create job --from=cronjob/...` does: run a CronJob now."""
        cronjob = self.get("batch/v1", "CronJob", cronjob_name, namespace)
        template = cronjob["spec"]["jobTemplate"]
        meta = template.get("metadata") or {}
        job = {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {
                "name": job_name,
                "namespace": namespace,
                "labels": dict(meta.get("labels") or {}),
                "annotations": {
                    **(meta.get("annotations") or {}),
                    "cronjob.kubernetes.io/instantiate": "manual",
                },
                "ownerReferences": [
                    {
                        "apiVersion": "batch/v1",
                        "kind": "CronJob",
                        "name": cronjob_name,
                        "uid": cronjob["metadata"]["uid"],
                        "controller": True,
                        "blockOwnerDeletion": True,
                    }
                ],
            },
            "spec": copy.deepcopy(template["spec"]),
        }
        return self.create(job)

    # --- pods and logs -------------------------------------------------------------------

    def pod_logs(
        self,
        namespace: str,
        pod: str,
        *,
        container: str | None = None,
        tail_lines: int | None = None,
        since_seconds: int | None = None,
        limit_bytes: int = MAX_LOG_BYTES,
    ) -> str:
        query: list[tuple[str, Any]] = [("limitBytes", limit_bytes)]
        if container:
            query.append(("container", container))
        if tail_lines is not None:
            query.append(("tailLines", tail_lines))
        if since_seconds is not None:
            query.append(("sinceSeconds", since_seconds))
        path = kind_of("v1", "Pod").path(namespace=namespace, name=pod) + "/log"
        body = self.transport.request("GET", path, query=query, accept="text/plain").body
        return body.decode("utf-8", errors="replace")

    # --- access --------------------------------------------------------------------------

    def can_i(
        self,
        verb: str,
        resource: str,
        *,
        group: str = "",
        namespace: str | None = None,
        subresource: str | None = None,
    ) -> tuple[bool, str]:
        """SelfSubjectAccessReview: may Hangar's credentials do this? (allowed, reason)"""
        attributes: dict[str, Any] = {"verb": verb, "resource": resource, "group": group}
        if namespace:
            attributes["namespace"] = namespace
        if subresource:
            attributes["subresource"] = subresource
        review = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": attributes},
        }
        path = kind_of("authorization.k8s.io/v1", "SelfSubjectAccessReview").path()
        answer = self.transport.request(
            "POST", path, body=review, content_type="application/json"
        ).json()
        status = answer.get("status") or {}
        return bool(status.get("allowed")), str(status.get("reason") or "")
