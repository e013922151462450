"""Properties that hold for any usage, checked with hypothesis:
- a pool's client allocations and overhead add up to the pool's cost to the cent;
- an invoice's total is the sum of its lines, each line its cost plus markup;
- an issued invoice never changes, whatever samples, prices or terms change later."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.allocation import OVERHEAD, Allocations
from billing.costs import cost_report
from billing.invoicing import invoice_generate, invoice_issue, invoices_generate
from billing.models import Invoice, InvoiceLine
from billing.money import CENT, apportion, to_cents, with_markup
from billing.sampling import usage_rollup, usage_sample
from billing.shares import Demand, pool_shares
from tests import factories as f
from tests.billing.conftest import at_midnight, price, running_environment, simulate, size_2vcpu

JUNE = datetime.date(2026, 6, 1)
AUGUST_2 = datetime.datetime(2026, 8, 2, 9, 0, tzinfo=datetime.UTC)
DB_EXAMPLES = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

money = st.decimals(min_value=Decimal("0"), max_value=Decimal("10000"), places=6)


@given(total=money, parts=st.lists(money, min_size=1, max_size=12))
def test_apportioned_cents_add_up_and_stay_within_a_cent(total, parts):
    keyed = dict(enumerate(parts))
    split = apportion(total, keyed)
    assert sum(split.values()) == to_cents(total)
    weight = sum(parts)
    for key, value in keyed.items():
        assert split[key] >= 0 and split[key] % CENT == 0
        if weight:
            assert abs(split[key] - to_cents(total) * value / weight) < CENT


demands = st.lists(
    st.tuples(st.integers(1, 4), st.integers(0, 9000), st.integers(0, 20000)),
    min_size=0,
    max_size=10,
)


@given(cpu=st.integers(1, 8000), memory=st.integers(1, 16384), wanted=demands)
def test_shares_and_the_unallocated_rest_make_the_whole(cpu, memory, wanted):
    split = pool_shares(
        cpu_capacity=cpu,
        memory_capacity_mib=memory,
        demands=[Demand(i, c, m_cpu, m_mem) for i, (c, m_cpu, m_mem) in enumerate(wanted)],
    )
    assert all(share >= 0 for share in split.shares.values())
    assert split.unallocated >= 0
    assert sum(split.shares.values()) + split.unallocated == 1
    # Each client gets at least what it asked for, unless the pool is overcommitted.
    asked = {}
    for client, m_cpu, m_mem in wanted:
        total_cpu, total_mem = asked.get(client, (0, 0))
        asked[client] = (total_cpu + m_cpu, total_mem + m_mem)
    raw = {c: max(Decimal(a) / cpu, Decimal(b) / memory) for c, (a, b) in asked.items()}
    if sum(raw.values()) <= 1:
        for client, share in raw.items():
            got = sum(split.shares[i] for i, (c, *_) in enumerate(wanted) if c == client)
            assert abs(got - share) < Decimal("1e-9")


lines_strategy = st.lists(
    st.tuples(money, st.decimals(min_value=0, max_value=1000, places=2)), min_size=1, max_size=20
)


@given(lines=lines_strategy)
def test_a_line_is_its_cost_plus_markup_rounded_half_up(lines):
    for cost, markup in lines:
        amount = with_markup(to_cents(cost), markup)
        exact = to_cents(cost) * (100 + markup) / 100
        assert abs(amount - exact) <= Decimal("0.005") and amount % CENT == 0


scenario = st.fixed_dictionaries(
    {
        "nodes": st.lists(st.integers(0, 6), min_size=3, max_size=3),  # per sampled day
        "price": st.decimals(min_value=Decimal("1"), max_value=Decimal("500"), places=2),
        "dedicated": st.booleans(),
        "clients": st.lists(
            st.tuples(
                st.decimals(min_value=0, max_value=50, places=2),  # markup %
                st.lists(
                    st.tuples(st.integers(1, 5), st.integers(10, 3000), st.integers(16, 6000)),
                    min_size=1,
                    max_size=3,
                ),  # environments: replicas, millicores, MiB per pod
            ),
            min_size=1,
            max_size=3,
        ),
        "minimum_fee": st.sampled_from([None, Decimal("0"), Decimal("5"), Decimal("50")]),
    }
)


def _build(data, cluster):
    size = size_2vcpu()
    price(size, str(data["price"]))
    clients = []
    for index, (markup, environments) in enumerate(data["clients"]):
        client = f.ClientFactory(markup_percent=markup)
        if data["minimum_fee"] is not None:
            f.BillingProfileFactory(client=client, minimum_site_fee=data["minimum_fee"])
        clients.append(client)
        if index == 0:
            owner = client if data["dedicated"] else None
            pool = f.NodePoolFactory(cluster=cluster, size=size, count=1, dedicated_client=owner)
        if pool.dedicated_client_id not in (None, client.pk):
            continue
        site = f.SiteFactory(client=client)
        for replicas, cpu, memory in environments:
            running_environment(
                site, cluster, pool, replicas=replicas, cpu_request=f"{cpu}m",
                cpu_limit=f"{cpu}m", memory_request=f"{memory}Mi", memory_limit=f"{memory}Mi",
            )  # fmt: skip

    def nodes(count):
        return lambda: type(pool).objects.filter(pk=pool.pk).update(count=count)

    days = [JUNE + datetime.timedelta(days=i) for i in range(3)]
    simulate(
        JUNE,
        days[-1] + datetime.timedelta(days=1),
        {d: nodes(n) for d, n in zip(days, data["nodes"], strict=True)},
    )
    return pool, clients


@pytest.mark.django_db
@DB_EXAMPLES
@given(data=scenario)
def test_allocations_and_overhead_add_up_to_the_pool_cost(data, cluster, staff_billing):
    with transaction.atomic():
        pool, _ = _build(data, cluster)
        report = cost_report(months=[JUNE])
        month = report.pools[(pool.pk, JUNE)]
        split = Allocations(report).pool(month)
        assert sum(split.values()) == to_cents(month.cost)
        assert all(cents >= 0 for cents in split.values())
        if pool.dedicated_client_id:
            assert set(split) <= {pool.dedicated_client_id, OVERHEAD}
        # And the invoices: each total is the sum of its lines.
        for invoice in invoices_generate(actor=staff_billing, month=JUNE, now=AUGUST_2):
            lines = list(invoice.lines.all())
            assert invoice.total == sum((line.amount for line in lines), Decimal("0"))
            for line in lines:
                if line.kind != "minimum_fee":
                    assert line.amount == with_markup(line.cost, line.markup_percent)
        transaction.set_rollback(True)


later_change = st.sampled_from(
    ["price", "backdated_price", "samples", "markup", "minimum_fee", "cluster_item", "refresh"]
)


@pytest.mark.django_db
@DB_EXAMPLES
@given(data=scenario, changes=st.lists(later_change, min_size=1, max_size=4, unique=True))
def test_an_issued_invoice_never_changes(data, changes, cluster, staff_billing, settings):
    with transaction.atomic():
        pool, clients = _build(data, cluster)
        client = clients[0]
        invoice = invoice_generate(actor=staff_billing, client=client, month=JUNE, now=AUGUST_2)
        invoice_issue(actor=staff_billing, invoice=invoice, now=AUGUST_2)

        def frozen():
            stored = Invoice.objects.get(pk=invoice.pk)
            lines = InvoiceLine.objects.filter(invoice=stored).order_by("position")
            return (
                stored.number, stored.status, stored.total, stored.cost_total,
                stored.markup_percent, list(lines.values()),
            )  # fmt: skip

        before = frozen()
        for change in changes:
            if change == "price":
                price(pool.size, "999.00", JUNE + datetime.timedelta(days=1))
            elif change == "backdated_price":
                price(pool.size, "1.00", JUNE - datetime.timedelta(days=10))
            elif change == "samples":
                settings.HANGAR_BILLING_SAMPLE_SECONDS = 3600
                running_environment(f.SiteFactory(client=client), cluster, None, replicas=3)
                usage_sample(readings={}, at=at_midnight(JUNE + datetime.timedelta(days=5)))
                usage_rollup(day=JUNE + datetime.timedelta(days=5))
            elif change == "markup":
                type(client).objects.filter(pk=client.pk).update(markup_percent=99)
            elif change == "minimum_fee":
                f.BillingProfileFactory(client=client).__class__.objects.filter(
                    client=client
                ).update(minimum_site_fee=Decimal("1000"))
            elif change == "cluster_item":
                f.ClusterCostItemFactory(cluster=cluster, effective_from=JUNE)
            elif change == "refresh":
                invoices_generate(actor=staff_billing, month=JUNE, now=AUGUST_2)
        assert frozen() == before
        transaction.set_rollback(True)
