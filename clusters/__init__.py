"""Clusters: Kubernetes clusters, node sizes and pools, and (later) the operation engine.

Knows nothing of sites: it applies, reads and deletes Kubernetes objects on a Cluster.
"""
