"""Prices in the billing console: node prices (a history per size: a change is a new price
from a day on) and clusters' other fixed costs (control plane, load balancers, storage).
Every change goes through billing.services, which validate and audit it."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from billing.models import ClusterCostItem
from billing.models.prices import billing_currency
from billing.periods import local_today
from billing.selectors import cluster_cost_item_list, node_price_list
from billing.services import cluster_cost_item_create, cluster_cost_item_end, node_price_create
from controlpanel.core.permissions import Action, can, require
from controlpanel.web.shortcuts import attempt
from controlpanel.web.staff.access import staff_required
from controlpanel.web.staff.forms import ClusterCostItemForm, CostItemEndForm, NodePriceForm


def _page(request: HttpRequest, status: int = 200, **forms) -> HttpResponse:
    require(request.user, Action.VIEW_BILLING)
    today = local_today()
    prices = list(node_price_list(actor=request.user).order_by("size__slug", "-effective_from"))
    current = {p.pk for p in node_price_list(actor=request.user, day=today)}
    items = list(cluster_cost_item_list(actor=request.user).order_by("cluster__name", "name"))
    for price in prices:
        price.state = (
            "current"
            if price.pk in current
            else ("upcoming" if price.effective_from > today else "past")
        )
    for item in items:
        item.open = item.ends_on is None or item.ends_on >= today
        item.end_form = CostItemEndForm(prefix=f"end{item.pk}", initial={"ends_on": today})
    context = {
        "prices": prices,
        "items": items,
        "price_form": forms.get("price_form") or NodePriceForm(initial={"effective_from": today}),
        "item_form": forms.get("item_form")
        or ClusterCostItemForm(initial={"effective_from": today}),
        "currency": billing_currency(),
        "may_manage": can(request.user, Action.MANAGE_PRICING),
        "nav_section": "staff",
        "staff_tab": "billing",
    }
    return render(request, "staff/billing/prices.html", context, status=status)


@staff_required
def prices(request: HttpRequest) -> HttpResponse:
    return _page(request)


@require_POST
@staff_required
def price_add(request: HttpRequest) -> HttpResponse:
    form = NodePriceForm(request.POST)
    if form.is_valid():
        price = attempt(form, node_price_create, actor=request.user, **form.cleaned_data)
        if price is not None:
            messages.success(request, f"Saved: {price}.")
            return redirect("staff:billing_prices")
    return _page(request, 400, price_form=form)


@require_POST
@staff_required
def cost_item_add(request: HttpRequest) -> HttpResponse:
    form = ClusterCostItemForm(request.POST)
    if form.is_valid():
        item = attempt(form, cluster_cost_item_create, actor=request.user, **form.cleaned_data)
        if item is not None:
            messages.success(request, f"Saved: {item.name} on {item.cluster.name}.")
            return redirect("staff:billing_prices")
    return _page(request, 400, item_form=form)


@require_POST
@staff_required
def cost_item_end(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(ClusterCostItem.objects.select_related("cluster"), pk=pk)
    form = CostItemEndForm(request.POST, prefix=f"end{item.pk}")
    if form.is_valid() and attempt(
        form, cluster_cost_item_end, actor=request.user, item=item, **form.cleaned_data
    ):
        messages.success(request, f"{item.name} is charged through {item.ends_on:%Y-%m-%d}.")
        return redirect("staff:billing_prices")
    for error in [*form.non_field_errors(), *form.errors.get("ends_on", [])]:
        messages.error(request, f"{item.name}: {error}")
    return redirect("staff:billing_prices")
