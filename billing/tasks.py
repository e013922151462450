"""Periodic and background work of billing. Thin: each task calls one service."""

from __future__ import annotations

import datetime

from celery import shared_task
from django.utils import timezone

from billing.invoicing import invoices_generate
from billing.mail import invoice_email
from billing.models import Invoice
from billing.periods import local_today, month_start
from billing.sampling import usage_sample_and_rollup
from controlpanel.core.locks import one_at_a_time


@shared_task(name="billing.sample_usage")
@one_at_a_time
def sample_usage_task() -> dict[str, object]:
    """Every HANGAR_BILLING_SAMPLE_SECONDS: sample usage, roll up today and yesterday."""
    return usage_sample_and_rollup(at=timezone.now())


@shared_task(name="billing.draft_invoices")
@one_at_a_time
def draft_invoices_task() -> dict[str, object]:
    """Drafts of last month for every client, once the month has ended: missing drafts are
    created and drafts computed before the month ended are refreshed. Staff issue them."""
    last_month = month_start(month_start(local_today()) - datetime.timedelta(days=1))
    drafts = invoices_generate(actor=None, month=last_month, stale_only=True)
    return {"month": str(last_month), "drafts": len(drafts)}


@shared_task(name="billing.email_invoice")
def email_invoice_task(invoice_id: int) -> None:
    invoice_email(actor=None, invoice=Invoice.objects.get(pk=invoice_id))
