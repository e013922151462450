"""Invoices as documents: CSV and PDF (WeasyPrint), as the client sees them.

Client-facing: amounts only, never the agency's cost or markup.
"""

from __future__ import annotations

import csv
import io
from email.utils import parseaddr

from django.conf import settings
from django.template.loader import render_to_string

from billing.models import Invoice, InvoiceLine
from billing.periods import month_label

# Spreadsheets run cells starting with these as formulas; site names are user input.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    text = str(value)
    return f"'{text}" if text.startswith(_FORMULA_START) else text


def agency_name() -> str:
    return parseaddr(settings.DEFAULT_FROM_EMAIL)[0] or "Hangar"


def invoice_filename(invoice: Invoice, extension: str) -> str:
    label = invoice.number or f"draft-{invoice.pk}"
    return f"invoice-{label}.{extension}"


def _lines(invoice: Invoice) -> list[InvoiceLine]:
    return list(invoice.lines.order_by("position"))


def invoice_csv(invoice: Invoice) -> str:
    """One row per line, then the total; the header rows say which invoice it is."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["invoice", invoice.number or "DRAFT"])
    writer.writerow(["client", _cell(invoice.bill_to_name)])
    writer.writerow(["period", f"{invoice.period_start:%Y-%m}"])
    writer.writerow(["currency", invoice.currency])
    writer.writerow([])
    writer.writerow(["position", "description", "quantity", "unit", "amount"])
    for line in _lines(invoice):
        quantity = f"{line.quantity}" if line.unit else ""
        writer.writerow(
            [line.position, _cell(line.description), quantity, line.unit, f"{line.amount}"]
        )
    writer.writerow(["", "Total", "", "", f"{invoice.total}"])
    return out.getvalue()


def invoice_html(invoice: Invoice) -> str:
    return render_to_string(
        "billing/invoice.html",
        {
            "invoice": invoice,
            "lines": _lines(invoice),
            "agency": agency_name(),
            "period": month_label(invoice.period_start),
        },
    )


def invoice_pdf(invoice: Invoice) -> bytes:
    # Imported here: WeasyPrint loads Pango and fonts, which only exports need.
    from weasyprint import HTML

    return HTML(string=invoice_html(invoice)).write_pdf()
