"""Dashboard data: staff margins, clusters and pools; a client's trend and breakdown.

June 2026, one cluster:
- shared pool 4 x s-4vcpu-8gb at $48 = $192: Acme's web (2 x 1000m/1Gi) holds 1/8 → $24;
  B's app (500m/8Gi) holds 1/4 → $48; the unrequested 5/8 → $120 is overhead;
- Acme's dedicated pool 3 x s-2vcpu-4gb at $24 = $72, nothing on it;
- an HA control plane at $33: 33/264 = 1/8 on every node dollar → Acme 96/8 = 12,
  B 6, overhead 15.
Costs: Acme 24 + 72 + 12 = 108; B 48 + 6 = 54; overhead 120 + 15 = 135; all 264 + 33 = 297.
Invoices: Acme (10%): (24 + 3) x 1.1 = 29.70 and (72 + 9) x 1.1 = 89.10 → 118.80; B (0%): 54.00.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied

from billing.dashboards import (
    client_cost_trend,
    client_environment_costs,
    client_margins,
    cluster_costs,
    margin_by_month,
    pool_utilisation,
)
from billing.invoicing import invoice_issue, invoices_generate
from tests import factories as f
from tests.billing.conftest import price, running_environment, simulate, size_2vcpu, size_4vcpu

pytestmark = pytest.mark.django_db
MAY, JUNE, JULY = datetime.date(2026, 5, 1), datetime.date(2026, 6, 1), datetime.date(2026, 7, 1)
AUGUST_2 = datetime.datetime(2026, 8, 2, 9, 0, tzinfo=datetime.UTC)
D = Decimal


@pytest.fixture
def june(client_a, site, cluster):
    shared_size, dedicated_size = size_4vcpu(), size_2vcpu()
    price(shared_size, "48.00")
    price(dedicated_size, "24.00")
    shared = f.NodePoolFactory(cluster=cluster, size=shared_size, count=4, name="shared")
    f.NodePoolFactory(
        cluster=cluster, size=dedicated_size, count=3, dedicated_client=client_a, name="acme"
    )
    f.ClusterCostItemFactory(cluster=cluster, monthly_price=D("33.00"))
    running_environment(
        site, cluster, shared, replicas=2, cpu_request="1", cpu_limit="2",
        memory_request="1Gi", memory_limit="2Gi",
    )  # fmt: skip
    b = f.ClientFactory(name="B", slug="b", markup_percent=0)
    running_environment(
        f.SiteFactory(client=b), cluster, shared, cpu_request="500m", memory_request="8Gi",
        memory_limit="8Gi",
    )  # fmt: skip
    simulate(JUNE, JULY)
    return b


def test_staff_margin_by_month(june, staff_billing):
    for invoice in invoices_generate(actor=staff_billing, month=JUNE, now=AUGUST_2):
        invoice_issue(actor=staff_billing, invoice=invoice, now=AUGUST_2)
    may, june_row = margin_by_month(actor=staff_billing, months=[MAY, JUNE])
    # May: no nodes ran, but the control plane was there: all of it overhead.
    assert (may["cost"], may["overhead"], may["billed"]) == (D("33.00"), D("33.00"), 0)
    assert {k: june_row[k] for k in ("node_cost", "cluster_items_cost", "cost", "overhead")} == {
        "node_cost": D("264.00"), "cluster_items_cost": D("33.00"), "cost": D("297.00"),
        "overhead": D("135.00"),
    }  # fmt: skip
    assert (june_row["billed"], june_row["invoices"], june_row["margin"]) == (
        D("172.80"), 2, D("-124.20"),
    )  # fmt: skip


def test_staff_client_margins(june, client_a, staff_operator):
    rows = {row["client"]: row for row in client_margins(actor=staff_operator, month=JUNE)}
    assert (rows["Acme"]["cost"], rows["Acme"]["amount"], rows["Acme"]["margin"]) == (
        D("108.00"), D("118.80"), D("10.80"),
    )  # fmt: skip
    assert rows["Acme"]["status"] == "estimate"
    assert (rows["B"]["cost"], rows["B"]["amount"]) == (D("54.00"), D("54.00"))


def test_staff_cluster_costs(june, cluster, staff_billing):
    (row,) = cluster_costs(actor=staff_billing, month=JUNE)
    assert row["cluster"] == cluster.name
    assert (row["cost"], row["allocated"], row["overhead"], row["overhead_percent"]) == (
        D("297.00"), D("162.00"), D("135.00"), D("45.5"),
    )  # fmt: skip


def test_staff_pool_utilisation(june, staff_billing):
    acme, shared = pool_utilisation(actor=staff_billing, month=JUNE)
    # CPU: 2000m + 500m of 16000m; memory: 2Gi + 8Gi of 32Gi; allocated 1/8 + 1/4.
    assert (shared["average_nodes"], shared["cpu_requested_percent"]) == (D("4.00"), D("15.6"))
    assert (shared["memory_requested_percent"], shared["allocated_percent"]) == (
        D("31.3"),
        D("37.5"),
    )
    assert (shared["cost"], shared["unallocated_cost"], shared["shared"]) == (
        D("192.00"),
        D("120.00"),
        True,
    )
    assert (acme["cost"], acme["unallocated_cost"], acme["shared"]) == (
        D("72.00"),
        D("72.00"),
        False,
    )


def test_client_trend_and_breakdown(june, client_a, owner, staff_billing):
    trend = client_cost_trend(actor=owner, client=client_a, months=[MAY, JUNE])
    assert [(row["month"], row["amount"], row["status"]) for row in trend] == [
        (MAY, D("0"), "estimate"), (JUNE, D("118.80"), "estimate"),
    ]  # fmt: skip
    lines = client_environment_costs(actor=owner, client=client_a, month=JUNE)
    assert [(row["kind"], row["amount"], row["estimate"]) for row in lines] == [
        ("environment", D("29.70"), True), ("dedicated_pool", D("89.10"), True),
    ]  # fmt: skip
    for invoice in invoices_generate(actor=staff_billing, month=JUNE, now=AUGUST_2):
        invoice_issue(actor=staff_billing, invoice=invoice, now=AUGUST_2)
    trend = client_cost_trend(actor=owner, client=client_a, months=[JUNE])
    assert trend[0]["status"] == "issued" and trend[0]["invoice_number"].startswith("2026-")
    lines = client_environment_costs(actor=owner, client=client_a, month=JUNE)
    assert [row["estimate"] for row in lines] == [False, False]
    assert "cost" not in lines[0]  # agency cost never reaches a client


def test_who_sees_which_dashboard(
    june, client_a, owner, viewer, developer, other_owner, staff_operator
):
    for dashboard in (margin_by_month, client_margins, cluster_costs, pool_utilisation):
        kwargs = {} if dashboard is margin_by_month else {"month": JUNE}
        for actor in (owner, other_owner):
            with pytest.raises(PermissionDenied):
                dashboard(actor=actor, **kwargs)
        dashboard(actor=staff_operator, **kwargs)
    for dashboard in (client_cost_trend, client_environment_costs):
        kwargs = {"month": JUNE} if dashboard is client_environment_costs else {}
        for actor in (viewer, developer, other_owner):
            with pytest.raises(PermissionDenied):
                dashboard(actor=actor, client=client_a, **kwargs)
        dashboard(actor=owner, client=client_a, **kwargs)


def test_dashboards_take_constant_queries(
    client_a, site, cluster, staff_billing, owner, django_assert_max_num_queries
):
    size = size_2vcpu()
    price(size, "24.00")
    pool = f.NodePoolFactory(cluster=cluster, size=size, count=2)
    running_environment(site, cluster, pool)
    simulate(JUNE, datetime.date(2026, 6, 3))
    counts = {}
    for month in (JUNE, JULY):
        # Fresh objects: nothing cached on them from the previous round.
        owner, client_a = (
            type(owner).objects.get(pk=owner.pk),
            type(client_a).objects.get(pk=client_a.pk),
        )
        with django_assert_max_num_queries(60) as captured:
            margin_by_month(actor=staff_billing, months=[month])
            client_margins(actor=staff_billing, month=month)
            cluster_costs(actor=staff_billing, month=month)
            pool_utilisation(actor=staff_billing, month=month)
            client_cost_trend(actor=owner, client=client_a, months=[month])
            client_environment_costs(actor=owner, client=client_a, month=month)
        counts[month] = len(captured.captured_queries)
        if month == JUNE:
            # July: eight more clients, a second cluster and more pools.
            other_cluster = f.ClusterFactory()
            more = f.NodePoolFactory(cluster=other_cluster, size=size, count=3)
            for _ in range(8):
                client = f.ClientFactory()
                running_environment(f.SiteFactory(client=client), other_cluster, more)
                running_environment(f.SiteFactory(client=client), cluster, pool)
            simulate(JULY, datetime.date(2026, 7, 3))
    assert counts[JULY] == counts[JUNE]
