"""The product's URLs plus the raw baselines the API benchmark compares against: the same
rows as the API's list and detail endpoints, as `values()` dumped to JSON, with no
authentication, permissions, serializers or pagination classes. Benchmarks only."""

from django.http import Http404, HttpRequest, JsonResponse
from django.urls import include, path

from clusters.models import Operation, OperationEvent
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


urlpatterns = [
    path("bench/raw/environments/", environments),
    path("bench/raw/environments/<int:pk>/", environment),
    path("bench/raw/operations/", operations),
    path("bench/raw/operations/<int:pk>/", operation),
    path("", include("controlpanel.urls")),
]
