"""What staff watch: every operation, drift reports with repair, and the audit log."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from clusters.models import Operation
from controlpanel.core.audit_export import audit_events_filter
from controlpanel.core.models import AuditEvent
from controlpanel.web.forms import Form
from controlpanel.web.shortcuts import attempt
from controlpanel.web.staff.access import staff_required
from controlpanel.web.staff.forms import AuditFilterForm, OperationFilterForm
from controlpanel.web.staff.pages import PAGE_SIZE, render_filtered_page
from sites import services
from sites.models import Environment


@staff_required
def index(request: HttpRequest) -> HttpResponse:
    return redirect("staff:clients")


@staff_required
def operations(request: HttpRequest) -> HttpResponse:
    form = OperationFilterForm(request.GET or None)
    queryset = Operation.objects.select_related("client", "cluster", "requested_by")
    if form.is_valid():
        data = form.cleaned_data
        if data["status"]:
            queryset = queryset.filter(status=data["status"])
        if data["kind"]:
            queryset = queryset.filter(kind__icontains=data["kind"])
        if data["client"]:
            queryset = queryset.filter(client=data["client"])
        if data["cluster"]:
            queryset = queryset.filter(cluster=data["cluster"])
    return _newest_first_page(request, queryset, form, "operations")


@staff_required
def drift(request: HttpRequest) -> HttpResponse:
    drifted = (
        Environment.objects.exclude(drift_report=[])
        .select_related("site__client", "cluster")
        .order_by("-drift_checked_at", "pk")
    )
    checked = Environment.objects.filter(drift_checked_at__isnull=False).count()
    context = {
        "drifted": drifted,
        "checked": checked,
        "nav_section": "staff",
        "staff_tab": "drift",
    }
    return render(request, "staff/drift.html", context)


@require_POST
@staff_required
def drift_repair(request: HttpRequest, pk: int) -> HttpResponse:
    environment = get_object_or_404(Environment.objects.select_related("site__client"), pk=pk)
    form = Form()
    operation = attempt(
        form, services.environment_repair, actor=request.user, environment=environment
    )
    if operation is None:
        for error in form.non_field_errors():
            messages.error(request, error)
        return redirect("staff:drift")
    messages.success(request, f"Repairing {environment}: re-applying every object.")
    return redirect("portal:operation", operation.pk)


@staff_required
def audit(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    events = AuditEvent.objects.select_related("client")
    if form.is_valid():
        data = form.cleaned_data
        if data["client"]:
            events = events.filter(client=data["client"])
        events = audit_events_filter(
            events,
            actor=data["actor"],
            action=data["action"],
            since=data["since"],
            until=data["until"],
        )
    return _newest_first_page(request, events, form, "audit")


def _newest_first_page(
    request: HttpRequest, queryset: QuerySet, form: Form, tab: str
) -> HttpResponse:
    """One page of `queryset`, newest first, on the staff tab `tab` with its filter form
    (the pager's links keep the filters)."""
    page = Paginator(queryset.order_by("-created_at", "-id"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render_filtered_page(request, page, form, tab)
