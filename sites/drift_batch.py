"""Which environments the periodic drift pass checks next: a bounded batch per run, the
longest unchecked first, so any number of environments is covered in turn and one run
never outlives its interval (docs/reliability.md)."""

from __future__ import annotations

from django.conf import settings
from django.db.models import F, QuerySet

from clusters.models import Operation
from sites.models import Environment


def environments_due_for_drift_check(*, limit: int | None = None) -> QuerySet[Environment]:
    """Active environments, never checked first, then by the oldest check; environments
    with operations under way are left out (they are converging already)."""
    busy = Operation.objects.filter(
        status__in=[Operation.Status.PENDING, Operation.Status.RUNNING], target_type="environment"
    ).values("target_id")
    return (
        Environment.objects.filter(status=Environment.Status.ACTIVE)
        .exclude(pk__in=busy)
        .order_by(F("drift_checked_at").asc(nulls_first=True), "pk")
        .select_related("site__client", "cluster", "node_pool")
        .prefetch_related("domains", "env_vars", "cron_schedules")[
            : limit or settings.HANGAR_DRIFT_BATCH
        ]
    )
