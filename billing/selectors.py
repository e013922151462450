"""Reads for people: invoices, prices and usage, scoped by tenancy and the permission
matrix. Client users see their own client's issued invoices and usage, and only with
VIEW_BILLING (owners); agency staff see everything; drafts are staff-only."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from billing.models import ClusterCostItem, EnvironmentUsageDay, Invoice, NodePrice
from clusters.models import Cluster
from controlpanel.core.models import Client, User
from controlpanel.core.permissions import MATRIX, Action, can, require
from controlpanel.core.tenancy import is_agency_staff


def _billing_viewable(queryset: QuerySet, actor: User, client_path: str) -> QuerySet:
    """Rows of clients whose billing `actor` may see (VIEW_BILLING), in one query."""
    queryset = queryset.for_user(actor)
    if is_agency_staff(actor):
        return queryset if can(actor, Action.VIEW_BILLING) else queryset.none()
    roles = [str(role) for role in MATRIX[Action.VIEW_BILLING][0]]
    return queryset.filter(
        **{
            f"{client_path}__memberships__user": actor,
            f"{client_path}__memberships__role__in": roles,
        }
    )


def invoice_list(
    *,
    actor: User,
    client: Client | None = None,
    month: datetime.date | None = None,
    status: str | None = None,
) -> QuerySet[Invoice]:
    invoices = _billing_viewable(Invoice.objects.all(), actor, "client")
    if not is_agency_staff(actor):
        invoices = invoices.exclude(status=Invoice.Status.DRAFT)
    if client is not None:
        invoices = invoices.filter(client=client)
    if month is not None:
        invoices = invoices.filter(period_start=month.replace(day=1))
    if status:
        invoices = invoices.filter(status=status)
    return invoices.select_related("client").order_by("-period_start", "client__name", "pk")


def invoice_get(*, actor: User, pk: int) -> Invoice:
    """The invoice, or Invoice.DoesNotExist when it is not there for `actor` (another
    client's invoice looks exactly like a missing one)."""
    return invoice_list(actor=actor).get(pk=pk)


def invoice_line_rows(*, actor: User, invoice: Invoice) -> list[dict[str, Any]]:
    """The lines as plain data; agency cost and markup only for staff."""
    require(actor, Action.VIEW_BILLING, invoice.client)
    staff = is_agency_staff(actor)
    rows = []
    for line in invoice.lines.order_by("position"):
        row = {
            "position": line.position,
            "kind": line.kind,
            "description": line.description,
            "environment_id": line.environment_id,
            "site_id": line.site_id,
            "quantity": line.quantity,
            "unit": line.unit,
            "amount": line.amount,
        }
        if staff:
            row |= {"cost": line.cost, "markup_percent": line.markup_percent, "detail": line.detail}
        rows.append(row)
    return rows


def node_price_list(*, actor: User, day: datetime.date | None = None) -> QuerySet[NodePrice]:
    """Price history (agency cost, staff only); with `day`, the prices in force that day."""
    prices = NodePrice.objects.for_user(actor).select_related("size")
    return prices.in_effect_on(day) if day is not None else prices


def cluster_cost_item_list(
    *, actor: User, cluster: Cluster | None = None, day: datetime.date | None = None
) -> QuerySet[ClusterCostItem]:
    items = ClusterCostItem.objects.for_user(actor).select_related("cluster")
    if cluster is not None:
        items = items.filter(cluster=cluster)
    if day is not None:
        items = items.filter(effective_from__lte=day).exclude(ends_on__lt=day)
    return items


def usage_day_list(
    *, actor: User, client: Client, start: datetime.date, end: datetime.date
) -> QuerySet[EnvironmentUsageDay]:
    """A client's daily usage rows from `start` to `end` (exclusive)."""
    if not can(actor, Action.VIEW_BILLING, client):
        raise PermissionDenied("You are not allowed to view billing.")
    return (
        EnvironmentUsageDay.objects.for_user(actor)
        .filter(client=client, day__gte=start, day__lt=end)
        .order_by("day", "site_label", "label")
    )
