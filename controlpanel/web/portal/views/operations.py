"""Operations: every one a person may see, and each one's progress and log, updated in
place (htmx polling) until it finishes."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from clusters.engine.services import cancellable, may_cancel, operation_cancel
from clusters.models import Operation, OperationEvent
from controlpanel.web.shortcuts import scoped_or_404
from sites.models import Environment

PAGE_SIZE = 50
# What stopping a running operation of a kind undoes, said before and after.
STOP_UNDOES = {
    "environment.deploy": "The previous release is applied again.",
    "environment.command": "Its Job and pods are deleted; the output so far is kept.",
    "cron.run": "Its Job and pods are deleted; the output so far is kept.",
}
LOG_LINES = 500


def operation_list_queryset(user, status: str = "") -> object:
    operations = Operation.objects.for_user(user).select_related("client", "requested_by")
    if status in Operation.Status.values:
        operations = operations.filter(status=status)
    return operations.order_by("-created_at", "-id")


@login_required
def operations(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    page = Paginator(operation_list_queryset(request.user, status), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {
        "page": page,
        "status": status,
        "query": f"status={status}" if status in Operation.Status.values else "",
        "statuses": Operation.Status.choices,
        "nav_section": "operations",
    }
    return render(request, "portal/operations.html", context)


def _events(operation: Operation, after: int = 0) -> list[OperationEvent]:
    events = OperationEvent.objects.filter(operation=operation, pk__gt=after).order_by("pk")
    if after:
        return list(events[:LOG_LINES])
    # The first view shows the newest lines when the log is long.
    newest = list(events.order_by("-pk")[:LOG_LINES])
    return newest[::-1]


def _environment(operation: Operation) -> Environment | None:
    if operation.target_type != "environment":
        return None
    return Environment.objects.select_related("site__client").filter(pk=operation.target_id).first()


@login_required
def operation(request: HttpRequest, pk: int) -> HttpResponse:
    op = scoped_or_404(
        request, Operation.objects.select_related("client", "requested_by", "cluster"), pk=pk
    )
    events = _events(op)
    context = {
        "operation": op,
        "events": events,
        "last_event": events[-1].pk if events else 0,
        "environment": _environment(op),
        "nav_section": "operations",
        # Only a button that can work: pending ones cancel, abortable running ones stop.
        "can_cancel": cancellable(op) and may_cancel(request.user, op),
        "stop_undoes": STOP_UNDOES.get(op.kind, ""),
    }
    return render(request, "portal/operation.html", context)


@login_required
def operation_live(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress panel and the log lines after `after` (appended out of band). The panel
    it returns polls again only while the operation is unfinished."""
    op = scoped_or_404(request, Operation.objects.all(), pk=pk)
    try:
        after = max(0, int(request.GET.get("after", "0")))
    except ValueError:
        after = 0
    events = _events(op, after) if after else _events(op)
    context = {
        "operation": op,
        "events": events,
        "last_event": events[-1].pk if events else after,
        "append": True,
    }
    return render(request, "portal/_operation_live.html", context)


@require_POST
@login_required
def operation_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    op = scoped_or_404(request, Operation.objects.select_related("client"), pk=pk)
    try:
        op = operation_cancel(actor=request.user, operation=op)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    else:
        if op.status == Operation.Status.RUNNING:
            messages.success(
                request,
                "Asked to stop: it stops at its next step. " + STOP_UNDOES.get(op.kind, ""),
            )
        else:
            messages.success(request, "Cancelled. Nothing was changed on the cluster.")
    return redirect("portal:operation", op.pk)
