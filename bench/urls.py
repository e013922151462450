"""The product's URLs plus the raw baselines the API benchmark compares against: the same
rows as the API's list and detail endpoints, as `values()` dumped to JSON, with no
authentication, permissions, serializers or pagination classes; and the rows the client
owner's dashboard reads, the same way. Benchmarks only."""

from django.http import Http404, HttpRequest, JsonResponse
from django.urls import include, path

from billing.models import EnvironmentUsageDay, PoolUsageDay
from billing.periods import local_today, month_start
from clusters.models import Operation, OperationEvent
from controlpanel.core.models import Client
from controlpanel.web.portal.selectors import with_glance
from sites.models import Environment

ENVIRONMENT_FIELDS = [
    "id", "site_id", "site__name", "site__client_id", "site__client__slug", "site__slug",
    "name", "slug", "tier", "status", "image", "replicas", "autoscale_enabled",
    "autoscale_min", "autoscale_max", "autoscale_cpu_target", "cpu_request", "cpu_limit",
    "memory_request", "memory_limit", "varnish_enabled", "config_version",
    "applied_config_version", "drift_report", "drift_checked_at", "created_at", "updated_at",
]  # fmt: skip
OPERATION_FIELDS = [
    "id", "kind", "status", "client_id", "target_type", "target_id", "target_label", "params",
    "attempts", "max_attempts", "steps_done", "steps_total", "progress_message", "error",
    "result", "requested_by__email", "idempotency_key", "batch", "created_at", "started_at",
    "finished_at",
]  # fmt: skip
PAGE = 50


def environments(request: HttpRequest) -> JsonResponse:
    rows = list(Environment.objects.order_by("pk").values(*ENVIRONMENT_FIELDS)[:PAGE])
    return JsonResponse({"results": rows})


def environment(request: HttpRequest, pk: int) -> JsonResponse:
    row = Environment.objects.filter(pk=pk).values(*ENVIRONMENT_FIELDS).first()
    if row is None:
        raise Http404
    return JsonResponse(row)


def operations(request: HttpRequest) -> JsonResponse:
    rows = list(Operation.objects.order_by("-created_at", "-id").values(*OPERATION_FIELDS)[:PAGE])
    return JsonResponse({"results": rows})


def operation(request: HttpRequest, pk: int) -> JsonResponse:
    row = Operation.objects.filter(pk=pk).values(*OPERATION_FIELDS).first()
    if row is None:
        raise Http404
    row["events"] = list(
        OperationEvent.objects.filter(operation_id=pk)
        .order_by("created_at", "id")
        .values("id", "level", "message", "created_at")
    )
    return JsonResponse(row)


def dashboard(request: HttpRequest) -> JsonResponse:
    """What the dashboard reads for the signed-in person, raw: their clients, their
    environments with the glance (the same subqueries), the recent operations, and the
    usage rows this month's costs are computed from (every pool's, the clients' own
    environments'). No template, no health or cost computation."""
    user = request.user
    clients = list(Client.objects.for_user(user).order_by("name").values("id", "name", "slug"))
    ids = [c["id"] for c in clients]
    glance = [
        "last_op_id", "last_op_kind", "last_op_status", "last_op_at", "live_image",
        "last_deploy_at", "last_deploy_status", "last_backup_at", "cron_failures",
    ]  # fmt: skip
    environments = with_glance(
        Environment.objects.filter(site__client_id__in=ids).order_by("site__name", "pk")
    ).values(*ENVIRONMENT_FIELDS, "namespace_name", *glance)
    month = month_start(local_today())
    pools = PoolUsageDay.objects.filter(day__gte=month).values(
        "day", "pool_id", "size_id", "dedicated_client_id", "hours", "node_hours",
        "allocated_node_hours", "slot_seconds",
    )  # fmt: skip
    usage = EnvironmentUsageDay.objects.filter(client_id__in=ids, day__gte=month).values()
    operations = Operation.objects.filter(client_id__in=ids).order_by("-created_at", "-id")
    return JsonResponse(
        {
            "clients": clients,
            "environments": list(environments),
            "operations": list(operations.values(*OPERATION_FIELDS)[:8]),
            "pool_days": list(pools),
            "usage_days": list(usage),
        }
    )


urlpatterns = [
    path("bench/raw/environments/", environments),
    path("bench/raw/environments/<int:pk>/", environment),
    path("bench/raw/operations/", operations),
    path("bench/raw/operations/<int:pk>/", operation),
    path("bench/raw/dashboard/", dashboard),
    path("", include("controlpanel.urls")),
]
