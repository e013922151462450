"""Reads for portal pages: environments with what a person wants to know at a glance,
in a constant number of queries, from the database only (never the cluster)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db.models import (
    Case,
    CharField,
    Count,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from clusters.models import Operation
from sites.models import Backup, Environment, Release

CRON_FAILURE_DAYS = 7


def _operations(kind: str | None = None) -> QuerySet[Operation]:
    operations = Operation.objects.filter(target_type="environment", target_id=OuterRef("pk"))
    return operations.filter(kind=kind) if kind else operations


def with_glance(queryset: QuerySet[Environment]) -> QuerySet[Environment]:
    """Annotate the last operation, the live release, the last deploy and recent failed
    cron runs: subqueries, so one query however many environments there are."""
    last = _operations().order_by("-created_at", "-id")
    live = Release.objects.filter(
        environment=OuterRef("pk"), status=Release.Status.SUCCEEDED
    ).order_by("-created_at", "-id")
    deploys = Release.objects.filter(environment=OuterRef("pk")).order_by("-created_at", "-id")
    since = timezone.now() - timedelta(days=CRON_FAILURE_DAYS)
    cron_failures = (
        _operations("cron.run")
        .filter(status=Operation.Status.FAILED, created_at__gte=since)
        .order_by()
        .values("target_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    newest_backup = Backup.objects.filter(
        environment=OuterRef("pk"), status=Backup.Status.SUCCEEDED
    ).order_by("-taken_at")
    return queryset.annotate(
        last_backup_at=Subquery(newest_backup.values("taken_at")[:1]),
        last_op_id=Subquery(last.values("pk")[:1]),
        last_op_kind=Subquery(last.values("kind")[:1]),
        last_op_status=Subquery(last.values("status")[:1]),
        last_op_at=Subquery(last.values("created_at")[:1]),
        live_image=Subquery(live.values("image")[:1]),
        last_deploy_at=Subquery(deploys.values("created_at")[:1]),
        last_deploy_status=Subquery(deploys.values("status")[:1]),
        cron_failures=Subquery(cron_failures, output_field=IntegerField()),
    )


def visible_environments(user: Any) -> QuerySet[Environment]:
    # No cluster row and no hash salt: loading them decrypted a kubeconfig, two storage
    # keys, a database password and a salt for every environment shown.
    return with_glance(
        Environment.objects.for_user(user)
        .select_related("site__client")
        .defer("hash_salt")
        .order_by("site__client__name", "site__name", "site_id", "created_at", "pk")
    )


@dataclass(frozen=True)
class Health:
    """How an environment is doing, as far as Hangar knows without asking the cluster:
    its status and the outcome of its last operation."""

    state: str  # healthy, changing, degraded, unknown
    label: str
    ready: int | None
    desired: str

    @property
    def replicas(self) -> str:
        ready = "?" if self.ready is None else str(self.ready)
        return f"{ready}/{self.desired}"


def health(environment: Environment) -> Health:
    desired = (
        f"{environment.autoscale_min} to {environment.autoscale_max}"
        if environment.autoscale_enabled
        else str(environment.replicas)
    )
    full = environment.autoscale_min if environment.autoscale_enabled else environment.replicas
    status = environment.status
    last = getattr(environment, "last_op_status", None)
    if status == Environment.Status.NEW:
        return Health("unknown", "Not provisioned", 0, desired)
    if status in (Environment.Status.PROVISIONING, Environment.Status.DESTROYING):
        return Health("changing", environment.get_status_display(), None, desired)
    if status == Environment.Status.FAILED:
        return Health("degraded", "Provisioning failed", None, desired)
    if last in (Operation.Status.PENDING, Operation.Status.RUNNING):
        return Health("changing", "Changing", None, desired)
    if last == Operation.Status.FAILED:
        return Health("degraded", "Last operation failed", None, desired)
    if not environment.image:
        return Health("unknown", "Nothing deployed", 0, desired)
    return Health("healthy", "Healthy", full, desired)


def with_health_state(queryset: QuerySet[Environment]) -> QuerySet[Environment]:
    """`health()`'s state as SQL, so a list can be filtered by it in the database: the same
    rules in the same order; keep the two together. The last operation's verdict is one
    subquery, read once per row (a CASE naming it twice runs it twice)."""
    status = Environment.Status
    last_verdict = (
        _operations()
        .order_by("-created_at", "-id")
        .annotate(
            verdict=Case(
                When(
                    status__in=[Operation.Status.PENDING, Operation.Status.RUNNING],
                    then=Value("changing"),
                ),
                When(status=Operation.Status.FAILED, then=Value("degraded")),
                default=None,
                output_field=CharField(),
            )
        )
        .values("verdict")[:1]
    )
    deployed = Case(When(image="", then=Value("unknown")), default=Value("healthy"))
    return queryset.alias(
        health_state=Case(
            When(status=status.NEW, then=Value("unknown")),
            When(status__in=[status.PROVISIONING, status.DESTROYING], then=Value("changing")),
            When(status=status.FAILED, then=Value("degraded")),
            default=Coalesce(Subquery(last_verdict), deployed),
            output_field=CharField(),
        )
    )
