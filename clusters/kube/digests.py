"""What the API server confirmed Hangar last applied to a cluster, per object, so that
unchanged objects are not rewritten.

A record holds the digest of the object Hangar sent and, from the write's answer, the live
object's uid, resourceVersion and generation. It says only what the server confirmed:
`KubeClient.apply` forgets it before a write whose answer may be lost and records it
again from the answer, so a lost or failed write leaves no record behind.
"""

from __future__ import annotations

from collections.abc import Mapping

from clusters.kube.applied import Applied
from clusters.models import AppliedObject, Cluster


def namespace_of(key: str) -> str:
    # key is "apiVersion/kind/namespace/name"; apiVersion may hold one slash itself.
    return key.rsplit("/", 2)[-2]


class DatabaseDigestStore:
    """Backed by AppliedObject rows. A store lives as long as one KubeClient, i.e. one
    operation, which holds its environment's lock: the records of a namespace are read in
    one query the first time one is asked for, instead of one query per object."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self._namespaces: dict[str, dict[str, Applied]] = {}
        # Cluster-scoped records (the Namespace) once looked up, found or not.
        self._cluster_scoped: dict[str, Applied | None] = {}

    def _known(self, namespace: str) -> dict[str, Applied] | None:
        """The namespace's records by key; None for cluster-scoped objects (every
        namespace of the cluster has one: those are looked up one by one)."""
        if not namespace:
            return None
        known = self._namespaces.get(namespace)
        if known is None:
            rows = AppliedObject.objects.filter(
                cluster=self.cluster, namespace=namespace
            ).values_list("key", "digest", "uid", "resource_version", "generation")
            known = {key: Applied(*fields) for key, *fields in rows}
            self._namespaces[namespace] = known
        return known

    def get(self, key: str) -> Applied | None:
        known = self._known(namespace_of(key))
        if known is not None:
            return known.get(key)
        if key not in self._cluster_scoped:
            row = (
                AppliedObject.objects.filter(cluster=self.cluster, key=key)
                .values_list("digest", "uid", "resource_version", "generation")
                .first()
            )
            self._cluster_scoped[key] = Applied(*row) if row is not None else None
        return self._cluster_scoped[key]

    def set(self, key: str, record: Applied) -> None:
        self.set_many({key: record})

    def set_many(self, records: Mapping[str, Applied]) -> None:
        """One upsert for every record, instead of update_or_create's select-for-update
        and write per object."""
        fields = ["digest", "uid", "resource_version", "generation", "namespace", "applied_at"]
        AppliedObject.objects.bulk_create(
            [
                AppliedObject(
                    cluster=self.cluster,
                    key=key,
                    namespace=namespace_of(key),
                    digest=record.digest,
                    uid=record.uid,
                    resource_version=record.resource_version,
                    generation=record.generation,
                )
                for key, record in records.items()
            ],
            update_conflicts=True,
            unique_fields=["cluster", "key"],
            update_fields=fields,
        )
        for key, record in records.items():
            self._cached(key, record)

    def _cached(self, key: str, record: Applied | None) -> None:
        """Keep the records this store has read in step with its own writes."""
        namespace = namespace_of(key)
        if not namespace:
            self._cluster_scoped[key] = record
            return
        known = self._namespaces.get(namespace)
        if known is not None:
            if record is None:
                known.pop(key, None)
            else:
                known[key] = record

    def forget(self, key: str) -> None:
        self.forget_many([key])

    def forget_many(self, keys: list[str]) -> None:
        """Forget several records in one query (a batch about to be written, objects a
        drift check found gone)."""
        AppliedObject.objects.filter(cluster=self.cluster, key__in=keys).delete()
        for key in keys:
            self._cached(key, None)

    def forget_namespace(self, namespace: str) -> None:
        AppliedObject.objects.filter(cluster=self.cluster, namespace=namespace).delete()
        self._namespaces.pop(namespace, None)

    def keys(self, namespace: str) -> set[str]:
        return set(self._known(namespace) or {})
