"""Estimates: the monthly difference of a change, before the user confirms it."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from billing.estimates import (
    estimate_autoscale,
    estimate_environment_add,
    estimate_pool_nodes,
    estimate_scale,
)
from tests import factories as f
from tests.billing.conftest import price, running_environment, size_2vcpu, size_4vcpu

pytestmark = pytest.mark.django_db
TODAY = datetime.date(2026, 6, 10)


@pytest.fixture
def shared(cluster):
    # 4 x s-4vcpu-8gb at $48: 16000m and 32768Mi; $192 a month.
    size = size_4vcpu()
    price(size, "48.00")
    return f.NodePoolFactory(cluster=cluster, size=size, count=4, dedicated_client=None)


@pytest.fixture
def web(site, cluster, shared):
    # 2 pods x 1000m/1Gi: 1/8 of the CPU → $24 a month, $26.40 with Acme's 10% markup.
    return running_environment(
        site,
        cluster,
        shared,
        replicas=2,
        cpu_request="1",
        cpu_limit="2",
        memory_request="1Gi",
        memory_limit="2Gi",
    )


def money(value: str) -> Decimal:
    return Decimal(value)


def test_scaling_in_a_shared_pool_is_priced_at_the_marginal_share(web, owner):
    estimate = estimate_scale(actor=owner, environment=web, replicas=4, today=TODAY)
    # 4 pods: 1/4 of the pool → $48 → $52.80.
    assert (estimate.before, estimate.after, estimate.difference) == (
        money("26.40"), money("52.80"), money("26.40"),
    )  # fmt: skip
    assert estimate.currency == "USD" and estimate.payer == "client"
    assert estimate.basis == "shared_pool" and "marginal share" in estimate.assumptions[0]
    data = estimate.as_dict()
    assert data["difference"] == "26.40" and data["client_id"] == web.site.client_id


def test_cluster_items_are_part_of_the_price(web, owner, cluster):
    # An HA control plane at $40 on $192 of nodes adds 40/192 to every node dollar:
    # $24 → $29.00 → $31.90; $48 → $58.00 → $63.80.
    f.ClusterCostItemFactory(cluster=cluster, monthly_price=Decimal("40"))
    estimate = estimate_scale(actor=owner, environment=web, replicas=4, today=TODAY)
    assert (estimate.before, estimate.after) == (money("31.90"), money("63.80"))


def test_autoscaling_is_billed_at_its_minimum_up_to_its_maximum(web, developer):
    estimate = estimate_autoscale(
        actor=developer, environment=web, min_replicas=2, max_replicas=6, today=TODAY
    )
    # Minimum 2 pods: unchanged. Maximum 6 pods: 3/8 of the pool → $72 → $79.20.
    assert (estimate.before, estimate.after, estimate.after_max) == (
        money("26.40"), money("26.40"), money("79.20"),
    )  # fmt: skip
    assert estimate.difference == 0 and estimate.difference_max == money("52.80")


def test_adding_an_environment(site, cluster, shared, owner):
    estimate = estimate_environment_add(
        actor=owner, site=site, cluster=cluster, node_pool=shared, replicas=1,
        cpu_request="500m", memory_request="8Gi", memory_limit="8Gi", varnish_enabled=False,
        today=TODAY,
    )  # fmt: skip
    # 8Gi of 32Gi: 1/4 → $48 → $52.80, from nothing.
    assert (estimate.before, estimate.after) == (Decimal("0"), money("52.80"))


def test_a_bad_proposal_gives_field_errors(site, cluster, shared, owner, web):
    with pytest.raises(ValidationError) as excinfo:
        estimate_environment_add(
            actor=owner, site=site, cluster=cluster, node_pool=shared, cpu_request="lots",
            today=TODAY,
        )  # fmt: skip
    assert "cpu_request" in excinfo.value.message_dict
    with pytest.raises(ValidationError) as excinfo:
        estimate_scale(actor=owner, environment=web, replicas=-1, today=TODAY)
    assert "replicas" in excinfo.value.message_dict


@pytest.fixture
def dedicated(client_a, cluster):
    size = size_2vcpu()
    price(size, "24.00")
    return f.NodePoolFactory(cluster=cluster, size=size, count=3, dedicated_client=client_a)


def test_in_a_dedicated_pool_only_more_nodes_cost_more(site, cluster, dedicated, owner):
    app = running_environment(
        site, cluster, dedicated, replicas=2, cpu_request="500m", memory_request="1Gi",
        memory_limit="2Gi",
    )  # fmt: skip
    fits = estimate_scale(actor=owner, environment=app, replicas=4, today=TODAY)
    # 3 x $24 x 1.1 = $79.20, whatever runs on the pool.
    assert (fits.before, fits.after, fits.basis) == (
        money("79.20"),
        money("79.20"),
        "dedicated_pool",
    )
    # 20 pods x 500m = 10 cores > 6000m: 5 nodes of 2 cores → 5 x $24 x 1.1 = $132.00.
    too_big = estimate_scale(actor=owner, environment=app, replicas=20, today=TODAY)
    assert (too_big.after, too_big.difference) == (money("132.00"), money("52.80"))
    assert "does not fit" in too_big.assumptions[-1]


def test_nodes_added_to_a_dedicated_pool_are_a_direct_cost(dedicated, owner):
    estimate = estimate_pool_nodes(actor=owner, pool=dedicated, add=2, today=TODAY)
    assert (estimate.before, estimate.after, estimate.payer) == (
        money("79.20"), money("132.00"), "client",
    )  # fmt: skip


def test_nodes_added_to_a_shared_pool_are_agency_overhead(shared, staff_operator, owner):
    estimate = estimate_pool_nodes(actor=staff_operator, pool=shared, add=1, today=TODAY)
    assert (estimate.before, estimate.after, estimate.payer, estimate.client_id) == (
        money("192.00"), money("240.00"), "agency", None,
    )  # fmt: skip
    with pytest.raises(PermissionDenied):
        estimate_pool_nodes(actor=owner, pool=shared, add=1, today=TODAY)
    with pytest.raises(ValidationError) as excinfo:
        estimate_pool_nodes(actor=staff_operator, pool=shared, add=-5, today=TODAY)
    assert "count" in excinfo.value.message_dict


def test_who_may_see_an_estimate(web, owner, developer, viewer, other_owner, staff_billing):
    for actor in (owner, developer, staff_billing):
        estimate_scale(actor=actor, environment=web, replicas=3, today=TODAY)
    for actor in (viewer, other_owner):
        with pytest.raises(PermissionDenied):
            estimate_scale(actor=actor, environment=web, replicas=3, today=TODAY)


def test_a_size_without_a_price_is_reported(site, cluster, owner):
    pool = f.NodePoolFactory(cluster=cluster, size=f.NodeSizeFactory(slug="unpriced"), count=1)
    app = running_environment(site, cluster, pool)
    with pytest.raises(ValidationError) as excinfo:
        estimate_scale(actor=owner, environment=app, replicas=2, today=TODAY)
    assert "no price" in excinfo.value.message_dict["node_pool"][0]
