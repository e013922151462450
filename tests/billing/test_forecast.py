"""This month so far and its forecast, in the client's terms."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied

from billing.costs import cost_report
from billing.forecast import grown
from billing.selectors import client_month_costs, clients_month_costs
from sites.models import Environment
from tests import factories as f
from tests.billing.conftest import at_midnight, price, running_environment, simulate, size_4vcpu

pytestmark = pytest.mark.django_db
JUNE, JUNE_11 = datetime.date(2026, 6, 1), datetime.date(2026, 6, 11)
NOW = at_midnight(JUNE_11)  # 10 days of June have passed: 240 of its 720 hours


@pytest.fixture
def pool(cluster):
    # 1 x $67.20 node: $0.10 an hour up to the 672-hour cap.
    size = size_4vcpu()
    price(size, "67.20")
    return f.NodePoolFactory(cluster=cluster, size=size, count=1, dedicated_client=None)


@pytest.fixture
def web(site, cluster, pool):
    # 2000m of the node's 4000m: half the pool, $0.05 an hour, $0.055 with 10% markup.
    return running_environment(
        site, cluster, pool, replicas=2, cpu_request="1", cpu_limit="1", memory_request="1Gi",
        memory_limit="1Gi",
    )  # fmt: skip


def test_cluster_items_of_a_month_not_over_count_its_hours_so_far(web, cluster):
    f.ClusterCostItemFactory(cluster=cluster, monthly_price=Decimal("67.20"))
    simulate(JUNE, JUNE_11)
    report = cost_report(months=[JUNE], until=NOW)
    # 240 hours of $0.10: $24, like the nodes' 240 hours. Before, the whole month's $67.20
    # was set against 10 days of nodes, and a month so far came to nearly three times more.
    assert report.clusters[(cluster.pk, JUNE)].items_cost == Decimal("24")
    assert report.pools[(web.node_pool_id, JUNE)].cost == Decimal("24")


def test_the_forecast_continues_each_line_at_its_rate_up_to_the_cap(web, owner, client_a):
    simulate(JUNE, JUNE_11)
    month = clients_month_costs(actor=owner, clients=[client_a], month=JUNE, now=NOW)[client_a.pk]
    # So far: 240 h x $0.05 = $12.00, $13.20 with markup. The month: 672 billed hours of
    # the 720 (the cap), at the same rate: $33.60 → $36.96.
    assert (month.so_far, month.forecast) == (Decimal("13.20"), Decimal("36.96"))
    (site,) = month.sites
    assert [line.environment_id for line in site.lines] == [web.pk]
    assert month.by_environment() == {web.pk: Decimal("13.20")}


def test_what_no_longer_runs_is_not_forecast_to_grow(web, owner, client_a):
    simulate(JUNE, JUNE_11)
    Environment.objects.filter(pk=web.pk).update(status=Environment.Status.DESTROYING)
    month = client_month_costs(actor=owner, client=client_a, month=JUNE)
    assert month.forecast == month.so_far == Decimal("13.20")


def test_a_minimum_fee_tops_up_the_month_so_far_and_the_forecast(web, owner, client_a):
    f.BillingProfileFactory(client=client_a, minimum_site_fee=Decimal("20"))
    simulate(JUNE, JUNE_11)
    month = clients_month_costs(actor=owner, clients=[client_a], month=JUNE, now=NOW)[client_a.pk]
    assert (month.so_far, month.forecast) == (Decimal("20.00"), Decimal("36.96"))


def test_only_those_who_see_the_clients_billing_get_its_costs(
    web, developer, other_owner, client_a
):
    simulate(JUNE, JUNE_11)
    assert clients_month_costs(actor=developer, clients=[client_a], month=JUNE, now=NOW) == {}
    assert clients_month_costs(actor=other_owner, clients=[client_a], month=JUNE, now=NOW) == {}
    with pytest.raises(PermissionDenied):
        client_month_costs(actor=other_owner, client=client_a, month=JUNE)


def test_growth_stops_at_the_672_hour_cap():
    assert grown(Decimal("10"), Decimal("100"), Decimal("1000")) == Decimal("67.20")
    assert grown(Decimal("10"), Decimal("700"), Decimal("44")) == Decimal("10")
    assert grown(Decimal("10"), Decimal("0"), Decimal("44")) == Decimal("10")
