from __future__ import annotations

from django.contrib import admin

from clusters.models import STORAGE_FIELDS, Cluster, NodePool, NodeSize
from controlpanel.core.admin import AuditedAdminMixin


class NodePoolInline(admin.TabularInline):
    model = NodePool
    extra = 0


@admin.register(Cluster)
class ClusterAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "slug", "provider", "region", "api_url", "is_sandbox"]
    list_filter = ["provider", "is_sandbox"]
    search_fields = ["name", "slug", "region"]
    inlines = [NodePoolInline]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "name",
                    "slug",
                    "provider",
                    "region",
                    "is_sandbox",
                    "max_concurrent_operations",
                ]
            },
        ),
        (
            "Kubernetes",
            {
                "fields": [
                    "api_url",
                    "kubeconfig",
                    "ingress_class",
                    "ingress_namespace",
                    "cert_manager_issuer",
                ]
            },
        ),
        (
            "Object storage",
            {"fields": list(STORAGE_FIELDS)},
        ),
        (
            "Database server",
            {
                "fields": [
                    "db_host",
                    "db_port",
                    "db_admin_user",
                    "db_admin_password",
                    "provision_data",
                ]
            },
        ),
    ]


@admin.register(NodeSize)
class NodeSizeAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["slug", "provider", "vcpu", "memory_mib", "disk_gib", "description"]
    list_filter = ["provider"]
    search_fields = ["slug", "description"]


@admin.register(NodePool)
class NodePoolAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "cluster", "size", "count", "autoscale", "dedicated_client"]
    list_filter = ["cluster", "autoscale", "size"]
    search_fields = ["name", "cluster__name", "dedicated_client__name"]
    list_select_related = ["cluster", "size", "dedicated_client"]

    def audit_client(self, obj: NodePool):
        return obj.dedicated_client
