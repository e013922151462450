"""The billing console: a month's invoices (prepare drafts, review, issue, void, e-mail) and
the figures an agency owner opens every month: margin by month, client margins, cluster
costs against what clients pay, and pool utilisation with the unused capacity priced.

Every staff role reads it (VIEW_BILLING: operators size clusters by it); only admins and
billing staff change anything (MANAGE_PRICING), which the services check again."""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from billing.dashboards import margin_by_month, month_overview
from billing.invoicing import (
    invoice_delete_draft,
    invoice_generate,
    invoice_issue,
    invoice_mark_paid,
    invoice_void,
    invoices_generate,
)
from billing.mail import invoice_email
from billing.models import Invoice
from billing.models.prices import billing_currency
from billing.periods import local_today, month_label, month_start, next_month
from billing.selectors import invoice_line_rows, invoice_list
from controlpanel.core.permissions import Action, can, require
from controlpanel.web.charts import Series, chart
from controlpanel.web.forms import Form
from controlpanel.web.shortcuts import attempt
from controlpanel.web.staff.access import staff_required
from controlpanel.web.staff.forms import InvoiceEmailForm, InvoiceVoidForm
from controlpanel.web.templatetags.hangar import money

PAGE_SIZE = 50
CLIENTS_SHOWN = 50


def _month(request: HttpRequest) -> datetime.date:
    """?month=YYYY-MM, else last month: the one whose invoices are being prepared."""
    value = request.GET.get("month") or request.POST.get("month") or ""
    try:
        return datetime.datetime.strptime(value, "%Y-%m").date()
    except ValueError:
        return month_start(month_start(local_today()) - datetime.timedelta(days=1))


def _require_viewer(request: HttpRequest) -> None:
    require(request.user, Action.VIEW_BILLING)


def _margin_chart(rows: list[dict]) -> object:
    return chart(
        id="margin-by-month",
        title=f"Infrastructure cost and billed revenue per month ({billing_currency()})",
        labels=[row["month"].strftime("%b %y") for row in rows],
        series=[
            Series("Infrastructure cost", [row["cost"] for row in rows], css="chart-series-3"),
            Series("Billed (issued invoices)", [row["billed"] for row in rows]),
        ],
        fmt=lambda amount: money(amount, ""),
    )


@staff_required
def billing(request: HttpRequest) -> HttpResponse:
    _require_viewer(request)
    month = _month(request)
    user = request.user
    margins = margin_by_month(actor=user)
    invoices = Paginator(invoice_list(actor=user, month=month), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    overview = month_overview(actor=user, month=month)
    # The clients the agency earns least on first: the ones to look at.
    clients = sorted(overview.pop("clients"), key=lambda row: (row["margin"], row["client"]))
    counts = Invoice.objects.filter(period_start=month).aggregate(
        drafts=Count("pk", filter=Q(status=Invoice.Status.DRAFT)),
        issued=Count("pk", filter=Q(status__in=[Invoice.Status.ISSUED, Invoice.Status.PAID])),
    )
    this_month = month_start(local_today())
    context = {
        "month": month,
        "month_value": f"{month:%Y-%m}",
        "month_label": month_label(month),
        "previous": f"{month_start(month - datetime.timedelta(days=1)):%Y-%m}",
        "next": f"{next_month(month):%Y-%m}" if month < this_month else "",
        "ended": month < this_month,
        "currency": billing_currency(),
        "margins": margins,
        "margin_chart": _margin_chart(margins),
        "invoices": invoices,
        "counts": counts,
        **overview,
        "clients": clients[:CLIENTS_SHOWN],
        "clients_total": len(clients),
        "may_manage": can(user, Action.MANAGE_PRICING),
        "nav_section": "staff",
        "staff_tab": "billing",
    }
    return render(request, "staff/billing/index.html", context)


@require_POST
@staff_required
def drafts_prepare(request: HttpRequest) -> HttpResponse:
    """Compute (or refresh) the month's draft invoices for every client with usage."""
    month = _month(request)
    form = Form()
    drafts = attempt(form, invoices_generate, actor=request.user, month=month)
    if drafts is None:
        for error in form.non_field_errors():
            messages.error(request, error)
    else:
        messages.success(
            request,
            f"{len(drafts)} draft invoice{'s' if len(drafts) != 1 else ''} of "
            f"{month_label(month)} computed. Review them, then issue.",
        )
    return redirect(f"{_index_url()}?month={month:%Y-%m}")


def _index_url() -> str:
    return reverse("staff:billing")


def _invoice(request: HttpRequest, pk: int) -> Invoice:
    _require_viewer(request)
    return get_object_or_404(invoice_list(actor=request.user), pk=pk)


def _invoice_page(
    request: HttpRequest, invoice: Invoice, status: int = 200, **forms: Form
) -> HttpResponse:
    context = {
        "invoice": invoice,
        "client": invoice.client,
        "lines": invoice_line_rows(actor=request.user, invoice=invoice),
        "period": month_label(invoice.period_start),
        "ended": invoice.period_end <= local_today(),
        "void_form": forms.get("void_form") or InvoiceVoidForm(),
        "email_form": forms.get("email_form") or InvoiceEmailForm(),
        "errors": forms.get("errors"),
        "may_manage": can(request.user, Action.MANAGE_PRICING),
        "margin": invoice.total - invoice.cost_total,
        "nav_section": "staff",
        "staff_tab": "billing",
    }
    return render(request, "staff/billing/invoice.html", context, status=status)


@staff_required
def invoice(request: HttpRequest, pk: int) -> HttpResponse:
    return _invoice_page(request, _invoice(request, pk))


def _act(request: HttpRequest, pk: int, service, done: str, **kwargs) -> HttpResponse:
    """Run a service on the invoice; its field-keyed errors are shown on the page."""
    found = _invoice(request, pk)
    form = Form()
    result = attempt(form, service, actor=request.user, invoice=found, **kwargs)
    if result is None and form.errors:
        return _invoice_page(request, found, 400, errors=form)
    messages.success(request, done.format(invoice=found))
    return redirect("staff:billing_invoice", found.pk)


@require_POST
@staff_required
def invoice_refresh(request: HttpRequest, pk: int) -> HttpResponse:
    found = _invoice(request, pk)
    form = Form()
    draft = attempt(
        form, invoice_generate, actor=request.user, client=found.client, month=found.period_start
    )
    if draft is None:
        return _invoice_page(request, found, 400, errors=form)
    messages.success(request, f"Recomputed from usage: {draft.total} {draft.currency}.")
    return redirect("staff:billing_invoice", draft.pk)


@require_POST
@staff_required
def invoice_issue_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, invoice_issue, "Issued as {invoice.number}. Next: e-mail it.")


@require_POST
@staff_required
def invoice_paid(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, invoice_mark_paid, "Invoice {invoice.number} is marked paid.")


@require_POST
@staff_required
def invoice_void_view(request: HttpRequest, pk: int) -> HttpResponse:
    form = InvoiceVoidForm(request.POST)
    if not form.is_valid():
        return _invoice_page(request, _invoice(request, pk), 400, void_form=form)
    return _act(
        request,
        pk,
        invoice_void,
        "Invoice {invoice.number} is void. Compute a new draft of the month to correct it.",
        reason=form.cleaned_data["reason"],
    )


@require_POST
@staff_required
def invoice_email_view(request: HttpRequest, pk: int) -> HttpResponse:
    form = InvoiceEmailForm(request.POST)
    if not form.is_valid():
        return _invoice_page(request, _invoice(request, pk), 400, email_form=form)
    to = [form.cleaned_data["to"]] if form.cleaned_data["to"] else None
    return _act(
        request,
        pk,
        invoice_email,
        "Invoice {invoice.number} sent with its PDF and CSV.",
        to=to,
    )


@require_POST
@staff_required
def invoice_delete(request: HttpRequest, pk: int) -> HttpResponse:
    found = _invoice(request, pk)
    month = found.period_start
    try:
        invoice_delete_draft(actor=request.user, invoice=found)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("staff:billing_invoice", found.pk)
    except Invoice.DoesNotExist:
        raise Http404 from None
    messages.success(request, "The draft is deleted.")
    return redirect(f"{_index_url()}?month={month:%Y-%m}")
