"""Reads for people: invoices, prices, usage and this month's costs, scoped by tenancy and
the permission matrix. Client users see their own client's issued invoices and usage, and
only with VIEW_BILLING (owners); agency staff see everything; drafts are staff-only."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.utils import timezone

from billing.costs import cost_report
from billing.forecast import MonthCosts, month_costs
from billing.invoicing import client_month_lines, line_fields, minimum_site_fee
from billing.models import (
    ClusterCostItem,
    EnvironmentSample,
    EnvironmentUsageDay,
    Invoice,
    NodePrice,
)
from billing.models.prices import billing_currency
from billing.periods import hours_between, local_date, local_midnight, month_start, next_month
from clusters.models import Cluster, NodePool
from controlpanel.core.models import Client, User
from controlpanel.core.permissions import MATRIX, Action, can, require
from controlpanel.core.tenancy import is_agency_staff
from sites.models import Environment, Site


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
        row = {"position": line.position, **line_fields(line)}
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


def clients_month_costs(
    *,
    actor: User,
    clients: Iterable[Client],
    month: datetime.date | None = None,
    now: datetime.datetime | None = None,
) -> dict[int, MonthCosts]:
    """The month so far and its forecast (billing.forecast) for each of `clients` whose
    billing `actor` may see, by client id; the current month by default. One cost report for
    all of them: the query count does not grow with clients, sites or environments."""
    now = now or timezone.now()
    month = month_start(month or local_date(now))
    ids = [c.pk for c in clients if can(actor, Action.VIEW_BILLING, c)]
    if not ids:
        return {}
    report = cost_report(months=[month], client_ids=ids, until=now)
    end = local_midnight(next_month(month))
    remaining = hours_between(max(now, local_midnight(month)), end)
    running = set(
        Environment.objects.filter(site__client_id__in=ids)
        .exclude(status__in=[Environment.Status.NEW, Environment.Status.DESTROYING])
        .exclude(image="")
        .values_list("pk", flat=True)
    )
    dedicated = set(
        NodePool.objects.filter(dedicated_client_id__in=ids, count__gt=0).values_list(
            "pk", flat=True
        )
    )
    names = dict(Site.objects.filter(client_id__in=ids).values_list("pk", "name"))
    result = {}
    for client in Client.objects.filter(pk__in=ids).select_related("billing_profile"):
        fee = minimum_site_fee(client)
        lines = client_month_lines(report, client, month)
        result[client.pk] = month_costs(
            client_id=client.pk,
            month=month,
            currency=billing_currency(),
            lines=lines,
            remaining_hours=remaining,
            site_names=names,
            running_environments=running,
            dedicated_pools=dedicated,
            minimum_site_fee=fee,
        )
    return result


def client_month_costs(
    *, actor: User, client: Client, month: datetime.date | None = None
) -> MonthCosts:
    """One client's month so far and forecast; PermissionDenied without VIEW_BILLING."""
    require(actor, Action.VIEW_BILLING, client)
    return clients_month_costs(actor=actor, clients=[client], month=month)[client.pk]


# A preview's cost so far adds up the months it lived; previews live days, so a few months.
PREVIEW_MONTHS = 12


def previews_cost_so_far(
    *, actor: User, site: Site, previews: Iterable[Environment]
) -> dict[int, Decimal] | None:
    """What each of `site`'s previews has cost since it was created, by environment id
    (billed like any environment); None when `actor` does not see the client's billing.
    Here, not in sites.previews: costs are billing's, and sites does not import billing;
    the previews page puts the two together."""
    if not can(actor, Action.VIEW_BILLING, site.client):
        return None
    created = {environment.pk: environment.created_at for environment in previews}
    if not created:
        return {}
    today = local_date(timezone.now())
    month = month_start(min(local_date(at) for at in created.values()))
    totals = dict.fromkeys(created, Decimal(0))
    for _ in range(PREVIEW_MONTHS):
        if month > today:
            break
        by_environment = client_month_costs(actor=actor, client=site.client, month=month)
        for pk, amount in by_environment.by_environment().items():
            if pk in totals:
                totals[pk] += amount
        month = next_month(month)
    return totals


def environment_usage(
    *, actor: User, environment: Environment, days: int = 7
) -> list[EnvironmentSample]:
    """The environment's samples of the last `days` days, oldest first: pods, requested
    and (where the cluster serves metrics) used CPU and memory. Anyone who may see the
    environment may see them: they hold no money."""
    require(actor, Action.VIEW, environment.site.client)
    since = timezone.now() - datetime.timedelta(days=days)
    return list(
        EnvironmentSample.objects.filter(environment_id=environment.pk, taken_at__gte=since)
        .order_by("taken_at")
        .only(
            "taken_at",
            "seconds",
            "pods",
            "cpu_millicores",
            "memory_mib",
            "cpu_used_millicores",
            "memory_used_mib",
            "source",
        )
    )
