"""Reads for staff pages: every client's environments, filtered in the database, so a page
of them costs the same at 15 environments or 15,000."""

from __future__ import annotations

from django.db.models import F, Q, QuerySet

from clusters.models import Cluster
from controlpanel.core.models import Client
from controlpanel.web.portal.selectors import with_glance, with_health_state
from sites.models import Domain, Environment

ORDER = ("site__client__name", "site__name", "site_id", "created_at", "pk")


def environments_for_staff(
    *,
    search: str = "",
    client: Client | None = None,
    cluster: Cluster | None = None,
    tier: str = "",
    site_kind: str = "",
    status: str = "",
    health: str = "",
) -> QuerySet[Environment]:
    """Every environment matching the filters, by client, site and age: page its ids, then
    read the page's rows with `environments_at_a_glance`."""
    queryset: QuerySet[Environment] = Environment.objects.order_by(*ORDER)
    if client is not None:
        queryset = queryset.filter(site__client=client)
    if cluster is not None:
        queryset = queryset.filter(cluster=cluster)
    if tier:
        queryset = queryset.filter(tier=tier)
    if site_kind:
        queryset = queryset.filter(site__kind=site_kind)
    if status:
        queryset = queryset.filter(status=status)
    if search:
        queryset = queryset.filter(_matches(search.strip()))
    if health:
        # An alias with_health_state adds (the stubs know model fields only).
        queryset = with_health_state(queryset).filter(Q(health_state=health))
    return queryset


def environments_at_a_glance(pks: list[int]) -> list[Environment]:
    """The rows of one page, with the dashboard's glance (last operation, live release,
    backups, cron failures). Apart from the paging query, so those subqueries run for the
    page's rows only: beside the OFFSET, PostgreSQL computes them for every row skipped.
    The cluster comes as its name alone: loading the row would decrypt its kubeconfig and
    keys for every environment shown."""
    queryset = (
        Environment.objects.filter(pk__in=pks)
        .select_related("site__client")
        .defer("hash_salt", "site__sanitize_sql")
        .annotate(cluster_name=F("cluster__name"))
        .order_by(*ORDER)
    )
    return list(with_glance(queryset))


def _matches(search: str) -> Q:
    """Names a person would type: the environment's, its site's and client's (or their
    slugs), its namespace, or one of its domains."""
    # IN (one scan of the domains), not EXISTS (one probe per environment).
    domains = Domain.objects.filter(hostname__icontains=search).values("environment_id")
    return (
        Q(name__icontains=search)
        | Q(namespace_name__icontains=search)
        | Q(site__name__icontains=search)
        | Q(site__client__name__icontains=search)
        | Q(site__client__slug__icontains=search)
        | Q(pk__in=domains)
    )
