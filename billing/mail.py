"""Sending an issued invoice by email, with its PDF and CSV attached."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from billing.exports import agency_name, invoice_csv, invoice_filename, invoice_pdf
from billing.models import Invoice
from billing.periods import month_label
from controlpanel.core.audit import audit_record
from controlpanel.core.models import User
from controlpanel.core.permissions import Action, require


@transaction.atomic
def invoice_email(*, actor: User | None, invoice: Invoice, to: list[str] | None = None) -> Invoice:
    """Send `invoice` to the client's invoice address (or `to`). Issued or paid only."""
    if actor is not None:
        require(actor, Action.MANAGE_PRICING)
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.status not in (Invoice.Status.ISSUED, Invoice.Status.PAID):
        status = invoice.get_status_display().lower()
        raise ValidationError({"status": f"Only an issued invoice is sent; this one is {status}."})
    recipients = to or [invoice.bill_to_email]
    context = {
        "invoice": invoice,
        "period": month_label(invoice.period_start),
        "agency": agency_name(),
    }
    message = EmailMessage(
        subject=f"Invoice {invoice.number} — {context['period']}",
        body=render_to_string("billing/invoice_email.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients,
    )
    message.attach(invoice_filename(invoice, "pdf"), invoice_pdf(invoice), "application/pdf")
    message.attach(invoice_filename(invoice, "csv"), invoice_csv(invoice), "text/csv")
    message.send()
    invoice.emailed_at = timezone.now()
    invoice.save(update_fields=["emailed_at", "updated_at"])
    audit_record(
        actor=actor,
        action="invoice.email",
        target=invoice,
        client=invoice.client,
        changes={"to": recipients},
    )
    return invoice
