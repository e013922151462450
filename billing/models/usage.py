"""Usage: what ran where, sampled periodically, and the daily roll-up kept for billing.

Samples hold the state of one moment for the `seconds` after it. References to other apps'
rows (environment, site, pool, cluster) are plain ids without a database constraint: an
environment destroyed mid-month is still billed for the days it ran, so its history must
outlive it; labels are copied for the same reason.
"""

from __future__ import annotations

from django.db import models

from clusters.models import Cluster, NodePool, NodeSize
from controlpanel.core.models import Client
from controlpanel.core.tenancy import TenantManager


def _ref(model: type[models.Model], **kwargs: object) -> models.ForeignKey:
    """A reference that survives deletion of the row it points at."""
    return models.ForeignKey(
        model,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
        **kwargs,
    )


def _share_field() -> models.DecimalField:
    return models.DecimalField(max_digits=16, decimal_places=12, default=0)


def _hours_field() -> models.DecimalField:
    return models.DecimalField(max_digits=20, decimal_places=8, default=0)


class _PoolUsage(models.Model):
    """The pool a sample or a day of usage is about, as it was then."""

    pool = _ref(NodePool)
    cluster = _ref(Cluster)
    size = models.ForeignKey(NodeSize, on_delete=models.PROTECT, related_name="+")
    dedicated_client = models.ForeignKey(
        Client, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    label = models.CharField(max_length=160)

    class Meta:
        abstract = True


class _EnvironmentUsage(models.Model):
    """The environment a sample or a day of usage is about, on which pool, as it was then."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="+")
    site = _ref("sites.Site")
    environment = _ref("sites.Environment")
    pool = _ref(NodePool)
    cluster = _ref(Cluster)
    size = models.ForeignKey(
        NodeSize, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    label = models.CharField(max_length=200)
    site_label = models.CharField(max_length=120)

    objects = TenantManager()
    tenant_path = "client"

    class Meta:
        abstract = True


class SampleRun(models.Model):
    """One sampling moment. Its unique time makes sampling idempotent: a second run in the
    same slot (a retried task, two beat processes) finds the row and does nothing."""

    taken_at = models.DateTimeField(unique=True)
    seconds = models.PositiveIntegerField()
    environments = models.PositiveIntegerField(default=0)
    pools = models.PositiveIntegerField(default=0)
    # Clusters whose pods could not be read, by id, with the reason: their environments
    # were counted from the database instead (EnvironmentSample.source).
    fallbacks = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-taken_at"]

    def __str__(self) -> str:
        return f"{self.taken_at:%Y-%m-%d %H:%M} ({self.environments} environments)"


class PoolSample(_PoolUsage):
    """A node pool at one moment: its nodes, capacity, what was requested of it, and the
    fraction of it allocated to clients (the rest is unallocated: agency overhead)."""

    taken_at = models.DateTimeField(db_index=True)
    seconds = models.PositiveIntegerField()
    node_count = models.PositiveIntegerField()
    cpu_allocatable = models.BigIntegerField(help_text="millicores")
    memory_allocatable_mib = models.BigIntegerField()
    cpu_requested = models.BigIntegerField(help_text="millicores")
    memory_requested_mib = models.BigIntegerField()
    allocated = _share_field()

    objects = TenantManager()
    tenant_path = None

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["pool", "taken_at"], name="poolsample_one_per_slot")
        ]

    def __str__(self) -> str:
        return f"{self.label} at {self.taken_at:%Y-%m-%d %H:%M}: {self.node_count} nodes"


class EnvironmentSample(_EnvironmentUsage):
    """An environment at one moment: its pods, what they request, and its share of the pool
    it runs on, as a number of nodes (share x the pool's node count). Pods are those that
    really ran on the cluster, or the database's desired count when the cluster could not
    be read (`source`); CPU and memory use come from the metrics API where it is served."""

    class Source(models.TextChoices):
        CLUSTER = "cluster", "Counted on the cluster"
        DATABASE = "database", "Desired count from the database"

    taken_at = models.DateTimeField(db_index=True)
    seconds = models.PositiveIntegerField()
    pods = models.PositiveIntegerField()
    cpu_millicores = models.BigIntegerField(help_text="requested by all pods")
    memory_mib = models.BigIntegerField(help_text="requested by all pods")
    share = _share_field()
    node_share = models.DecimalField(max_digits=20, decimal_places=12, default=0)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.DATABASE)
    # Measured use of all pods (metrics.k8s.io); empty where the cluster serves no metrics.
    cpu_used_millicores = models.BigIntegerField(null=True, blank=True)
    memory_used_mib = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["environment", "taken_at"], name="environmentsample_one_per_slot"
            )
        ]

    def __str__(self) -> str:
        return f"{self.label} at {self.taken_at:%Y-%m-%d %H:%M}: {self.pods} pods"


class PoolUsageDay(_PoolUsage):
    """A node pool's day: node-hours, per-node-slot hours (for the 672-hour cap), capacity
    and requests in unit-hours, and the node-hours allocated to clients."""

    day = models.DateField()
    hours = _hours_field()
    node_hours = _hours_field()
    allocated_node_hours = _hours_field()
    # Seconds the 1st, 2nd, ... node of the pool ran this day. Nodes are counted, not named,
    # so the n-th node is the one present whenever the pool had at least n nodes.
    slot_seconds = models.JSONField(default=list)
    cpu_allocatable_hours = _hours_field()
    cpu_requested_hours = _hours_field()
    memory_allocatable_mib_hours = _hours_field()
    memory_requested_mib_hours = _hours_field()

    objects = TenantManager()
    tenant_path = None

    class Meta:
        ordering = ["day", "label"]
        constraints = [
            models.UniqueConstraint(fields=["pool", "day"], name="poolusageday_one_per_day")
        ]
        indexes = [models.Index(fields=["day"])]

    def __str__(self) -> str:
        return f"{self.label} on {self.day}: {self.node_hours} node-hours"


class EnvironmentUsageDay(_EnvironmentUsage):
    """An environment's day on one pool: hours running, pod-hours, requests in unit-hours,
    and node-hours allocated to it (its share x the pool's nodes, summed over the day)."""

    day = models.DateField()
    hours = _hours_field()
    pod_hours = _hours_field()
    cpu_millicore_hours = _hours_field()
    memory_mib_hours = _hours_field()
    node_hours = _hours_field()

    class Meta:
        ordering = ["day", "label"]
        constraints = [
            models.UniqueConstraint(
                fields=["environment", "pool", "day"], name="environmentusageday_one_per_day"
            )
        ]
        indexes = [models.Index(fields=["client", "day"]), models.Index(fields=["day"])]

    def __str__(self) -> str:
        return f"{self.label} on {self.day}: {self.node_hours} node-hours"
