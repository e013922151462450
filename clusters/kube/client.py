"""KubeClient: the operations Hangar performs on a cluster, over `Transport`."""

from __future__ import annotations

import copy
import hashlib
import json
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from clusters.kube.applied import Applied
from clusters.kube.errors import (
    KubeConflict,
    KubeError,
    KubeNotFound,
    KubeTimeout,
    KubeUnreachable,
)
from clusters.kube.kinds import kind_for, kind_of
from clusters.kube.status import JobStatus, RolloutStatus, job_status, rollout_status
from clusters.kube.transport import RetryPolicy, Transport, api_client_for
from clusters.kube.watcher import DeploymentWatch, deployment_watch

if TYPE_CHECKING:
    from clusters.models import Cluster

FIELD_MANAGER = "hangar"
APPLY = "application/apply-patch+yaml"
MERGE_PATCH = "application/merge-patch+json"
MAX_LOG_BYTES = 2 * 1024 * 1024
LOG_ACCEPT = "application/json, */*"
# Dry runs of one batch in flight at once (a provisioning checks about a dozen objects).
DRY_RUNS_AT_ONCE = 6


class DigestStore(Protocol):
    """Remembers what the server confirmed Hangar last applied, to skip unchanged writes
    (clusters.kube.digests)."""

    def get(self, key: str) -> Applied | None: ...

    def set(self, key: str, record: Applied) -> None: ...

    def set_many(self, records: Mapping[str, Applied]) -> None: ...

    def forget(self, key: str) -> None: ...

    def forget_many(self, keys: list[str]) -> None: ...

    def forget_namespace(self, namespace: str) -> None: ...

    def keys(self, namespace: str) -> set[str]: ...


# Kinds whose live object is read before its write is skipped: the Deployment is what
# runs, and a deploy reads it anyway (rollout, image). One GET per environment; a record
# of any other kind is trusted until a drift check finds its object changed or gone and
# forgets it (sites.services.drift).
LIVE_CHECKED: frozenset[tuple[str, str]] = frozenset({("apps/v1", "Deployment")})
# Written before the rest of a batch is dry-run: nothing can be checked in a namespace
# that does not exist yet, nor where Hangar's role is not bound yet.
PREREQUISITES: frozenset[tuple[str, str]] = frozenset(
    {("v1", "Namespace"), ("rbac.authorization.k8s.io/v1", "RoleBinding")}
)


# Objects written and the server's answers, in the order they were written.
Written = list[tuple[Mapping[str, Any], dict]]


@dataclass
class ApplyOutcome:
    """What `KubeClient.apply_all` did, and the live objects it saw on the way (write
    answers and the reads that allowed a skip), by `object_key`."""

    written: int = 0
    skipped: int = 0
    live: dict[str, dict] = field(default_factory=dict)


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
        # Live objects this client read or wrote, by object_key: a caller that needs one
        # again (a deploy verifying its Deployment) need not read it twice.
        self.observed: dict[str, dict] = {}
        # This process's watch of the cluster's Deployments (for_cluster), for waits.
        self.deployments: Callable[[], DeploymentWatch] | None = None

    @classmethod
    def for_cluster(
        cls, cluster: Cluster, *, retry: RetryPolicy | None = None, skip_unchanged: bool = True
    ) -> KubeClient:
        from clusters.kube.digests import DatabaseDigestStore

        api_client = api_client_for(cluster.pk, cluster.kubeconfig)
        client = cls(
            Transport(api_client, retry=retry),
            digests=DatabaseDigestStore(cluster) if skip_unchanged else None,
        )
        pk, kubeconfig = cluster.pk, cluster.kubeconfig
        client.deployments = lambda: deployment_watch(pk, kubeconfig)
        return client

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

    def _record(self, key: str) -> Applied | None:
        return self.digests.get(key) if self.digests is not None else None

    def unchanged(self, obj: Mapping[str, Any], *, live: Mapping[str, Any] | None = None) -> bool:
        """Whether `obj` is what the server confirmed Hangar applied last, and (for the
        LIVE_CHECKED kinds, read here unless `live` is given) the live object is still the
        one that write produced."""
        key = object_key(obj)
        record = self._record(key)
        if record is None or record.digest != object_digest(obj):
            return False
        if (obj.get("apiVersion"), obj.get("kind")) not in LIVE_CHECKED:
            return True
        if live is None:
            meta = obj.get("metadata") or {}
            live = self.get_or_none(
                obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace")
            )
            if live is not None:
                self.observed[key] = live
        return record.matches(live)

    def apply(
        self, obj: Mapping[str, Any], *, force_write: bool = False, dry_run: bool = False
    ) -> dict | None:
        """Server-side apply one object. Returns the live object, or None when the write
        was skipped: the same object was applied before and is known to be unchanged.

        The record of the object is forgotten before the write and written again from the
        server's answer, so a write that fails, or whose answer is lost, leaves none."""
        if dry_run:
            return self._send(obj, dry_run=True)
        if not force_write and self.unchanged(obj):
            return None
        self._forget_before_write([obj])
        live = self._send(obj)
        self._remember([(obj, live)])
        return live

    def _send(self, obj: Mapping[str, Any], *, dry_run: bool = False) -> dict:
        meta = obj.get("metadata") or {}
        query: list[tuple[str, Any]] = [("fieldManager", FIELD_MANAGER), ("force", "true")]
        if dry_run:
            query.append(("dryRun", "All"))
        return self.transport.request(
            "PATCH",
            kind_for(dict(obj)).path(namespace=meta.get("namespace"), name=meta["name"]),
            body=copy.deepcopy(dict(obj)),
            content_type=APPLY,
            query=query,
        ).json()

    def _forget_before_write(self, objects: Iterable[Mapping[str, Any]]) -> None:
        """Forget the records of objects about to be written (one query for a batch): a
        write whose answer is lost must leave no record claiming it."""
        if self.digests is None:
            return
        keys = [key for key in map(object_key, objects) if self._record(key) is not None]
        if keys:
            self.digests.forget_many(keys)

    def _remember(self, written: Written) -> None:
        """Record what the server answered for these writes (one query for a batch)."""
        for obj, live in written:
            self.observed[object_key(obj)] = live
        if self.digests is not None and written:
            self.digests.set_many(
                {
                    object_key(obj): Applied.confirmed(object_digest(obj), live)
                    for obj, live in written
                }
            )

    def apply_fields(self, obj: Mapping[str, Any], *, field_manager: str) -> dict | None:
        """Server-side apply of a partial object as another field manager, without force
        and without a record: a claim of shared ownership, as the Kubernetes docs' hand-over
        of `spec.replicas` to an autoscaler does. None when another manager owns one of the
        fields with another value (409): that manager has it already."""
        meta = obj.get("metadata") or {}
        try:
            return self.transport.request(
                "PATCH",
                kind_for(dict(obj)).path(namespace=meta.get("namespace"), name=meta["name"]),
                body=copy.deepcopy(dict(obj)),
                content_type=APPLY,
                query=[("fieldManager", field_manager)],
            ).json()
        except KubeConflict:
            return None

    def check_all(self, objects: Iterable[Mapping[str, Any]]) -> None:
        """Apply every object with `dryRun=All`: raises what the server would refuse (the
        first refused object's error, in the given order), writes nothing. The dry runs
        are independent, so they go out several at a time."""
        objects = list(objects)
        if len(objects) <= 1:
            for obj in objects:
                self.apply(obj, dry_run=True)
            return
        with ThreadPoolExecutor(max_workers=min(DRY_RUNS_AT_ONCE, len(objects))) as pool:
            for _ in pool.map(lambda obj: self.apply(obj, dry_run=True), objects):
                pass

    def apply_all(
        self,
        objects: Iterable[Mapping[str, Any]],
        *,
        force_write: bool = False,
        before_write: Callable[[], None] | None = None,
    ) -> ApplyOutcome:
        """Apply in order, all or nothing as far as the server can tell beforehand: when
        more than one object is to be written, every one is first applied with
        `dryRun=All`, so an object the server refuses (422, 403) fails the batch before
        its first write. Prerequisites (the namespace, Hangar's role binding in it) are
        written first: the others cannot be checked without them. `before_write` is
        called once before the first request that may write (a check that may refuse the
        batch), and not at all when every object is unchanged."""
        objects = list(objects)
        outcome = ApplyOutcome()
        pending = []
        for obj in objects:
            if not force_write and self.unchanged(obj):
                outcome.skipped += 1
                outcome.live[object_key(obj)] = self.observed.get(object_key(obj), {})
            else:
                pending.append(obj)
        if not pending:
            return outcome
        if before_write is not None:
            before_write()
        first = [o for o in pending if (o.get("apiVersion"), o.get("kind")) in PREREQUISITES]
        rest = [o for o in pending if (o.get("apiVersion"), o.get("kind")) not in PREREQUISITES]
        # Recorded together once the batch ends, however it ends: a write without its
        # record is written again next time, never skipped on a claim the server did not
        # confirm.
        written: Written = []
        try:
            self._forget_before_write(first)
            for obj in first:
                written.append((obj, self._send(obj)))
            if len(rest) > 1:
                self.check_all(rest)
            self._forget_before_write(rest)
            for obj in rest:
                written.append((obj, self._send(obj)))
        finally:
            self._remember(written)
        for obj, live in written:
            outcome.live[object_key(obj)] = live
        outcome.written = len(written)
        return outcome

    def forget(self, keys: list[str]) -> None:
        """Forget the records of these objects (found changed or gone): the next apply
        writes them."""
        if self.digests is not None and keys:
            self.digests.forget_many(keys)

    def forget_namespace(self, namespace: str) -> None:
        """Forget every record of a namespace and of the Namespace itself (found gone)."""
        if self.digests is not None:
            self.digests.forget_namespace(namespace)
            self.digests.forget(path_key("v1", "Namespace", namespace, None))

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

    def _wait(
        self,
        check: Callable[[], Any],
        *,
        timeout: float,
        poll: float,
        what: str,
        survive_transport: bool = False,
        pause: Callable[[float], None] | None = None,
    ) -> Any:
        """Call `check` every `poll` seconds until it returns something or `timeout` passes
        (`pause` may end a pause early: a watch's event).

        With `survive_transport`, a check that got no answer from the API server (refused
        or reset connection, read timeout: a transient error without a status) is tried
        again until the deadline; at the deadline that error is raised as KubeUnreachable,
        since the outcome is unknown, not failed."""
        deadline = time.monotonic() + timeout
        while True:
            lost: KubeError | None = None
            try:
                result = check()
            except KubeError as exc:
                if not (survive_transport and exc.retryable and exc.status is None):
                    raise
                lost, result = exc, None
            if result is not None:
                return result
            if time.monotonic() >= deadline:
                if lost is not None:
                    raise KubeUnreachable(
                        f"Lost contact with the API server while waiting for {what}: {lost.message}"
                    ) from lost
                raise KubeTimeout(f"Timed out after {timeout:g}s waiting for {what}.")
            (pause or self.sleep)(poll)

    def wait_namespace_deleted(self, name: str, *, timeout: float = 300, poll: float = 1.0) -> None:
        def gone() -> bool | None:
            return True if self.get_or_none("v1", "Namespace", name) is None else None

        self._wait(gone, timeout=timeout, poll=poll, what=f'namespace "{name}" to be deleted')

    def rollout_status(self, namespace: str, name: str) -> RolloutStatus:
        live = self.get("apps/v1", "Deployment", name, namespace)
        self.observed[path_key("apps/v1", "Deployment", name, namespace)] = live
        return rollout_status(live)

    def wait_rollout(
        self,
        namespace: str,
        name: str,
        *,
        timeout: float = 600,
        poll: float = 2.0,
        on_progress: Callable[[RolloutStatus], None] | None = None,
        watch: bool = False,
    ) -> RolloutStatus:
        """Wait until the Deployment has rolled out; raise KubeError if it cannot.

        With `watch` (on a client `for_cluster`), the Deployment is followed through this
        process's watch of the cluster's Deployments (clusters.kube.watcher): the wait
        wakes on its events, and reads the Deployment only when the watch cannot tell
        what it is now (down, or lost track). Without, it is read every `poll` seconds.
        Either way `on_progress` hears at least every `poll` seconds."""
        key = path_key("apps/v1", "Deployment", name, namespace)
        watching = self.deployments() if watch and self.deployments is not None else None
        with watching.waiting(namespace, name) if watching else nullcontext() as waiter:
            if waiter is not None:
                waiter.knows(self.observed.get(key))

            def read() -> dict:
                return self.get("apps/v1", "Deployment", name, namespace)

            def check() -> RolloutStatus | None:
                live = read() if waiter is None else waiter.newest() or waiter.read(read)
                self.observed[key] = live
                status = rollout_status(live)
                if on_progress is not None:
                    on_progress(status)
                if status.failed:
                    raise KubeError(status.message)
                return status if status.done else None

            return self._wait(
                check,
                timeout=timeout,
                poll=poll,
                what=f'rollout of "{name}"',
                survive_transport=True,
                pause=waiter.wait if waiter is not None else None,
            )

    def job_status(self, namespace: str, name: str) -> JobStatus:
        return job_status(self.get("batch/v1", "Job", name, namespace))

    def wait_job(
        self,
        namespace: str,
        name: str,
        *,
        timeout: float = 3600,
        poll: float = 2.0,
        on_progress: Callable[[JobStatus], None] | None = None,
    ) -> JobStatus:
        def check() -> JobStatus | None:
            status = self.job_status(namespace, name)
            if on_progress is not None and not status.done:
                on_progress(status)
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
        timestamps: bool = False,
    ) -> str:
        query: list[tuple[str, Any]] = [("limitBytes", limit_bytes)]
        if timestamps:
            query.append(("timestamps", "true"))
        if container:
            query.append(("container", container))
        if tail_lines is not None:
            query.append(("tailLines", tail_lines))
        if since_seconds is not None:
            query.append(("sinceSeconds", since_seconds))
        path = kind_of("v1", "Pod").path(namespace=namespace, name=pod) + "/log"
        # As kubectl asks: the log comes as text, and an error as a JSON Status, which the
        # API server refuses to send (406) to a client accepting text/plain only.
        body = self.transport.request("GET", path, query=query, accept=LOG_ACCEPT).body
        return body.decode("utf-8", errors="replace")

    def job_log(self, namespace: str, job: str, *, tail_lines: int) -> str:
        """The log of a Job's latest pod, or "log unavailable: <reason>". A Job's outcome
        is its status: a log that cannot be read never fails the operation that ran it."""
        try:
            pods = self.list("v1", "Pod", namespace, label_selector={"job-name": job})
            if not pods:
                return f"log unavailable: no pod of job {job} is left"
            latest = max(pods, key=lambda p: p["metadata"].get("creationTimestamp") or "")
            return self.pod_logs(namespace, latest["metadata"]["name"], tail_lines=tail_lines)
        except KubeError as exc:
            return f"log unavailable: {exc.message}"

    # --- access --------------------------------------------------------------------------

    def can_i(
        self,
        verb: str,
        resource: str,
        *,
        group: str = "",
        namespace: str | None = None,
        subresource: str | None = None,
        name: str | None = None,
    ) -> tuple[bool, str]:
        """SelfSubjectAccessReview: may Hangar's credentials do this? (allowed, reason)"""
        attributes: dict[str, Any] = {"verb": verb, "resource": resource, "group": group}
        if namespace:
            attributes["namespace"] = namespace
        if subresource:
            attributes["subresource"] = subresource
        if name:
            attributes["name"] = name
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
