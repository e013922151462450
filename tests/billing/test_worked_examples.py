"""Worked examples, computed by hand in the comments, through the whole pipeline:
daily samples → daily roll-up → month cost → invoice lines.

June 2026 has 30 days = 720 hours; July 31 days = 744 hours; February 28 days = 672 hours.
A node's charge is price x min(hours, 672) / 672, so a full month of any month but February
costs exactly the monthly price.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from billing.allocation import OVERHEAD, Allocations
from billing.costs import cost_report
from billing.invoicing import invoice_generate
from billing.periods import month_hours
from tests import factories as f
from tests.billing.conftest import price, running_environment, simulate, size_2vcpu, size_4vcpu

JUNE, JULY, FEBRUARY = (
    datetime.date(2026, 6, 1),
    datetime.date(2026, 7, 1),
    datetime.date(2026, 2, 1),
)
NOW = datetime.datetime(2026, 8, 2, 9, 0, tzinfo=datetime.UTC)

pytestmark = pytest.mark.django_db


def lines_of(invoice):
    return [(line.kind, line.cost, line.amount) for line in invoice.lines.order_by("position")]


@pytest.fixture
def acme(client_a):
    client_a.markup_percent = Decimal("10")
    client_a.save()
    return client_a


def test_dedicated_pool_of_three_nodes_for_a_full_month(acme, site, cluster, staff_billing):
    # 3 x s-2vcpu-4gb at $24, all of June: each node runs 720 h, capped at 672 h, so each
    # costs 24 x 672/672 = $24.00; the pool $72.00.
    # One environment: 2 pods x (500m, 1Gi) = 1000m and 2048Mi of 6000m and 12288Mi
    # → share max(1/6, 1/6) = 1/6 of the pool → $72 / 6 = $12.00; the unused 5/6 of the
    # dedicated pool is the client's too: $60.00. Markup 10%: 13.20 + 66.00 = 79.20.
    size = size_2vcpu()
    price(size, "24.00")
    pool = f.NodePoolFactory(cluster=cluster, size=size, count=3, dedicated_client=acme)
    running_environment(
        site, cluster, pool, replicas=2, cpu_request="500m", memory_request="1Gi",
        memory_limit="2Gi",
    )  # fmt: skip
    simulate(JUNE, JULY)

    report = cost_report(months=[JUNE])
    assert report.pools[(pool.pk, JUNE)].cost == Decimal("72")
    invoice = invoice_generate(actor=staff_billing, client=acme, month=JUNE, now=NOW)
    assert lines_of(invoice) == [
        ("environment", Decimal("12.00"), Decimal("13.20")),
        ("dedicated_pool", Decimal("60.00"), Decimal("66.00")),
    ]
    assert invoice.total == Decimal("79.20")
    assert invoice.cost_total == Decimal("72.00")


def test_a_node_added_on_the_10th(acme, site, cluster, staff_billing):
    # Nodes 1-3 run all June: 720 h each, capped → 3 x $24 = $72.
    # Node 4 runs from June 10, 00:00: 21 days = 504 h < 672 → 24 x 504/672 = $18.
    # Pool: $90.00. Uncapped it would be (3 x 720 + 504) x 24/672 = 2664 node-hours' worth.
    # The environment (1000m, 2Gi) holds 1/6 of 3 nodes and 1/8 of 4 nodes: 0.5 node all
    # month = 360 node-hours of 2664 → 90 x 360/2664 = $12.1621… → 12.16; the rest,
    # 90 - 12.1621… = 77.8378… → 77.84 (12.16 + 77.84 = 90.00).
    # Markup 10%: 12.16 x 1.1 = 13.376 → 13.38; 77.84 x 1.1 = 85.624 → 85.62; total 99.00.
    size = size_2vcpu()
    price(size, "24.00")
    pool = f.NodePoolFactory(cluster=cluster, size=size, count=3, dedicated_client=acme)
    running_environment(
        site, cluster, pool, replicas=2, cpu_request="500m", memory_request="1Gi",
        memory_limit="2Gi",
    )  # fmt: skip

    def add_node():
        pool.count = 4
        pool.save()

    simulate(JUNE, JULY, {datetime.date(2026, 6, 10): add_node})

    assert cost_report(months=[JUNE]).pools[(pool.pk, JUNE)].cost == Decimal("90")
    invoice = invoice_generate(actor=staff_billing, client=acme, month=JUNE, now=NOW)
    assert lines_of(invoice) == [
        ("environment", Decimal("12.16"), Decimal("13.38")),
        ("dedicated_pool", Decimal("77.84"), Decimal("85.62")),
    ]
    assert invoice.total == Decimal("99.00")


def test_a_price_change_on_the_15th(acme, cluster, staff_billing):
    # $24 until June 14, $30 from June 15: per node 336 h at 24 and 384 h at 30.
    # Uncapped: (336 x 24 + 384 x 30) / 672 = 19584/672 = 29.1428…; the node ran 720 h, so
    # the cap scales every hour by 672/720: 19584/720 = $27.20 per node, $81.60 for three.
    # Nothing runs on the pool: all of it is the dedicated client's. Markup 10%: 89.76.
    size = size_2vcpu()
    price(size, "24.00")
    price(size, "30.00", datetime.date(2026, 6, 15))
    pool = f.NodePoolFactory(cluster=cluster, size=size, count=3, dedicated_client=acme)
    simulate(JUNE, JULY)

    assert cost_report(months=[JUNE]).pools[(pool.pk, JUNE)].cost == Decimal("81.6")
    invoice = invoice_generate(actor=staff_billing, client=acme, month=JUNE, now=NOW)
    assert lines_of(invoice) == [("dedicated_pool", Decimal("81.60"), Decimal("89.76"))]


@pytest.fixture
def three_clients_on_a_shared_pool(cluster):
    # A shared pool of 4 x s-4vcpu-8gb at $48: 16000m and 32768Mi.
    size = size_4vcpu()
    price(size, "48.00")
    pool = f.NodePoolFactory(cluster=cluster, size=size, count=4, dedicated_client=None)
    clients = {}
    for name, markup, replicas, cpu, memory in [
        ("a", "10", 2, "1", "1Gi"),  # 2000m → 1/8 CPU, 2Gi → 1/16 memory: share 1/8
        ("b", "0", 1, "500m", "8Gi"),  # 500m → 1/32 CPU, 8Gi → 1/4 memory: share 1/4
        ("c", "25", 4, "1", "2Gi"),  # 4000m → 1/4 CPU, 8Gi → 1/4 memory: share 1/4
    ]:
        client = f.ClientFactory(slug=name, name=name.upper(), markup_percent=Decimal(markup))
        running_environment(
            f.SiteFactory(client=client), cluster, pool, replicas=replicas, cpu_request=cpu,
            cpu_limit="2", memory_request=memory, memory_limit="8Gi",
        )  # fmt: skip
        clients[name] = client
    return pool, clients


def test_a_shared_pool_split_between_three_clients(three_clients_on_a_shared_pool, staff_billing):
    # Pool: 4 nodes x $48, all June (capped) = $192.00. Shares 1/8 + 1/4 + 1/4 = 5/8;
    # the remaining 3/8 is unallocated: agency overhead, never billed.
    # A: 192/8 = 24.00 (+10% = 26.40); B: 192/4 = 48.00 (+0%); C: 48.00 (+25% = 60.00);
    # overhead 192 x 3/8 = 72.00. 24 + 48 + 48 + 72 = 192.
    pool, clients = three_clients_on_a_shared_pool
    simulate(JUNE, JULY)

    report = cost_report(months=[JUNE])
    shared = report.pools[(pool.pk, JUNE)]
    assert shared.cost == Decimal("192")
    assert Allocations(report).pool(shared) == {
        clients["a"].pk: Decimal("24.00"),
        clients["b"].pk: Decimal("48.00"),
        clients["c"].pk: Decimal("48.00"),
        OVERHEAD: Decimal("72.00"),
    }
    expected = {"a": ("24.00", "26.40"), "b": ("48.00", "48.00"), "c": ("48.00", "60.00")}
    for name, (cost, amount) in expected.items():
        invoice = invoice_generate(actor=staff_billing, client=clients[name], month=JUNE, now=NOW)
        assert lines_of(invoice) == [("environment", Decimal(cost), Decimal(amount))]


def test_cluster_items_follow_node_cost(three_clients_on_a_shared_pool, cluster, staff_billing):
    # An HA control plane at $40 all June (720 h, capped) = $40, split like node cost:
    # A 24/192 x 40 = 5.00, B and C 10.00 each, overhead 72/192 x 40 = 15.00.
    # A's line: 24 + 5 = 29.00 → +10% = 31.90.
    _, clients = three_clients_on_a_shared_pool
    f.ClusterCostItemFactory(cluster=cluster, monthly_price=Decimal("40.00"))
    simulate(JUNE, JULY)

    report = cost_report(months=[JUNE])
    assert Allocations(report).cluster(report.clusters[(cluster.pk, JUNE)]) == {
        clients["a"].pk: Decimal("5.00"),
        clients["b"].pk: Decimal("10.00"),
        clients["c"].pk: Decimal("10.00"),
        OVERHEAD: Decimal("15.00"),
    }
    invoice = invoice_generate(actor=staff_billing, client=clients["a"], month=JUNE, now=NOW)
    assert lines_of(invoice) == [("environment", Decimal("29.00"), Decimal("31.90"))]


def test_a_744_hour_month_hits_the_672_hour_cap(acme, cluster, staff_billing):
    # July: 31 days = 744 h. Two nodes all month: 744 h each, capped at 672 → $24 each
    # ($53.14 for both without the cap: 2 x 24 x 744/672). A third node July 1-10 only:
    # 240 h → 24 x 240/672 = 8.5714… Pool: 48 + 8.5714… = 56.5714… → $56.57.
    size = size_2vcpu()
    price(size, "24.00")
    pool = f.NodePoolFactory(cluster=cluster, size=size, count=3, dedicated_client=acme)

    def remove_node():
        pool.count = 2
        pool.save()

    simulate(JULY, datetime.date(2026, 8, 1), {datetime.date(2026, 7, 11): remove_node})

    month = cost_report(months=[JULY]).pools[(pool.pk, JULY)]
    assert month.node_hours == Decimal(2 * 744 + 240)
    assert month.uncapped.quantize(Decimal("0.01")) == Decimal("61.71")
    invoice = invoice_generate(actor=staff_billing, client=acme, month=JULY, now=NOW)
    assert lines_of(invoice) == [("dedicated_pool", Decimal("56.57"), Decimal("62.23"))]


def test_an_overcommitted_pool_is_shared_in_proportion(cluster, staff_billing):
    # February 2026: 672 h, exactly the cap. One s-2vcpu-4gb node at $24 (2000m, 4096Mi).
    # X asks 1500m/1Gi → max(0.75, 0.25) = 0.75; Y asks 500m/3Gi → max(0.25, 0.75) = 0.75.
    # Together 1.5 > 1: scaled to 0.5 each, nothing unallocated. $12.00 each, no overhead.
    size = size_2vcpu()
    price(size, "24.00")
    pool = f.NodePoolFactory(cluster=cluster, size=size, count=1, dedicated_client=None)
    x, y = f.ClientFactory(markup_percent=0), f.ClientFactory(markup_percent=0)
    running_environment(f.SiteFactory(client=x), cluster, pool, cpu_request="1500m",
                        cpu_limit="2", memory_request="1Gi", memory_limit="3Gi")  # fmt: skip
    running_environment(f.SiteFactory(client=y), cluster, pool, cpu_request="500m",
                        memory_request="3Gi", memory_limit="3Gi")  # fmt: skip
    simulate(FEBRUARY, datetime.date(2026, 3, 1))

    report = cost_report(months=[FEBRUARY])
    assert Allocations(report).pool(report.pools[(pool.pk, FEBRUARY)]) == {
        x.pk: Decimal("12.00"),
        y.pk: Decimal("12.00"),
        OVERHEAD: Decimal("0.00"),
    }


def test_months_follow_the_agency_clock(settings):
    # Amsterdam: March 2026 loses an hour (743 h), October gains one (745 h).
    settings.TIME_ZONE = "Europe/Amsterdam"
    assert month_hours(datetime.date(2026, 3, 1)) == 743
    assert month_hours(datetime.date(2026, 10, 1)) == 745
    assert month_hours(JUNE) == 720
