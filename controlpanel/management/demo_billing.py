"""Billing history for the demo, so that every billing page has numbers on a fresh clone:
three past months of usage, their invoices (the oldest paid, the next issued, last month's
drafts waiting for billing staff), and the last week hour by hour with measured CPU and
memory for the usage charts.

The history goes through the real code: usage_sample and usage_rollup for every slot,
invoices_generate / invoice_issue / invoice_mark_paid for the invoices, all as of the past
moment they stand for. Only two things are made up, and only here: the demo's pods are
counted from the database (the sandbox cluster was not running in the past; samples say
so), and their CPU and memory use follows a deterministic daily wave below the requests.
"""

from __future__ import annotations

import datetime
import math
from decimal import Decimal

from billing.invoicing import invoice_issue, invoice_mark_paid, invoices_generate
from billing.live import ClusterReading, NamespaceUse
from billing.models import ClusterCostItem, Invoice, SampleRun
from billing.periods import local_date, local_midnight, month_start
from billing.sampling import billed_pods, usage_rollup, usage_sample
from clusters.models import Cluster
from controlpanel.core.models import User
from sites.manifests.policy import pod_resources
from sites.models import Environment

HISTORY_MONTHS = 3
HOURLY_DAYS = 7
DAY = datetime.timedelta(days=1)
HOUR = datetime.timedelta(hours=1)
_MI = 2**20


def _months_back(month: datetime.date, count: int) -> datetime.date:
    for _ in range(count):
        month = month_start(month - DAY)
    return month


def _readings(environments: list[Environment], at: datetime.datetime) -> dict[int, ClusterReading]:
    """Made-up measured use at `at`, between a fifth and four fifths of the requests, with
    a daily peak in the afternoon; pods come from the database (see the module docstring)."""
    hour = at.timestamp() / 3600
    readings: dict[int, ClusterReading] = {}
    for environment in environments:
        reading = readings.setdefault(
            environment.cluster_id,
            ClusterReading(pods=None, usage={}, error="demo history: counted from the database"),
        )
        resources, pods = pod_resources(environment), billed_pods(environment)
        wave = (1 + math.sin(2 * math.pi * (hour - 9) / 24 + environment.pk)) / 2
        cpu = resources.cpu_request * pods * (0.2 + 0.6 * wave)
        memory = resources.memory_request * pods / _MI * (0.5 + 0.3 * wave)
        reading.usage[environment.namespace] = NamespaceUse(int(cpu), int(memory))
    return readings


def _running() -> list[Environment]:
    return list(
        Environment.objects.exclude(status=Environment.Status.NEW)
        .exclude(image="")
        .select_related("site__client")
    )


def _sample_day(day: datetime.date, hourly: bool, until: datetime.datetime) -> None:
    start = local_midnight(day)
    environments = _running()
    aligned = start.timestamp() % 86400 == 0
    if aligned and not hourly:
        usage_sample(at=start, seconds=86400, readings=_readings(environments, start + 14 * HOUR))
    else:
        at = start
        while at < min(start + DAY, until):
            usage_sample(at=at, seconds=3600, readings=_readings(environments, at))
            at += HOUR
    usage_rollup(day=day)


def seed_billing_history(
    *, actor: User, now: datetime.datetime, changes: dict[datetime.date, object] | None = None
) -> bool:
    """Record the demo's billing history up to `now` (see the module docstring), once:
    returns False, doing nothing, when usage or invoices are there already. `changes[day]`
    (a callable) runs before that day is sampled: how the demo's sites changed over time."""
    if SampleRun.objects.exists() or Invoice.objects.exists():
        return False
    today = local_date(now)
    this_month = month_start(today)
    first = _months_back(this_month, HISTORY_MONTHS)
    hourly_from = today - HOURLY_DAYS * DAY
    until = local_midnight(today) + HOUR * int((now - local_midnight(today)) / HOUR)
    day = first
    while day <= today:
        if changes and day in changes:
            changes[day]()  # type: ignore[operator]
        _sample_day(day, day >= hourly_from, until)
        day += DAY
    for months_ago in range(HISTORY_MONTHS, 0, -1):
        month = _months_back(this_month, months_ago)
        ended = local_midnight(_months_back(this_month, months_ago - 1))
        if months_ago == 1:
            invoices_generate(actor=actor, month=month, now=now)  # drafts to review
            continue
        for invoice in invoices_generate(actor=actor, month=month, now=ended + HOUR):
            invoice_issue(actor=actor, invoice=invoice, now=ended + 2 * DAY + 9 * HOUR)
            if months_ago == HISTORY_MONTHS:
                invoice_mark_paid(actor=actor, invoice=invoice, paid_at=ended + 12 * DAY)
    return True


def seed_cluster_costs(*, cluster: Cluster, since: datetime.date) -> None:
    """The sandbox cluster's costs besides nodes, as DigitalOcean bills them."""
    for kind, name, price in (
        (ClusterCostItem.Kind.CONTROL_PLANE, "HA control plane", "40.00"),
        (ClusterCostItem.Kind.LOAD_BALANCER, "ingress load balancer", "12.00"),
    ):
        if not ClusterCostItem.objects.filter(cluster=cluster, name=name).exists():
            ClusterCostItem.objects.create(
                cluster=cluster,
                kind=kind,
                name=name,
                monthly_price=Decimal(price),
                effective_from=since,
            )
