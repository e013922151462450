"""What was last applied to a cluster, per object, so unchanged objects are not rewritten."""

from __future__ import annotations

from clusters.models import AppliedObject, Cluster


def namespace_of(key: str) -> str:
    # key is "apiVersion/kind/namespace/name"; apiVersion may hold one slash itself.
    return key.rsplit("/", 2)[-2]


class DatabaseDigestStore:
    """Backed by AppliedObject rows. A store lives as long as one KubeClient, i.e. one
    operation, which holds its environment's lock: the digests of a namespace are read in
    one query the first time one is asked for, instead of one query per object."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self._namespaces: dict[str, dict[str, str]] = {}

    def _known(self, namespace: str) -> dict[str, str] | None:
        """The namespace's digests by key; None for cluster-scoped objects (every
        namespace of the cluster has one: those are looked up one by one)."""
        if not namespace:
            return None
        known = self._namespaces.get(namespace)
        if known is None:
            known = dict(
                AppliedObject.objects.filter(cluster=self.cluster, namespace=namespace).values_list(
                    "key", "digest"
                )
            )
            self._namespaces[namespace] = known
        return known

    def get(self, key: str) -> str | None:
        known = self._known(namespace_of(key))
        if known is not None:
            return known.get(key)
        return (
            AppliedObject.objects.filter(cluster=self.cluster, key=key)
            .values_list("digest", flat=True)
            .first()
        )

    def set(self, key: str, digest: str) -> None:
        # One upsert instead of update_or_create's select-for-update and write.
        AppliedObject.objects.bulk_create(
            [
                AppliedObject(
                    cluster=self.cluster, key=key, namespace=namespace_of(key), digest=digest
                )
            ],
            update_conflicts=True,
            unique_fields=["cluster", "key"],
            update_fields=["digest", "namespace", "applied_at"],
        )
        known = self._namespaces.get(namespace_of(key))
        if known is not None:
            known[key] = digest

    def forget(self, key: str) -> None:
        AppliedObject.objects.filter(cluster=self.cluster, key=key).delete()
        self._namespaces.get(namespace_of(key), {}).pop(key, None)

    def forget_namespace(self, namespace: str) -> None:
        AppliedObject.objects.filter(cluster=self.cluster, namespace=namespace).delete()
        self._namespaces.pop(namespace, None)

    def keys(self, namespace: str) -> set[str]:
        return set(self._known(namespace) or {})
