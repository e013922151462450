"""Django admin for billing (interim staff UI). Prices and cost items are edited here with
the models' own validation; invoices are read-only documents moved on by actions that call
the services, so the admin cannot bypass numbering or immutability."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from billing.invoicing import invoice_issue, invoice_mark_paid
from billing.models import (
    BillingProfile,
    ClusterCostItem,
    EnvironmentUsageDay,
    Invoice,
    InvoiceLine,
    InvoiceSequence,
    NodePrice,
    PoolUsageDay,
)
from controlpanel.core.admin import AuditedAdminMixin, ReadOnlyAdmin


@admin.register(NodePrice)
class NodePriceAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["size", "monthly_price", "currency", "effective_from"]
    list_filter = ["currency", "size__provider"]
    search_fields = ["size__slug"]
    list_select_related = ["size"]
    date_hierarchy = "effective_from"


@admin.register(ClusterCostItem)
class ClusterCostItemAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = [
        "cluster",
        "name",
        "kind",
        "monthly_price",
        "currency",
        "effective_from",
        "ends_on",
    ]
    list_filter = ["kind", "cluster"]
    search_fields = ["name", "cluster__name"]
    list_select_related = ["cluster"]
    date_hierarchy = "effective_from"


@admin.register(BillingProfile)
class BillingProfileAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["client", "minimum_site_fee", "invoice_email"]
    search_fields = ["client__name", "invoice_email"]
    list_select_related = ["client"]
    autocomplete_fields = ["client"]

    def audit_client(self, obj: BillingProfile) -> Any:
        return obj.client


class InvoiceLineInline(admin.TabularInline):
    model = InvoiceLine
    extra = 0
    can_delete = False
    fields = [
        "position",
        "kind",
        "description",
        "quantity",
        "unit",
        "cost",
        "markup_percent",
        "amount",
    ]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _run(request: HttpRequest, queryset: QuerySet[Invoice], service: Any, done: str) -> None:
    ok = 0
    for invoice in queryset:
        try:
            service(actor=request.user, invoice=invoice)
            ok += 1
        except ValidationError as exc:
            messages.error(request, f"{invoice}: {'; '.join(exc.messages)}")
    if ok:
        messages.success(request, f"{ok} invoice(s) {done}.")


@admin.register(Invoice)
class InvoiceAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = [
        "__str__",
        "client",
        "period_start",
        "status",
        "total",
        "cost_total",
        "issued_at",
    ]
    list_filter = ["status", "period_start"]
    search_fields = ["number", "client__name", "bill_to_name"]
    list_select_related = ["client"]
    date_hierarchy = "period_start"
    inlines = [InvoiceLineInline]
    actions = ["issue", "mark_paid"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in Invoice._meta.concrete_fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Invoice | None = None) -> bool:
        return obj is None or obj.is_draft

    def audit_client(self, obj: Invoice) -> Any:
        return obj.client

    @admin.action(description="Issue selected drafts", permissions=["change"])
    def issue(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> None:
        _run(request, queryset, invoice_issue, "issued")

    @admin.action(description="Mark selected invoices paid", permissions=["change"])
    def mark_paid(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> None:
        _run(request, queryset, invoice_mark_paid, "marked paid")


class UsageAdmin(ReadOnlyAdmin):
    show_full_result_count = False  # usage tables grow large; skip the second COUNT


@admin.register(EnvironmentUsageDay)
class EnvironmentUsageDayAdmin(UsageAdmin):
    list_display = ["day", "client", "label", "pool", "hours", "pod_hours", "node_hours"]
    list_filter = ["day"]
    search_fields = ["label", "client__name"]
    list_select_related = ["client", "pool__cluster"]
    date_hierarchy = "day"


@admin.register(PoolUsageDay)
class PoolUsageDayAdmin(UsageAdmin):
    list_display = [
        "day",
        "label",
        "dedicated_client",
        "hours",
        "node_hours",
        "allocated_node_hours",
    ]
    search_fields = ["label"]
    list_select_related = ["dedicated_client"]
    date_hierarchy = "day"


@admin.register(InvoiceSequence)
class InvoiceSequenceAdmin(UsageAdmin):
    list_display = ["year", "last_number"]
