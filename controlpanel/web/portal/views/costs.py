"""A client's costs, for the people who may see its billing (owners; agency staff): this
month so far and its forecast per site and environment, the last twelve months as a chart,
and the invoices with their PDF and CSV. Amounts are what the client pays; nothing here
shows the agency's cost, node prices or markup."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from billing.dashboards import client_cost_trend
from billing.exports import invoice_csv, invoice_filename, invoice_pdf
from billing.models import Invoice
from billing.periods import local_today, month_label
from billing.selectors import client_month_costs, invoice_get, invoice_line_rows, invoice_list
from controlpanel.core.models import Client
from controlpanel.core.permissions import Action, require
from controlpanel.web.charts import Series, chart
from controlpanel.web.shortcuts import scoped_or_404
from controlpanel.web.templatetags.hangar import money


def _client(request: HttpRequest, pk: int) -> Client:
    client = scoped_or_404(request, Client.objects.all(), pk=pk)
    require(request.user, Action.VIEW_BILLING, client)
    return client


@login_required
def costs(request: HttpRequest, pk: int) -> HttpResponse:
    client = _client(request, pk)
    month = client_month_costs(actor=request.user, client=client)
    trend = client_cost_trend(actor=request.user, client=client)
    currency = month.currency
    invoiced = [row["amount"] if row["status"] != "estimate" else None for row in trend]
    estimated = [row["amount"] if row["status"] == "estimate" else None for row in trend]
    context = {
        "client": client,
        "month": month,
        "month_label": month_label(month.month),
        "today": local_today(),
        "currency": currency,
        "trend": trend,
        "chart": chart(
            id="cost-trend",
            title=f"What {client.name} paid per month, last 12 months ({currency})",
            labels=[row["month"].strftime("%b %y") for row in trend],
            series=[
                Series("Invoiced", invoiced, css="chart-series-1"),
                Series("Not invoiced yet (so far)", estimated, css="chart-estimate"),
            ],
            fmt=lambda amount: money(amount, ""),
        ),
        "invoices": invoice_list(actor=request.user, client=client),
        "nav_client_id": client.pk,
        "nav_section": "costs",
    }
    return render(request, "portal/costs.html", context)


def _invoice(request: HttpRequest, pk: int, invoice_pk: int) -> tuple[Client, Invoice]:
    client = _client(request, pk)
    try:
        found = invoice_get(actor=request.user, pk=invoice_pk)
    except Invoice.DoesNotExist:
        raise Http404("No such invoice.") from None
    if found.client_id != client.pk:
        raise Http404("No such invoice.")
    return client, found


@login_required
def invoice(request: HttpRequest, pk: int, invoice_pk: int) -> HttpResponse:
    client, found = _invoice(request, pk, invoice_pk)
    context = {
        "client": client,
        "invoice": found,
        "lines": invoice_line_rows(actor=request.user, invoice=found),
        "period": month_label(found.period_start),
        "nav_client_id": client.pk,
        "nav_section": "costs",
    }
    return render(request, "portal/invoice.html", context)


def _download(content: bytes | str, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
def invoice_pdf_download(request: HttpRequest, pk: int, invoice_pk: int) -> HttpResponse:
    _, found = _invoice(request, pk, invoice_pk)
    return _download(invoice_pdf(found), "application/pdf", invoice_filename(found, "pdf"))


@login_required
def invoice_csv_download(request: HttpRequest, pk: int, invoice_pk: int) -> HttpResponse:
    _, found = _invoice(request, pk, invoice_pk)
    return _download(invoice_csv(found), "text/csv", invoice_filename(found, "csv"))
