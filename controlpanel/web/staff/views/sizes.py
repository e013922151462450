"""The node-size catalogue with each size's current monthly price (prices are set in the
billing console)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from billing.models import NodePrice
from billing.periods import local_today
from clusters import services
from clusters.models import NodeSize
from controlpanel.core.permissions import Action, can
from controlpanel.web.shortcuts import attempt
from controlpanel.web.staff.access import staff_required
from controlpanel.web.staff.forms import NodeSizeForm


def _page(request: HttpRequest, status: int = 200, **forms) -> HttpResponse:
    today = local_today()
    sizes = list(NodeSize.objects.order_by("provider", "vcpu", "memory_mib", "slug"))
    prices = NodePrice.objects.filter(effective_from__lte=today).order_by(
        "size_id", "-effective_from"
    )
    current: dict[int, NodePrice] = {}
    for price in prices:
        current.setdefault(price.size_id, price)
    upcoming = NodePrice.objects.filter(effective_from__gt=today).select_related("size")
    for size in sizes:
        size.current_price = current.get(size.pk)
    context = {
        "sizes": sizes,
        "upcoming": upcoming.order_by("effective_from"),
        "size_form": forms.get("size_form") or NodeSizeForm(),
        "may_sizes": can(request.user, Action.MANAGE_CLUSTERS),
        "may_prices": can(request.user, Action.MANAGE_PRICING),
        "nav_section": "staff",
        "staff_tab": "sizes",
    }
    return render(request, "staff/sizes.html", context, status=status)


@staff_required
def sizes(request: HttpRequest) -> HttpResponse:
    return _page(request)


@require_POST
@staff_required
def size_add(request: HttpRequest) -> HttpResponse:
    form = NodeSizeForm(request.POST)
    if form.is_valid():
        size = attempt(form, services.node_size_create, actor=request.user, **form.cleaned_data)
        if size is not None:
            messages.success(request, f"Added {size.slug}. Give it a price so costs count it.")
            return redirect("staff:sizes")
    return _page(request, 400, size_form=form)
