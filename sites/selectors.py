"""Reads about sites and environments.

Live reads from an environment's cluster (logs, cron runs) are not operations: they change
nothing, so they run in the request, with the caller's permission checked. Fleet selection
and progress read the database only.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import F, QuerySet, Sum
from django.utils.dateparse import parse_datetime

from clusters.kube.client import KubeClient
from clusters.kube.errors import KubeError
from clusters.kube.status import job_status
from clusters.kube.transport import RetryPolicy
from clusters.models import Cluster, Operation
from controlpanel.core.models import Client, User
from controlpanel.core.permissions import Action, require
from sites.manifests.network import TLS_SECRET
from sites.models import Backup, CronSchedule, Environment, Release
from sites.services.operations import PROVISIONED

# A person is waiting: give up sooner than an operation would.
INTERACTIVE = RetryPolicy(attempts=2, deadline=10.0, base_delay=0.2, max_delay=1.0)
MAX_TAIL_LINES = 5000
CONTAINERS = ("web", "varnish")


def _kube(environment: Environment) -> KubeClient:
    return KubeClient.for_cluster(environment.cluster, retry=INTERACTIVE, skip_unchanged=False)


@dataclass(frozen=True)
class PodLog:
    pod: str
    container: str
    text: str
    # Why the log could not be read ("log unavailable: ..."); empty when it was.
    unavailable: str = ""


def _pod_log(kube: KubeClient, namespace: str, pod: str, container: str, **options: Any) -> PodLog:
    try:
        return PodLog(pod, container, kube.pod_logs(namespace, pod, container=container, **options))
    except KubeError as exc:
        # One pod's log (a container still starting, a pod just deleted) is no reason
        # to show none of the others.
        return PodLog(pod, container, "", f"log unavailable: {exc.message}")


def environment_logs(
    *,
    actor: User,
    environment: Environment,
    container: str = "web",
    tail_lines: int = 200,
    since_seconds: int | None = None,
    timestamps: bool = False,
    search: str = "",
) -> list[PodLog]:
    """The recent log of every web pod of the environment, one entry per pod; with
    `timestamps`, each line starts with the time the kubelet received it (RFC 3339), and
    with `search`, only the lines containing it (case-insensitive) are kept."""
    require(actor, Action.VIEW, environment.site.client)
    if container not in CONTAINERS:
        raise ValidationError({"container": f"Choose one of: {', '.join(CONTAINERS)}."})
    if not 1 <= tail_lines <= MAX_TAIL_LINES:
        raise ValidationError({"tail_lines": f"Between 1 and {MAX_TAIL_LINES} lines."})
    if since_seconds is not None and not 1 <= since_seconds <= 7 * 24 * 3600:
        raise ValidationError({"since_seconds": "Between 1 second and 7 days."})
    if container == "varnish" and not environment.varnish_enabled:
        raise ValidationError({"container": "This environment has no Varnish cache."})
    kube = _kube(environment)
    pods = kube.list(
        "v1", "Pod", environment.namespace, label_selector={"app.kubernetes.io/name": "web"}
    )
    logs = [
        _pod_log(
            kube,
            environment.namespace,
            pod["metadata"]["name"],
            container,
            tail_lines=tail_lines,
            since_seconds=since_seconds,
            timestamps=timestamps,
        )
        for pod in sorted(pods, key=lambda p: p["metadata"]["name"])
    ]
    if not search:
        return logs
    wanted = search.casefold()
    return [
        replace(
            log,
            text="".join(
                line for line in log.text.splitlines(keepends=True) if wanted in line.casefold()
            ),
        )
        for log in logs
    ]


@dataclass(frozen=True)
class CronRun:
    job: str
    started_at: datetime | None
    finished_at: datetime | None
    succeeded: bool | None  # None while running
    message: str

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


def cron_last_runs(*, actor: User, cron: CronSchedule, limit: int = 5) -> list[CronRun]:
    """The schedule's latest runs as Kubernetes keeps them (Jobs), newest first."""
    environment = cron.environment
    require(actor, Action.VIEW, environment.site.client)
    jobs = _kube(environment).list(
        "batch/v1", "Job", environment.namespace, label_selector={"hangar.dev/cron": cron.name}
    )
    runs = []
    for job in jobs:
        status = job_status(job)
        raw = job.get("status") or {}
        start = raw.get("startTime") or job["metadata"].get("creationTimestamp")
        end = raw.get("completionTime")
        if end is None and status.done:
            failed = next((c for c in raw.get("conditions") or [] if c.get("type") == "Failed"), {})
            end = failed.get("lastTransitionTime")
        runs.append(
            CronRun(
                job=job["metadata"]["name"],
                started_at=parse_datetime(start) if start else None,
                finished_at=parse_datetime(end) if end else None,
                succeeded=status.ok if status.done else None,
                message=status.message,
            )
        )
    runs.sort(key=lambda run: run.started_at or datetime.min, reverse=True)
    return runs[:limit]


@dataclass(frozen=True)
class Routing:
    """Where an environment's domains must point and whether their certificate is issued,
    as the cluster says: the Ingress's load-balancer address, cert-manager's Certificate
    Ready condition. `unavailable` says why the cluster could not be read."""

    dns_target: str = ""
    certificate: str = ""  # "ready", "not ready", "" (no TLS, or none yet)
    certificate_message: str = ""
    unavailable: str = ""


def environment_routing(*, actor: User, environment: Environment) -> Routing:
    require(actor, Action.VIEW, environment.site.client)
    if environment.status not in PROVISIONED:
        return Routing(unavailable="The environment is not on its cluster yet.")
    kube = _kube(environment)
    try:
        ingress = kube.get_or_none("networking.k8s.io/v1", "Ingress", "web", environment.namespace)
        certificate = (
            kube.get_or_none("cert-manager.io/v1", "Certificate", TLS_SECRET, environment.namespace)
            if ingress is not None and (ingress.get("spec") or {}).get("tls")
            else None
        )
    except KubeError as exc:
        return Routing(unavailable=f"Could not read the cluster: {exc.message}")
    if ingress is None:
        return Routing()
    points = ((ingress.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    target = next((p.get("hostname") or p.get("ip") or "" for p in points), "")
    if certificate is None:
        return Routing(dns_target=target)
    ready = next(
        (
            c
            for c in (certificate.get("status") or {}).get("conditions") or []
            if c.get("type") == "Ready"
        ),
        {},
    )
    return Routing(
        dns_target=target,
        certificate="ready" if ready.get("status") == "True" else "not ready",
        certificate_message=ready.get("message") or "cert-manager has not reported on it yet.",
    )


# --- fleets -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FleetFilter:
    site_kind: str = ""
    client: Client | None = None
    cluster: Cluster | None = None
    environment_slug: str = ""


def fleet_environments(*, actor: User, where: FleetFilter) -> QuerySet[Environment]:
    queryset = Environment.objects.for_user(actor).filter(status__in=PROVISIONED)
    if where.site_kind:
        queryset = queryset.filter(site__kind=where.site_kind)
    if where.client is not None:
        queryset = queryset.filter(site__client=where.client)
    if where.cluster is not None:
        queryset = queryset.filter(cluster=where.cluster)
    if where.environment_slug:
        queryset = queryset.filter(slug=where.environment_slug)
    return queryset.select_related("site__client", "cluster").order_by("pk")


def fleet_progress(batch: str) -> dict[str, Any]:
    """Aggregate progress of a fleet deploy: counts by status and overall fraction done."""
    operations = list(
        Operation.objects.filter(batch=batch).only("status", "steps_done", "steps_total")
    )
    counts = {status: 0 for status in Operation.Status.values}
    for operation in operations:
        counts[operation.status] += 1
    total = len(operations)
    done = sum(1.0 if op.is_finished else op.progress for op in operations)
    return {"total": total, "counts": counts, "progress": done / total if total else 1.0}


def environments_due_for_drift_check(*, limit: int | None = None) -> QuerySet[Environment]:
    """The next batch of the periodic drift pass: active environments, never checked
    first, then by the oldest check, at most HANGAR_DRIFT_BATCH, so any number of
    environments is covered in turn and one run never outlives its interval
    (docs/reliability.md). Environments with operations under way are left out: they are
    converging already."""
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


def short_digest(digest: str) -> str:
    """sha256:0123456789ab… — enough to tell digests apart on a page."""
    algorithm, _, hex_part = digest.partition(":")
    return f"{algorithm}:{hex_part[:12]}…" if len(hex_part) > 12 else digest


def release_digest_warnings(releases: list[Release]) -> list[Release]:
    """Set `digest_warnings` on each release (one query for all): pods seen running another
    digest than the release's, and a tag deployed later in any environment of the site
    that ran as another digest (the tag moved since: a promote or rollback of this release
    still deploys its own digest)."""
    site_ids = {r.environment.site_id for r in releases}
    later = (
        Release.objects.filter(environment__site_id__in=site_ids, status=Release.Status.SUCCEEDED)
        .exclude(digest="")
        .values_list("pk", "image", "digest", "created_at", "environment__name")
        .order_by("created_at", "pk")
    )
    by_tag: dict[str, list[tuple]] = {}
    for pk, image, digest, created_at, env_name in later:
        by_tag.setdefault(image.partition("@")[0], []).append((pk, digest, created_at, env_name))
    for release in releases:
        warnings: list[str] = []
        total = sum((release.pod_digests or {}).values())
        for digest, count in sorted(release.other_pod_digests.items()):
            warnings.append(
                f"{count} of {total} pods run {short_digest(digest)}, not this release's "
                f"{short_digest(release.digest)}: they pulled {release.tag_reference} after "
                "the tag moved."
            )
        if release.digest:
            moved = [
                entry
                for entry in by_tag.get(release.tag_reference, [])
                if entry[1] != release.digest
                and (entry[2], entry[0]) > (release.created_at, release.pk)
            ]
            if moved:
                pk, digest, _, env_name = moved[-1]
                warnings.append(
                    f"The tag {release.tag_reference} has moved since: release #{pk} "
                    f"({env_name}) got {short_digest(digest)}."
                )
        release.digest_warnings = warnings  # type: ignore[attr-defined]
    return releases


def backup_storage(client_id: int) -> dict[str, Any]:
    """Bytes the client's backups hold in object storage (from the backup records: dump and
    files of every backup whose objects are kept), per environment and in total; backups
    of destroyed environments count under their former slug."""
    rows = (
        Backup.objects.filter(site__client_id=client_id)
        .exclude(status__in=[Backup.Status.FAILED, Backup.Status.PENDING])
        .values("site_id", "environment_slug")
        .annotate(bytes=Sum(F("database_size") + F("files_size")))
    )
    per = {(row["site_id"], row["environment_slug"]): int(row["bytes"] or 0) for row in rows}
    return {"per_environment": per, "total": sum(per.values())}
