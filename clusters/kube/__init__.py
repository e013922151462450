"""The Kubernetes adapter: the only code in Hangar that talks to a cluster's API server.

`KubeClient.for_cluster(cluster)` gives a client for one Cluster. Every write is a
server-side apply (field manager "hangar"); transient failures are retried with backoff;
every failure surfaces as a `KubeError` carrying the server's own message.
"""

from clusters.kube.client import KubeClient
from clusters.kube.errors import (
    KubeConflict,
    KubeError,
    KubeForbidden,
    KubeInvalid,
    KubeNotFound,
    KubeTimeout,
    KubeUnreachable,
)

__all__ = [
    "KubeClient",
    "KubeConflict",
    "KubeError",
    "KubeForbidden",
    "KubeInvalid",
    "KubeNotFound",
    "KubeTimeout",
    "KubeUnreachable",
]
