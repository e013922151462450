"""Fleet deploy: one image to every matching environment, previewed first, then followed
with its aggregate progress."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Min
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from clusters.models import Operation
from controlpanel.core.permissions import Action, require
from controlpanel.web.shortcuts import attempt
from controlpanel.web.staff.access import staff_required
from controlpanel.web.staff.forms import FleetForm
from sites import selectors, services

PREVIEW_ROWS = 100


def _filter(data: dict) -> selectors.FleetFilter:
    return selectors.FleetFilter(
        site_kind=data.get("site_kind") or "",
        client=data.get("client"),
        cluster=data.get("cluster"),
        environment_slug=data.get("environment_slug") or "",
    )


def _page(request: HttpRequest, form: FleetForm, status: int = 200, **extra) -> HttpResponse:
    batches = (
        Operation.objects.exclude(batch="")
        .values("batch")
        .annotate(batch_started=Min("created_at"))
        .order_by("-batch_started")
    )[:10]
    context = {
        "form": form,
        "batches": batches,
        "nav_section": "staff",
        "staff_tab": "fleet",
    } | extra
    return render(request, "staff/fleet.html", context, status=status)


@staff_required
def fleet(request: HttpRequest) -> HttpResponse:
    require(request.user, Action.MANAGE_CLUSTERS)
    return _page(request, FleetForm())


@require_POST
@staff_required
def fleet_deploy(request: HttpRequest) -> HttpResponse:
    require(request.user, Action.MANAGE_CLUSTERS)
    form = FleetForm(request.POST)
    if not form.is_valid():
        return _page(request, form, 400)
    where = _filter(form.cleaned_data)
    if request.POST.get("step") != "confirm":
        matching = selectors.fleet_environments(actor=request.user, where=where)
        count = matching.count()
        if not count:
            form.add_error(None, "No provisioned environment matches. Widen the filter.")
            return _page(request, form, 400)
        return _page(request, form, matching=list(matching[:PREVIEW_ROWS]), count=count)
    result = attempt(
        form,
        services.fleet_deploy,
        aliases={"filter": "__all__"},
        actor=request.user,
        image=form.cleaned_data["image"],
        where=where,
    )
    if result is None:
        return _page(request, form, 400)
    batch, operations = result
    messages.success(
        request, f"Deploying {form.cleaned_data['image']} to {len(operations)} environments."
    )
    return redirect("staff:fleet_batch", batch)


def _progress_context(batch: str) -> dict:
    progress = selectors.fleet_progress(batch)
    if not progress["total"]:
        raise Http404
    operations = Operation.objects.filter(batch=batch).select_related("client").order_by("pk")
    counts = progress["counts"]
    finished = progress["total"] == sum(counts[s] for s in Operation.FINISHED)
    return {"batch": batch, "progress": progress, "operations": operations, "finished": finished}


@staff_required
def fleet_batch(request: HttpRequest, batch: str) -> HttpResponse:
    context = _progress_context(batch) | {"nav_section": "staff", "staff_tab": "fleet"}
    return render(request, "staff/fleet_batch.html", context)


@staff_required
def fleet_batch_live(request: HttpRequest, batch: str) -> HttpResponse:
    return render(request, "staff/_fleet_progress.html", _progress_context(batch))
