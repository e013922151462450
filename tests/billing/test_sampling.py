"""Sampling: what is counted, where it runs, idempotency, the hourly roll-up, retention."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from billing.models import (
    EnvironmentSample,
    EnvironmentUsageDay,
    PoolSample,
    PoolUsageDay,
    SampleRun,
)
from billing.sampling import usage_purge, usage_rollup, usage_sample, usage_sample_and_rollup
from billing.shares import Demand, pool_shares
from tests import factories as f
from tests.billing.conftest import at_midnight, running_environment, size_2vcpu

pytestmark = pytest.mark.django_db
DAY = datetime.date(2026, 6, 3)


@pytest.fixture
def hourly(settings):
    settings.HANGAR_BILLING_SAMPLE_SECONDS = 3600


@pytest.fixture
def shared_pool(cluster):
    return f.NodePoolFactory(cluster=cluster, size=size_2vcpu(), count=2, dedicated_client=None)


def test_without_a_cluster_reading_a_sample_counts_desired_pods_and_their_requests(
    hourly, site, cluster, shared_pool
):
    fixed = running_environment(site, cluster, shared_pool, replicas=3)
    autoscaled = running_environment(
        site, cluster, shared_pool, replicas=1, autoscale_enabled=True, autoscale_min=2,
        autoscale_max=6,
    )  # fmt: skip
    # Varnish adds its own requests to every web pod: 50m and 128Mi.
    cached = running_environment(site, cluster, shared_pool, varnish_enabled=True)
    running_environment(site, cluster, shared_pool, status="new")  # not on the cluster yet
    running_environment(site, cluster, shared_pool, image="")  # nothing deployed

    run = usage_sample(readings={}, at=at_midnight(DAY) + datetime.timedelta(minutes=17))

    assert run.taken_at == at_midnight(DAY) and run.environments == 3
    samples = {s.environment_id: s for s in EnvironmentSample.objects.all()}
    assert set(samples) == {fixed.pk, autoscaled.pk, cached.pk}
    assert (samples[fixed.pk].pods, samples[fixed.pk].cpu_millicores) == (3, 750)
    assert samples[fixed.pk].memory_mib == 768
    assert samples[autoscaled.pk].pods == 2  # the autoscaling minimum
    assert (samples[cached.pk].cpu_millicores, samples[cached.pk].memory_mib) == (300, 384)
    pool = PoolSample.objects.get()
    # 2 nodes x (2000m, 4096Mi) before the first node sync.
    assert (pool.node_count, pool.cpu_allocatable, pool.memory_allocatable_mib) == (2, 4000, 8192)
    assert pool.cpu_requested == 750 + 500 + 300
    # One client: CPU dominates, 1550/4000 against 1664/8192 of memory.
    assert pool.allocated == Decimal("0.3875")
    # The fixed environment's own share is 750/4000 of 2 nodes.
    assert samples[fixed.pk].node_share == Decimal("0.375")


def test_synced_allocatable_capacity_is_used(hourly, site, cluster, shared_pool):
    shared_pool.allocatable_cpu_millicores = 3800
    shared_pool.allocatable_memory_bytes = 6 * 2**30
    shared_pool.save()
    running_environment(site, cluster, shared_pool, replicas=2)
    usage_sample(readings={}, at=at_midnight(DAY))
    sample = EnvironmentSample.objects.get()
    assert sample.share == max(Decimal(500) / 3800, Decimal(512) / 6144).quantize(
        Decimal("1e-12"), rounding="ROUND_DOWN"
    )


def test_environments_without_a_pool_run_on_the_largest_shared_pool(hourly, site, cluster):
    small = f.NodePoolFactory(cluster=cluster, size=size_2vcpu(), count=1)
    big = f.NodePoolFactory(cluster=cluster, size=size_2vcpu(), count=5)
    f.NodePoolFactory(cluster=cluster, size=size_2vcpu(), count=9, dedicated_client=site.client)
    environment = running_environment(site, cluster, None)
    lonely = running_environment(site, f.ClusterFactory(), None)  # a cluster without pools
    usage_sample(readings={}, at=at_midnight(DAY))
    assert EnvironmentSample.objects.get(environment=environment).pool_id == big.pk
    orphan = EnvironmentSample.objects.get(environment=lonely)
    assert orphan.pool_id is None and orphan.node_share == 0
    assert small.pk != big.pk


def test_sampling_a_slot_twice_does_nothing(hourly, site, cluster, shared_pool):
    running_environment(site, cluster, shared_pool)
    assert usage_sample(readings={}, at=at_midnight(DAY)) is not None
    assert usage_sample(readings={}, at=at_midnight(DAY) + datetime.timedelta(minutes=59)) is None
    assert EnvironmentSample.objects.count() == 1 and SampleRun.objects.count() == 1


def test_sampling_takes_a_constant_number_of_queries(
    hourly, site, cluster, shared_pool, django_assert_max_num_queries
):
    for _ in range(3):
        running_environment(site, cluster, shared_pool)
    with django_assert_max_num_queries(11) as few:
        usage_sample(readings={}, at=at_midnight(DAY))
    for _ in range(30):
        running_environment(
            site, cluster, f.NodePoolFactory(cluster=cluster, size=shared_pool.size)
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        usage_sample(readings={}, at=at_midnight(DAY) + datetime.timedelta(hours=1))


def test_hourly_samples_roll_up_into_one_row_per_day(hourly, site, cluster, shared_pool):
    environment = running_environment(site, cluster, shared_pool, replicas=2)
    for hour in range(24):
        if hour == 12:
            environment.replicas = 4
            environment.save()
        usage_sample(readings={}, at=at_midnight(DAY) + datetime.timedelta(hours=hour))
    # The first sample of the next day belongs to the next day.
    usage_sample(readings={}, at=at_midnight(DAY + datetime.timedelta(days=1)))

    rollup = usage_rollup(day=DAY)

    assert (rollup.environment_rows, rollup.pool_rows) == (1, 1)
    row = EnvironmentUsageDay.objects.get()
    assert (row.hours, row.pod_hours) == (24, 12 * 2 + 12 * 4)
    # 2 pods: 500m of 4000m (CPU dominates) → 1/8 of 2 nodes = 0.25 node; 4 pods: 0.5 node.
    assert row.node_hours == Decimal("0.25") * 12 + Decimal("0.5") * 12
    pool_day = PoolUsageDay.objects.get()
    assert (pool_day.hours, pool_day.node_hours) == (24, 48)
    assert pool_day.slot_seconds == [86400, 86400]
    assert pool_day.allocated_node_hours == row.node_hours
    # Running the roll-up again replaces the day rather than adding to it.
    usage_rollup(day=DAY)
    assert EnvironmentUsageDay.objects.count() == 1 and PoolUsageDay.objects.count() == 1


def test_a_destroyed_environment_keeps_its_history(hourly, site, cluster, shared_pool):
    environment = running_environment(site, cluster, shared_pool)
    usage_sample(readings={}, at=at_midnight(DAY))
    environment_id = environment.pk
    environment.delete()
    usage_rollup(day=DAY)
    row = EnvironmentUsageDay.objects.get()
    assert row.environment_id == environment_id and row.label == str(environment)


def test_old_samples_are_purged(hourly, site, cluster, shared_pool):
    running_environment(site, cluster, shared_pool)
    usage_sample(readings={}, at=at_midnight(DAY))
    usage_sample(readings={}, at=at_midnight(DAY + datetime.timedelta(days=40)))
    assert usage_purge(before=at_midnight(DAY + datetime.timedelta(days=1))) == 2
    assert EnvironmentSample.objects.count() == 1 and SampleRun.objects.count() == 1


def test_the_periodic_work_samples_and_rolls_up_today(hourly, site, cluster, shared_pool):
    running_environment(site, cluster, shared_pool)
    result = usage_sample_and_rollup(at=at_midnight(DAY) + datetime.timedelta(hours=5))
    assert result["sampled"] == 1 and result["days"] == [
        str(DAY - datetime.timedelta(days=1)),
        str(DAY),
    ]
    assert EnvironmentUsageDay.objects.get().day == DAY


def test_the_celery_task_is_registered_and_scheduled(settings):
    from billing.tasks import draft_invoices_task, sample_usage_task

    schedule = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {sample_usage_task.name, draft_invoices_task.name} <= schedule


def test_shares_take_the_larger_of_cpu_and_memory_per_client():
    split = pool_shares(
        cpu_capacity=1000,
        memory_capacity_mib=1000,
        demands=[
            Demand("a1", 1, 100, 50),  # client 1: 300m and 100Mi in total → 0.3
            Demand("a2", 1, 200, 50),
            Demand("b", 2, 100, 400),  # client 2: 0.4
        ],
    )
    # Client 1's 0.3 is split by its environments' own shares, 0.1 and 0.2.
    assert split.shares == {"a1": Decimal("0.1"), "a2": Decimal("0.2"), "b": Decimal("0.4")}
    assert split.unallocated == Decimal("0.3")


def test_a_pool_without_nodes_shares_nothing():
    split = pool_shares(cpu_capacity=0, memory_capacity_mib=0, demands=[Demand("a", 1, 100, 100)])
    assert split.shares == {"a": 0} and split.unallocated == 1
