"""The node-size catalogue and its monthly prices (prices are billing's)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from billing.models import NodePrice
from clusters import services
from clusters.models import NodeSize
from controlpanel.core.permissions import Action, can
from controlpanel.web import integrations
from controlpanel.web.shortcuts import attempt
from controlpanel.web.staff.access import staff_required
from controlpanel.web.staff.forms import NodePriceForm, NodeSizeForm


def _page(request: HttpRequest, status: int = 200, **forms) -> HttpResponse:
    today = timezone.localdate()
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
    price_service = integrations.node_price_create()
    context = {
        "sizes": sizes,
        "upcoming": upcoming.order_by("effective_from"),
        "size_form": forms.get("size_form") or NodeSizeForm(),
        "price_form": forms.get("price_form") or NodePriceForm(initial={"effective_from": today}),
        "may_sizes": can(request.user, Action.MANAGE_CLUSTERS),
        "may_prices": price_service is not None and can(request.user, Action.MANAGE_PRICING),
        "currency": integrations.currency(),
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


@require_POST
@staff_required
def price_add(request: HttpRequest) -> HttpResponse:
    form = NodePriceForm(request.POST)
    service = integrations.node_price_create()
    if service is None:
        form.add_error(None, "Prices cannot be set here yet.")
    elif form.is_valid():
        price = attempt(form, service, actor=request.user, **form.cleaned_data)
        if price is not None:
            messages.success(request, f"Saved: {price}.")
            return redirect("staff:sizes")
    return _page(request, 400, price_form=form)
