from __future__ import annotations

from django.contrib import admin

from billing.models import NodePrice
from controlpanel.core.admin import AuditedAdminMixin


@admin.register(NodePrice)
class NodePriceAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["size", "monthly_price", "currency", "effective_from"]
    list_filter = ["currency", "size__provider"]
    search_fields = ["size__slug"]
    list_select_related = ["size"]
    date_hierarchy = "effective_from"
