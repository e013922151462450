"""Usage sampling and the daily roll-up.

`usage_sample` records, once per slot (HANGAR_BILLING_SAMPLE_SECONDS, hourly by default),
every running environment's pods and requests with its share of the pool it runs on, and
every pool's nodes. Pods counted are the web pods that really run on the cluster, with what
their containers request (billing.live: one list call per cluster), and their measured CPU
and memory use where the cluster serves the metrics API. When a cluster cannot be read, its
environments are counted from the database — `replicas`, or `autoscale_min` while
autoscaling, each pod requesting its web container plus the Varnish sidecar when enabled,
as rendered for the cluster — and the sample says so (`source`; the run lists the clusters
and why).

`usage_rollup` turns a day's samples (agency calendar day) into one row per environment,
pool and day, so a year of history is 365 rows per environment. Raw samples are deleted
after HANGAR_BILLING_SAMPLE_RETENTION_DAYS by `usage_purge`.
"""

from __future__ import annotations

import datetime
import logging
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import DecimalField, ExpressionWrapper, F, Max, Sum
from django.utils import timezone

from billing.dedication import DedicationBook
from billing.live import ClusterReading, NamespacePods, NamespaceUse, read_clusters
from billing.models import (
    EnvironmentSample,
    EnvironmentUsageDay,
    PoolSample,
    PoolUsageDay,
    SampleRun,
)
from billing.periods import day_bounds, local_date
from billing.shares import Demand, pool_shares
from clusters.models import Cluster, NodePool
from sites.manifests.policy import pod_resources
from sites.models import Environment

logger = logging.getLogger(__name__)

_MI = 2**20
_BATCH = 2000
# Environments whose pods may be on a cluster: from provisioning until the namespace is gone.
_NOT_RUNNING = (Environment.Status.NEW,)


@dataclass(frozen=True)
class PoolCapacity:
    cpu: int  # millicores
    memory_mib: int


def pool_capacity(pool: NodePool) -> PoolCapacity:
    """Allocatable capacity as node sync last read it; before the first sync, the node
    size's full capacity (a slight overestimate: the kubelet reserves some)."""
    if pool.count <= 0:
        return PoolCapacity(0, 0)
    if pool.allocatable_cpu_millicores > 0 and pool.allocatable_memory_bytes > 0:
        return PoolCapacity(pool.allocatable_cpu_millicores, pool.allocatable_memory_bytes // _MI)
    return PoolCapacity(pool.size.vcpu * 1000 * pool.count, pool.size.memory_mib * pool.count)


def billed_pods(environment: Environment) -> int:
    """Pods an environment is billed for at a sample: see the module docstring."""
    if not environment.image:
        return 0
    return environment.autoscale_min if environment.autoscale_enabled else environment.replicas


def default_pools(pools: list[NodePool]) -> dict[int, NodePool]:
    """Where an environment without a node pool runs, per cluster: the cluster's shared pool
    with the most CPU (dedicated pools are expected to be tainted for their client)."""
    best: dict[int, NodePool] = {}
    for pool in pools:
        if not pool.is_shared:
            continue
        current = best.get(pool.cluster_id)
        key = (pool_capacity(pool).cpu, pool.count, -pool.pk)
        if current is None or key > (pool_capacity(current).cpu, current.count, -current.pk):
            best[pool.cluster_id] = pool
    return best


def _slot(at: datetime.datetime, seconds: int) -> datetime.datetime:
    epoch = int(at.timestamp())
    return datetime.datetime.fromtimestamp(epoch - epoch % seconds, tz=datetime.UTC)


@dataclass(frozen=True)
class Counted:
    """One environment at a sample: pods and their requests, where the figures came from,
    and measured use (None without metrics)."""

    pods: int
    cpu: int  # millicores requested by all pods
    memory_mib: int
    source: str
    cpu_used: int | None = None
    memory_used_mib: int | None = None


def _counted(environment: Environment, reading: ClusterReading | None) -> Counted | None:
    namespace = environment.namespace
    use = None
    if reading is not None and reading.usage is not None:
        use = reading.usage.get(namespace, NamespaceUse())
    used = {
        "cpu_used": use.cpu_millicores if use else None,
        "memory_used_mib": use.memory_mib if use else None,
    }
    if reading is not None and reading.pods is not None and namespace not in reading.unread:
        live = reading.pods.get(namespace, NamespacePods())
        return Counted(
            live.pods,
            live.cpu_millicores,
            live.memory_mib,
            EnvironmentSample.Source.CLUSTER,
            **used,
        )
    pods = billed_pods(environment)
    try:
        per_pod = pod_resources(environment)
    except ValidationError:
        logger.warning("billing: environment %s has invalid requests", environment.pk)
        return None
    return Counted(
        pods,
        per_pod.cpu_request * pods,
        per_pod.memory_request * pods // _MI,
        EnvironmentSample.Source.DATABASE,
        **used,
    )


def usage_sample(
    *,
    at: datetime.datetime | None = None,
    seconds: int | None = None,
    readings: Mapping[int, ClusterReading] | None = None,
) -> SampleRun | None:
    """Record every pool and running environment for the slot containing `at` (default
    now), each sample standing for `seconds` (default HANGAR_BILLING_SAMPLE_SECONDS).
    `readings` are the clusters' live pods and use by cluster id; None reads every cluster
    that has running environments (a cluster missing from them is counted from the
    database). Returns None when the slot was sampled already."""
    seconds = seconds or settings.HANGAR_BILLING_SAMPLE_SECONDS
    taken_at = _slot(at or timezone.now(), seconds)
    if SampleRun.objects.filter(taken_at=taken_at).exists():
        return None  # before reading any cluster: the slot is someone else's
    environments = list(
        Environment.objects.exclude(status__in=_NOT_RUNNING)
        .exclude(image="")
        .select_related("site__client")
        .defer("hash_salt", "drift_report", "site__repository_url")
        .order_by("pk")
    )
    if readings is None:
        # Outside the transaction: no row lock is held while clusters answer.
        clusters = Cluster.objects.in_bulk({e.cluster_id for e in environments})
        namespaces: dict[Cluster, list[str]] = defaultdict(list)
        for environment in environments:
            namespaces[clusters[environment.cluster_id]].append(environment.namespace)
        readings = read_clusters(namespaces)
    with transaction.atomic():
        try:
            with transaction.atomic():
                run = SampleRun.objects.create(taken_at=taken_at, seconds=seconds)
        except IntegrityError:
            return None
        pools = list(NodePool.objects.select_related("size", "cluster").order_by("pk"))
        fallback = default_pools(pools)
        by_pool: dict[int | None, list[tuple[Environment, Counted]]] = defaultdict(list)
        for environment in environments:
            counted = _counted(environment, readings.get(environment.cluster_id))
            if counted is None:
                continue
            pool_id = environment.node_pool_id
            if pool_id is None and environment.cluster_id in fallback:
                pool_id = fallback[environment.cluster_id].pk
            by_pool[pool_id].append((environment, counted))
        pool_rows, env_rows = [], []
        for pool in pools:
            placed = by_pool.pop(pool.pk, [])
            capacity = pool_capacity(pool)
            split = pool_shares(
                cpu_capacity=capacity.cpu,
                memory_capacity_mib=capacity.memory_mib,
                demands=[Demand(e.pk, e.site.client_id, c.cpu, c.memory_mib) for e, c in placed],
            )
            pool_rows.append(
                PoolSample(
                    taken_at=taken_at,
                    seconds=seconds,
                    pool_id=pool.pk,
                    cluster_id=pool.cluster_id,
                    size_id=pool.size_id,
                    dedicated_client_id=pool.dedicated_client_id,
                    label=f"{pool.cluster.slug}/{pool.name}",
                    node_count=pool.count,
                    cpu_allocatable=capacity.cpu,
                    memory_allocatable_mib=capacity.memory_mib,
                    cpu_requested=sum(c.cpu for _, c in placed),
                    memory_requested_mib=sum(c.memory_mib for _, c in placed),
                    allocated=split.allocated,
                )
            )
            for environment, counted in placed:
                share = split.shares[environment.pk]
                env_rows.append(
                    _environment_sample(environment, taken_at, seconds, counted, pool, share)
                )
        # Environments on no pool (a cluster without shared pools): recorded, never priced.
        for placed in by_pool.values():
            for environment, counted in placed:
                env_rows.append(
                    _environment_sample(environment, taken_at, seconds, counted, None, None)
                )
        PoolSample.objects.bulk_create(pool_rows, batch_size=_BATCH)
        EnvironmentSample.objects.bulk_create(env_rows, batch_size=_BATCH)
        run.environments, run.pools = len(env_rows), len(pool_rows)
        run.fallbacks = _fallbacks(environments, readings)
        run.save(update_fields=["environments", "pools", "fallbacks"])
    return run


def _fallbacks(
    environments: list[Environment], readings: Mapping[int, ClusterReading]
) -> dict[str, str]:
    """Why clusters were counted from the database, by cluster id (as a string: JSON)."""
    reasons = {}
    for cluster_id in sorted({e.cluster_id for e in environments}):
        reading = readings.get(cluster_id)
        if reading is None:
            reasons[str(cluster_id)] = "not read"
        elif reading.pods is None:
            reasons[str(cluster_id)] = reading.error or "not read"
    return reasons


def _environment_sample(
    environment: Environment,
    taken_at: datetime.datetime,
    seconds: int,
    counted: Counted,
    pool: NodePool | None,
    share: Decimal | None,
) -> EnvironmentSample:
    site = environment.site
    return EnvironmentSample(
        taken_at=taken_at,
        seconds=seconds,
        client_id=site.client_id,
        site_id=site.pk,
        environment_id=environment.pk,
        pool_id=pool.pk if pool else None,
        cluster_id=environment.cluster_id,
        size_id=pool.size_id if pool else None,
        label=f"{site.name} / {environment.name}"[:200],
        site_label=site.name,
        pods=counted.pods,
        cpu_millicores=counted.cpu,
        memory_mib=counted.memory_mib,
        share=share or 0,
        node_share=(share or 0) * (pool.count if pool else 0),
        source=counted.source,
        cpu_used_millicores=counted.cpu_used,
        memory_used_mib=counted.memory_used_mib,
    )


def _hours(expression: F | ExpressionWrapper) -> ExpressionWrapper:
    return ExpressionWrapper(
        expression / Decimal(3600), output_field=DecimalField(max_digits=30, decimal_places=8)
    )


@dataclass(frozen=True)
class Rollup:
    day: datetime.date
    environment_rows: int
    pool_rows: int


def usage_rollup(*, day: datetime.date) -> Rollup:
    """Replace `day`'s usage rows with a fresh roll-up of its samples. Safe to run again,
    e.g. every hour for today and yesterday, so late samples are counted."""
    start, end = day_bounds(day)
    with transaction.atomic():
        EnvironmentUsageDay.objects.filter(day=day).delete()
        grouped = (
            EnvironmentSample.objects.filter(taken_at__gte=start, taken_at__lt=end)
            .order_by()
            .values("environment_id", "pool_id")
            .annotate(
                client=Max("client_id"),
                site=Max("site_id"),
                cluster=Max("cluster_id"),
                size=Max("size_id"),
                label_=Max("label"),
                site_label_=Max("site_label"),
                seconds_=Sum("seconds"),
                pod_hours_=_hours(Sum(F("pods") * F("seconds"))),
                cpu_=_hours(Sum(F("cpu_millicores") * F("seconds"))),
                memory_=_hours(Sum(F("memory_mib") * F("seconds"))),
                nodes_=_hours(Sum(F("node_share") * F("seconds"))),
            )
        )
        env_rows = [
            EnvironmentUsageDay(
                day=day,
                client_id=row["client"],
                site_id=row["site"],
                environment_id=row["environment_id"],
                pool_id=row["pool_id"],
                cluster_id=row["cluster"],
                size_id=row["size"],
                label=row["label_"],
                site_label=row["site_label_"],
                hours=Decimal(row["seconds_"]) / 3600,
                pod_hours=row["pod_hours_"],
                cpu_millicore_hours=row["cpu_"],
                memory_mib_hours=row["memory_"],
                node_hours=row["nodes_"],
            )
            for row in grouped
        ]
        EnvironmentUsageDay.objects.bulk_create(env_rows, batch_size=_BATCH)

        PoolUsageDay.objects.filter(day=day).delete()
        pool_days: dict[int, PoolUsageDay] = {}
        slots: dict[int, list[int]] = {}
        samples = (
            PoolSample.objects.filter(taken_at__gte=start, taken_at__lt=end)
            .order_by("pool_id", "taken_at")
            .values_list(
                "pool_id",
                "cluster_id",
                "size_id",
                "dedicated_client_id",
                "label",
                "seconds",
                "node_count",
                "allocated",
                "cpu_allocatable",
                "cpu_requested",
                "memory_allocatable_mib",
                "memory_requested_mib",
            )
        )
        for (
            pool_id,
            cluster_id,
            size_id,
            client_id,
            label,
            seconds,
            nodes,
            allocated,
            cpu_cap,
            cpu_req,
            mem_cap,
            mem_req,
        ) in samples:
            row = pool_days.get(pool_id)
            if row is None:
                row = pool_days[pool_id] = PoolUsageDay(day=day, pool_id=pool_id)
                slots[pool_id] = []
            # The latest sample of the day names the pool (size, owner, label).
            row.cluster_id, row.size_id, row.dedicated_client_id, row.label = (
                cluster_id,
                size_id,
                client_id,
                label,
            )
            hours = Decimal(seconds) / 3600
            row.hours += hours
            row.node_hours += nodes * hours
            row.allocated_node_hours += allocated * nodes * hours
            row.cpu_allocatable_hours += cpu_cap * hours
            row.cpu_requested_hours += cpu_req * hours
            row.memory_allocatable_mib_hours += mem_cap * hours
            row.memory_requested_mib_hours += mem_req * hours
            slot = slots[pool_id]
            slot.extend([0] * (nodes - len(slot)))
            for index in range(nodes):
                slot[index] += seconds
        # The day's mode (dedicated or shared) is the dedication history's, where it has one.
        dedication = DedicationBook.load(pool_days)
        for pool_id, row in pool_days.items():
            row.slot_seconds = slots[pool_id]
            row.dedicated_client_id = dedication.owner(pool_id, day, row.dedicated_client_id)
        PoolUsageDay.objects.bulk_create(pool_days.values(), batch_size=_BATCH)
    return Rollup(day=day, environment_rows=len(env_rows), pool_rows=len(pool_days))


def usage_purge(*, before: datetime.datetime | None = None) -> int:
    """Delete raw samples older than the retention period (their days are rolled up)."""
    if before is None:
        before = timezone.now() - datetime.timedelta(
            days=settings.HANGAR_BILLING_SAMPLE_RETENTION_DAYS
        )
    deleted = EnvironmentSample.objects.filter(taken_at__lt=before).delete()[0]
    deleted += PoolSample.objects.filter(taken_at__lt=before).delete()[0]
    SampleRun.objects.filter(taken_at__lt=before).delete()
    return deleted


def usage_sample_and_rollup(*, at: datetime.datetime | None = None) -> dict[str, object]:
    """The periodic task's work: sample, then roll up today and yesterday (late samples of
    yesterday's last slot land after midnight), then purge old samples."""
    at = at or timezone.now()
    run = usage_sample(at=at)
    today = local_date(at)
    rolled = [usage_rollup(day=day) for day in (today - datetime.timedelta(days=1), today)]
    purged = usage_purge(
        before=at - datetime.timedelta(days=settings.HANGAR_BILLING_SAMPLE_RETENTION_DAYS)
    )
    return {
        "sampled": run.environments if run else 0,
        "days": [str(r.day) for r in rolled],
        "purged": purged,
    }
