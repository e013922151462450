"""Clusters: the list, adding one (kubeconfig write-only), and a cluster's page with its
connection report, node pools with capacity and utilisation, and node sync."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from clusters import services
from clusters.connection import cluster_test_connection
from clusters.kube.errors import KubeError
from clusters.models import Cluster, NodePool
from clusters.nodes import cluster_sync_nodes
from clusters.quantities import parse_cpu, parse_memory
from controlpanel.core.permissions import Action, can, require
from controlpanel.web.shortcuts import attempt
from controlpanel.web.staff.access import staff_required
from controlpanel.web.staff.forms import ClusterForm
from sites.models import Environment


def _list(request: HttpRequest, form=None) -> HttpResponse:
    clusters = Cluster.objects.annotate(
        pool_count=Count("node_pools", distinct=True),
        environment_count=Count("environments", distinct=True),
    ).order_by("name")
    context = {
        "clusters": clusters,
        "form": form or ClusterForm(),
        "may_manage": can(request.user, Action.MANAGE_CLUSTERS),
        "nav_section": "staff",
        "staff_tab": "clusters",
    }
    return render(request, "staff/clusters.html", context, status=400 if form else 200)


@staff_required
def clusters(request: HttpRequest) -> HttpResponse:
    return _list(request)


@require_POST
@staff_required
def cluster_add(request: HttpRequest) -> HttpResponse:
    form = ClusterForm(request.POST)
    if form.is_valid():
        cluster = attempt(form, services.cluster_create, actor=request.user, **form.cleaned_data)
        if cluster is not None:
            messages.success(
                request, f"Added {cluster.name}. Next: test the connection and sync its nodes."
            )
            return redirect("staff:cluster", cluster.pk)
    return _list(request, form)


@dataclass
class PoolUse:
    pool: NodePool
    cpu_requested: int
    memory_requested: int
    environments: int

    @staticmethod
    def _fraction(used: int, total: int) -> float:
        return used / total if total else 0.0

    @property
    def cpu_fraction(self) -> float:
        return self._fraction(self.cpu_requested, self.pool.allocatable_cpu_millicores)

    @property
    def memory_fraction(self) -> float:
        return self._fraction(self.memory_requested, self.pool.allocatable_memory_bytes)


def pool_usage(cluster: Cluster) -> tuple[list[PoolUse], int]:
    """Requested CPU and memory per pool (requests times replicas of its environments) against
    what node sync found allocatable. Returns the pools and the count of environments
    that let the scheduler choose (no pool)."""
    pools = list(cluster.node_pools.select_related("size", "dedicated_client").order_by("name"))
    use = {pool.pk: PoolUse(pool, 0, 0, 0) for pool in pools}
    unplaced = 0
    environments = Environment.objects.filter(cluster=cluster).exclude(
        status__in=[Environment.Status.NEW, Environment.Status.DESTROYING]
    )
    for environment in environments.only(
        "node_pool_id",
        "replicas",
        "autoscale_enabled",
        "autoscale_min",
        "cpu_request",
        "memory_request",
        "status",
    ):
        pods = environment.autoscale_min if environment.autoscale_enabled else environment.replicas
        row = use.get(environment.node_pool_id)
        if row is None:
            unplaced += 1
            continue
        # Stored quantities were validated on the way in.
        row.cpu_requested += parse_cpu(environment.cpu_request) * pods
        row.memory_requested += parse_memory(environment.memory_request) * pods
        row.environments += 1
    return list(use.values()), unplaced


def _detail(request: HttpRequest, cluster: Cluster, form=None) -> HttpResponse:
    pools, unplaced = pool_usage(cluster)
    context = {
        "cluster": cluster,
        "report": cluster.connection_report or {},
        "pools": pools,
        "unplaced": unplaced,
        "form": form
        or ClusterForm(
            editing=True,
            initial={
                name: getattr(cluster, name)
                for name in ClusterForm.base_fields
                if name not in services.SECRET_FIELDS
            },
        ),
        "may_manage": can(request.user, Action.MANAGE_CLUSTERS),
        "nav_section": "staff",
        "staff_tab": "clusters",
    }
    return render(request, "staff/cluster.html", context, status=400 if form else 200)


@staff_required
def cluster(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, get_object_or_404(Cluster, pk=pk))


@require_POST
@staff_required
def cluster_edit(request: HttpRequest, pk: int) -> HttpResponse:
    cluster = get_object_or_404(Cluster, pk=pk)
    form = ClusterForm(request.POST, editing=True)
    if form.is_valid() and attempt(
        form, services.cluster_update, actor=request.user, cluster=cluster, **form.cleaned_data
    ):
        messages.success(request, f"Saved {cluster.name}.")
        return redirect("staff:cluster", cluster.pk)
    return _detail(request, cluster, form)


@require_POST
@staff_required
def cluster_test(request: HttpRequest, pk: int) -> HttpResponse:
    cluster = get_object_or_404(Cluster, pk=pk)
    require(request.user, Action.MANAGE_CLUSTERS)
    report = cluster_test_connection(cluster=cluster)
    if report.ok:
        messages.success(request, "Connection OK: Hangar can do everything it needs there.")
    else:
        messages.error(request, "Connection test failed. The report below says what to fix.")
    return redirect("staff:cluster", cluster.pk)


@require_POST
@staff_required
def cluster_sync(request: HttpRequest, pk: int) -> HttpResponse:
    cluster = get_object_or_404(Cluster, pk=pk)
    require(request.user, Action.MANAGE_CLUSTERS)
    try:
        sync = cluster_sync_nodes(
            cluster=cluster, empty_missing=request.POST.get("empty_missing") == "1"
        )
    except KubeError as exc:
        messages.error(request, f"Could not read the nodes: {exc.message} Test the connection.")
    else:
        count = len(sync.pools)
        messages.success(request, f"Synced: {count} node pool{'s' if count != 1 else ''}.")
        for warning in sync.warnings:
            messages.warning(request, warning)
    return redirect("staff:cluster", cluster.pk)
