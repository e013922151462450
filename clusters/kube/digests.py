"""What was last applied to a cluster, per object, so unchanged objects are not rewritten."""

from __future__ import annotations

from clusters.models import AppliedObject, Cluster


class DatabaseDigestStore:
    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster

    def get(self, key: str) -> str | None:
        return (
            AppliedObject.objects.filter(cluster=self.cluster, key=key)
            .values_list("digest", flat=True)
            .first()
        )

    def set(self, key: str, digest: str) -> None:
        AppliedObject.objects.update_or_create(
            cluster=self.cluster, key=key, defaults={"digest": digest}
        )

    def forget(self, key: str) -> None:
        AppliedObject.objects.filter(cluster=self.cluster, key=key).delete()

    def forget_namespace(self, namespace: str) -> None:
        AppliedObject.objects.filter(cluster=self.cluster, namespace=namespace).delete()

    def forget_all(self) -> None:
        AppliedObject.objects.filter(cluster=self.cluster).delete()
