"""Numbers for billing dashboards and charts, as plain data (lists of dicts with dates and
Decimals). Query counts are constant: they do not grow with clients, pools or months.

Staff: infrastructure cost against billed revenue per month, per client, per cluster,
and pool utilisation. Client: the monthly trend and the per-environment breakdown.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Sum

from billing.allocation import OVERHEAD, Allocations
from billing.costs import CostReport, cost_report
from billing.invoicing import client_month_lines, line_fields
from billing.models import Invoice
from billing.models.prices import billing_currency
from billing.money import ZERO, to_cents, with_markup
from billing.periods import last_months, month_start
from clusters.models import Cluster
from controlpanel.core.models import Client, User
from controlpanel.core.permissions import Action, can
from controlpanel.core.tenancy import is_agency_staff

BILLED = (Invoice.Status.ISSUED, Invoice.Status.PAID)
_PERCENT = Decimal("0.1")


def _require_staff(actor: User) -> None:
    if not (is_agency_staff(actor) and can(actor, Action.VIEW_BILLING)):
        raise PermissionDenied("Agency billing figures are for agency staff.")


def _require_client(actor: User, client: Client) -> None:
    if not can(actor, Action.VIEW_BILLING, client):
        raise PermissionDenied("You are not allowed to view billing.")


def _months(months: Sequence[datetime.date] | None) -> list[datetime.date]:
    return sorted({month_start(m) for m in months}) if months else last_months(12)


def _percent(part: Decimal, whole: Decimal) -> Decimal:
    return (part * 100 / whole).quantize(_PERCENT, rounding=ROUND_HALF_UP) if whole else ZERO


def margin_by_month(
    *, actor: User, months: Sequence[datetime.date] | None = None
) -> list[dict[str, Any]]:
    """Per month: infrastructure cost (nodes and cluster items), what of it is overhead,
    revenue billed (issued and paid invoices) and the margin."""
    _require_staff(actor)
    months = _months(months)
    report = cost_report(months=months, client_ids=())
    billed = {
        row["period_start"]: row
        for row in Invoice.objects.filter(period_start__in=months, status__in=BILLED)
        .order_by()
        .values("period_start")
        .annotate(total_=Sum("total"), invoices=Count("pk"))
    }
    rows = []
    for month in months:
        node_cost = sum((p.cost for p in report.pools_in(month)), ZERO)
        items = [c for (_, m), c in report.clusters.items() if m == month]
        items_cost = sum((c.items_cost for c in items), ZERO)
        overhead = sum(
            (p.unallocated_cost_of(None) * (1 + p.cluster_factor) for p in report.pools_in(month)),
            ZERO,
        ) + sum((c.items_cost for c in items if not c.node_cost), ZERO)
        cost = to_cents(node_cost + items_cost)
        revenue = billed.get(month, {}).get("total_") or ZERO
        rows.append(
            {
                "month": month,
                "currency": billing_currency(),
                "node_cost": to_cents(node_cost),
                "cluster_items_cost": to_cents(items_cost),
                "cost": cost,
                "overhead": to_cents(overhead),
                "billed": revenue,
                "invoices": billed.get(month, {}).get("invoices", 0),
                "margin": revenue - cost,
                "missing_prices": report.missing_prices(month),
            }
        )
    return rows


def client_margins(
    *, actor: User, month: datetime.date, report: CostReport | None = None
) -> list[dict[str, Any]]:
    """Per client with costs or invoices in `month`: allocated cost, amount billed (issued
    or paid invoice) or, before that, the draft's or the estimate's amount, and the margin.
    `report`: the month's cost report of every client, when the caller has one."""
    _require_staff(actor)
    month = month_start(month)
    report = report or cost_report(months=[month])
    costs = Allocations(report).by_party()
    invoices = {
        invoice.client_id: invoice
        for invoice in Invoice.objects.filter(period_start=month).exclude(
            status=Invoice.Status.VOID
        )
    }
    client_ids = {party for party, m in costs if m == month and party != OVERHEAD} | set(invoices)
    clients = Client.objects.filter(pk__in=client_ids).select_related("billing_profile")
    rows = []
    for client in clients.order_by("name"):
        cost = costs.get((client.pk, month), ZERO)
        invoice = invoices.get(client.pk)
        if invoice is not None:
            amount, status = invoice.total, invoice.status
        else:
            lines = client_month_lines(report, client, month)
            amount, status = sum((line.amount for line in lines), ZERO), "estimate"
        rows.append(
            {
                "client_id": client.pk,
                "client": client.name,
                "cost": cost,
                "amount": amount,
                "status": status,
                "invoice_number": invoice.number if invoice else "",
                "margin": amount - cost,
            }
        )
    return rows


def cluster_costs(
    *, actor: User, month: datetime.date, report: CostReport | None = None
) -> list[dict[str, Any]]:
    """Per cluster: node cost, fixed items, what is allocated to clients, overhead, and what
    clients pay for it (their allocations with each client's markup, before minimum fees):
    is the cluster paying for itself?"""
    _require_staff(actor)
    month = month_start(month)
    report = report or cost_report(months=[month])
    allocations = Allocations(report)
    totals: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    by_client: dict[int, dict[int, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))

    def add(cluster_id: int, parts: dict) -> None:
        for party, cents in parts.items():
            totals[cluster_id]["overhead" if party == OVERHEAD else "allocated"] += cents
            if party != OVERHEAD:
                by_client[cluster_id][party] += cents

    for pool in report.pools_in(month):
        if pool.cluster_id is None:
            continue
        add(pool.cluster_id, allocations.pool(pool))
        totals[pool.cluster_id]["node_cost"] += to_cents(pool.cost)
    for (cluster_id, m), cluster in report.clusters.items():
        if m != month:
            continue
        add(cluster_id, allocations.cluster(cluster))
        totals[cluster_id]["items_cost"] += to_cents(cluster.items_cost)
    names = dict(Cluster.objects.filter(pk__in=list(totals)).values_list("pk", "name"))
    client_ids = {client for parts in by_client.values() for client in parts}
    markups = dict(Client.objects.filter(pk__in=client_ids).values_list("pk", "markup_percent"))
    rows = []
    for cluster_id, values in sorted(totals.items(), key=lambda kv: names.get(kv[0], "")):
        cost = values["node_cost"] + values["items_cost"]
        billed = sum(
            (
                with_markup(cents, markups.get(client, ZERO))
                for client, cents in by_client[cluster_id].items()
            ),
            ZERO,
        )
        rows.append(
            {
                "cluster_id": cluster_id,
                "cluster": names.get(cluster_id, f"cluster #{cluster_id} (deleted)"),
                "node_cost": values["node_cost"],
                "cluster_items_cost": values["items_cost"],
                "cost": cost,
                "allocated": values["allocated"],
                "overhead": values["overhead"],
                "overhead_percent": _percent(values["overhead"], cost),
                "billed": billed,
                "margin": billed - cost,
            }
        )
    return rows


def pool_utilisation(
    *, actor: User, month: datetime.date, report: CostReport | None = None
) -> list[dict[str, Any]]:
    """Per pool: average nodes, CPU and memory requested as % of allocatable, % of node
    capacity allocated to clients, cost and the unallocated part of it."""
    _require_staff(actor)
    month = month_start(month)
    report = report or cost_report(months=[month], client_ids=())
    owners = {p.dedicated_client_id for p in report.pools_in(month)} - {None}
    names = dict(Client.objects.filter(pk__in=owners).values_list("pk", "name"))
    rows = []
    for pool in sorted(report.pools_in(month), key=lambda p: p.label):
        rows.append(
            {
                "pool_id": pool.pool_id,
                "pool": pool.label,
                "shared": pool.is_shared,
                "dedicated_client_id": pool.dedicated_client_id,
                "dedicated_client": names.get(pool.dedicated_client_id, ""),
                "modes": len(pool.modes),
                "average_nodes": pool.average_nodes.quantize(Decimal("0.01")),
                "cpu_requested_percent": _percent(
                    pool.cpu_requested_hours, pool.cpu_allocatable_hours
                ),
                "memory_requested_percent": _percent(
                    pool.memory_requested_mib_hours, pool.memory_allocatable_mib_hours
                ),
                "allocated_percent": _percent(pool.allocated_node_hours, pool.node_hours),
                "cost": to_cents(pool.cost),
                "unallocated_cost": to_cents(pool.unallocated_cost),
            }
        )
    return rows


def month_overview(*, actor: User, month: datetime.date) -> dict[str, list[dict[str, Any]]]:
    """The billing console's tables for `month` (client margins, cluster costs, pool
    utilisation) from one cost report: one pass over the month's usage, not three."""
    _require_staff(actor)
    month = month_start(month)
    report = cost_report(months=[month])
    return {
        "clients": client_margins(actor=actor, month=month, report=report),
        "clusters": cluster_costs(actor=actor, month=month, report=report),
        "pools": pool_utilisation(actor=actor, month=month, report=report),
    }


def client_cost_trend(
    *, actor: User, client: Client, months: Sequence[datetime.date] | None = None
) -> list[dict[str, Any]]:
    """Per month: what the client was billed (issued or paid invoice) or, for months not
    invoiced yet, what the month comes to so far at today's markup (an estimate)."""
    _require_client(actor, client)
    months = _months(months)
    invoices = {
        invoice.period_start: invoice
        for invoice in Invoice.objects.filter(
            client=client, period_start__in=months, status__in=BILLED
        )
    }
    pending = [m for m in months if m not in invoices]
    report = cost_report(months=pending, client_ids=[client.pk])
    # Its billing profile (minimum fee) read once for every month.
    client = Client.objects.select_related("billing_profile").get(pk=client.pk)
    rows = []
    for month in months:
        invoice = invoices.get(month)
        if invoice is not None:
            amount, status, number = invoice.total, invoice.status, invoice.number
        else:
            lines = client_month_lines(report, client, month)
            amount, status, number = sum((x.amount for x in lines), ZERO), "estimate", ""
        rows.append(
            {
                "month": month,
                "currency": billing_currency(),
                "amount": amount,
                "status": status,
                "invoice_number": number,
            }
        )
    return rows


def client_environment_costs(
    *, actor: User, client: Client, month: datetime.date
) -> list[dict[str, Any]]:
    """The month per line (environments, minimum fees, dedicated pools): the invoice's lines
    once issued, otherwise computed so far."""
    _require_client(actor, client)
    month = month_start(month)
    invoice = (
        Invoice.objects.filter(client=client, period_start=month, status__in=BILLED)
        .prefetch_related("lines")
        .first()
    )
    if invoice is not None:
        lines: list[Any] = sorted(invoice.lines.all(), key=lambda line: line.position)
    else:
        lines = client_month_lines(
            cost_report(months=[month], client_ids=[client.pk]), client, month
        )
    return [line_fields(line) | {"estimate": invoice is None} for line in lines]
