"""Clusters, node sizes and node pools."""

from __future__ import annotations

from rest_framework import serializers

from clusters.models import Cluster, NodePool, NodeSize
from controlpanel.core.models import AuditEvent


class ClusterSerializer(serializers.ModelSerializer):
    """Secrets (kubeconfig, keys, passwords) are never returned; `*_set` says if they are."""

    kubeconfig_set = serializers.SerializerMethodField()

    class Meta:
        model = Cluster
        fields = [
            "id",
            "name",
            "slug",
            "provider",
            "region",
            "api_url",
            "ingress_class",
            "ingress_namespace",
            "cert_manager_issuer",
            "storage_endpoint",
            "storage_region",
            "storage_bucket",
            "db_host",
            "db_port",
            "db_admin_user",
            "is_sandbox",
            "max_concurrent_operations",
            "kubeconfig_set",
            "connection_ok",
            "connection_report",
            "connection_checked_at",
            "created_at",
        ]
        read_only_fields = fields

    def get_kubeconfig_set(self, obj: Cluster) -> bool:
        return bool(obj.kubeconfig)


class NodeSizeSerializer(serializers.ModelSerializer):
    class Meta:
        model = NodeSize
        fields = ["id", "provider", "slug", "vcpu", "memory_mib", "disk_gib", "description"]
        read_only_fields = fields


class NodePoolSerializer(serializers.ModelSerializer):
    size = serializers.CharField(source="size.slug", read_only=True)

    class Meta:
        model = NodePool
        fields = [
            "id",
            "cluster",
            "name",
            "size",
            "count",
            "autoscale",
            "min_nodes",
            "max_nodes",
            "dedicated_client",
            "allocatable_cpu_millicores",
            "allocatable_memory_bytes",
            "synced_at",
        ]
        read_only_fields = fields


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "created_at",
            "actor_label",
            "client",
            "action",
            "target_type",
            "target_id",
            "target_label",
            "changes",
            "ip_address",
            "user_agent",
        ]
        read_only_fields = fields
