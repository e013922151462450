"""Invoices: drafts computed from usage, issued with a number, then paid or void.

Each service checks permission (actor None: the system, e.g. a periodic task), validates
with field-keyed errors before writing anything, and audits in the same transaction.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from billing.costs import CostReport, cost_report
from billing.lines import LineDraft, client_lines
from billing.models import Invoice, InvoiceLine
from billing.models.prices import billing_currency
from billing.money import ZERO
from billing.numbering import invoice_number_next
from billing.periods import local_date, local_midnight, month_label, month_start, next_month
from controlpanel.core.audit import audit_record
from controlpanel.core.models import Client, User
from controlpanel.core.permissions import Action, require

_BATCH = 2000


def _require_pricing(actor: User | None) -> None:
    if actor is not None:
        require(actor, Action.MANAGE_PRICING)


def minimum_site_fee(client: Client) -> Decimal:
    profile = getattr(client, "billing_profile", None)
    if profile is not None and profile.minimum_site_fee is not None:
        return profile.minimum_site_fee
    return Decimal(settings.HANGAR_BILLING_MINIMUM_SITE_FEE)


def line_fields(line: InvoiceLine | LineDraft) -> dict[str, Any]:
    """What a client is shown of a line, issued or draft."""
    return {
        "kind": line.kind,
        "description": line.description,
        "environment_id": line.environment_id,
        "site_id": line.site_id,
        "quantity": line.quantity,
        "unit": line.unit,
        "amount": line.amount,
    }


def client_month_lines(report: CostReport, client: Client, month: datetime.date) -> list[LineDraft]:
    """The client's lines of `month` on its terms (markup, minimum fee per site)."""
    return client_lines(
        report=report,
        client_id=client.pk,
        month=month,
        markup_percent=client.markup_percent,
        minimum_site_fee=minimum_site_fee(client),
    )


def invoice_email_address(client: Client) -> str:
    profile = getattr(client, "billing_profile", None)
    return (profile.invoice_email if profile is not None else "") or client.billing_email


def _clean_month(month: datetime.date, now: datetime.datetime) -> datetime.date:
    if not isinstance(month, datetime.date):
        raise ValidationError({"month": "Give the month as a date, e.g. 2026-06-01."})
    month = month_start(month)
    if local_midnight(month) > now:
        raise ValidationError(
            {"month": f"{month_label(month)} has not begun; there is nothing to invoice yet."}
        )
    return month


def _check_prices(report: CostReport, month: datetime.date, client_ids: set[int]) -> None:
    """Refuse to invoice nodes without a price: the pools the clients ran on or own."""
    pool_ids = {e.pool_id for e in report.environments_in(month) if e.client_id in client_ids} | {
        p.pool_id for p in report.pools_in(month) if p.owners & client_ids
    }
    missing = report.missing_prices(month, pool_ids=pool_ids)
    if missing:
        shown = ", ".join(missing[:5]) + (
            f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        )
        raise ValidationError(
            {
                "month": f"Nodes ran without a price in {month_label(month)}: {shown}. "
                "Add the node prices first."
            }
        )


def _line_rows(invoice: Invoice, drafts: Iterable[LineDraft]) -> list[InvoiceLine]:
    return [
        InvoiceLine(
            invoice=invoice,
            position=position,
            kind=draft.kind,
            description=draft.description[:255],
            site_id=draft.site_id,
            environment_id=draft.environment_id,
            pool_id=draft.pool_id,
            quantity=draft.quantity,
            unit=draft.unit,
            cost=draft.cost,
            markup_percent=draft.markup_percent,
            amount=draft.amount,
            detail=draft.detail,
        )
        for position, draft in enumerate(drafts, start=1)
    ]


def _fill_draft(
    invoice: Invoice,
    client: Client,
    month: datetime.date,
    drafts: list[LineDraft],
    now: datetime.datetime,
) -> None:
    invoice.client = client
    invoice.period_start, invoice.period_end = month, next_month(month)
    invoice.currency = billing_currency()
    invoice.markup_percent = client.markup_percent
    invoice.minimum_site_fee = minimum_site_fee(client)
    invoice.total = sum((d.amount for d in drafts), ZERO)
    invoice.cost_total = sum((d.cost for d in drafts), ZERO)
    invoice.bill_to_name = client.name
    invoice.bill_to_email = invoice_email_address(client)
    invoice.computed_at = now


def _refuse_invoiced(invoice: Invoice | None, month: datetime.date) -> None:
    if invoice is not None and not invoice.is_draft:
        raise ValidationError(
            {
                "month": f"{month_label(month)} is invoiced already as {invoice.number} "
                f"({invoice.get_status_display().lower()}); void it to invoice the month again."
            }
        )


@transaction.atomic
def invoice_generate(
    *,
    actor: User | None,
    client: Client,
    month: datetime.date,
    now: datetime.datetime | None = None,
) -> Invoice:
    """Compute the client's draft invoice for `month` (created, or refreshed when a draft
    exists). The current month gives a draft of the month so far; it can be issued only
    once the month has ended."""
    _require_pricing(actor)
    now = now or timezone.now()
    month = _clean_month(month, now)
    existing = (
        Invoice.objects.select_for_update()
        .filter(client=client, period_start=month)
        .exclude(status=Invoice.Status.VOID)
        .first()
    )
    _refuse_invoiced(existing, month)
    report = cost_report(months=[month], client_ids=[client.pk], until=now)
    _check_prices(report, month, {client.pk})
    client = Client.objects.select_related("billing_profile").get(pk=client.pk)
    drafts = client_month_lines(report, client, month)
    invoice = existing or Invoice()
    _fill_draft(invoice, client, month, drafts, now)
    invoice.save()
    InvoiceLine.objects.filter(invoice=invoice).delete()
    InvoiceLine.objects.bulk_create(_line_rows(invoice, drafts), batch_size=_BATCH)
    audit_record(
        actor=actor,
        action="invoice.refresh" if existing else "invoice.create",
        target=invoice,
        client=client,
        changes={"total": str(invoice.total), "lines": len(drafts)},
    )
    return invoice


@transaction.atomic
def invoices_generate(
    *,
    actor: User | None,
    month: datetime.date,
    stale_only: bool = False,
    now: datetime.datetime | None = None,
) -> list[Invoice]:
    """Draft invoices of `month` for every client that had usage in it. Existing drafts
    are refreshed (with `stale_only`, only those computed before the month ended); issued
    ones are left alone. Returns the drafts written."""
    _require_pricing(actor)
    now = now or timezone.now()
    month = _clean_month(month, now)
    report = cost_report(months=[month], until=now)
    client_ids = {e.client_id for e in report.environments_in(month) if e.hours > 0}
    for pool in report.pools_in(month):
        client_ids |= pool.owners
    _check_prices(report, month, client_ids)
    existing = {
        invoice.client_id: invoice
        for invoice in Invoice.objects.select_for_update()
        .filter(period_start=month)
        .exclude(status=Invoice.Status.VOID)
    }
    period_end = local_midnight(next_month(month))
    clients = Client.objects.filter(pk__in=client_ids).select_related("billing_profile")
    to_create, to_update, lines = [], [], {}
    for client in clients.order_by("pk"):
        invoice = existing.get(client.pk)
        if invoice is not None and not invoice.is_draft:
            continue
        if invoice is not None and stale_only and invoice.computed_at >= period_end:
            continue
        drafts = client_month_lines(report, client, month)
        target = invoice or Invoice()
        _fill_draft(target, client, month, drafts, now)
        (to_update if invoice else to_create).append(target)
        lines[client.pk] = drafts
    Invoice.objects.bulk_create(to_create, batch_size=_BATCH)
    fields = [
        "currency", "markup_percent", "minimum_site_fee", "total", "cost_total",
        "bill_to_name", "bill_to_email", "computed_at", "updated_at",
    ]  # fmt: skip
    for invoice in to_update:
        invoice.updated_at = now
    Invoice.objects.bulk_update(to_update, fields, batch_size=_BATCH)
    InvoiceLine.objects.filter(invoice__in=[i.pk for i in to_update]).delete()
    rows = [
        row
        for invoice in [*to_create, *to_update]
        for row in _line_rows(invoice, lines[invoice.client_id])
    ]
    InvoiceLine.objects.bulk_create(rows, batch_size=_BATCH)
    audit_record(
        actor=actor,
        action="invoice.generate_month",
        changes={
            "month": str(month),
            "created": len(to_create),
            "refreshed": len(to_update),
            "total": str(sum((i.total for i in [*to_create, *to_update]), ZERO)),
        },
    )
    return [*to_create, *to_update]


def _locked(invoice: Invoice) -> Invoice:
    return Invoice.objects.select_for_update().select_related("client").get(pk=invoice.pk)


def _sync(target: Invoice, source: Invoice) -> Invoice:
    for field in source._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))
    return target


@transaction.atomic
def invoice_issue(
    *, actor: User | None, invoice: Invoice, now: datetime.datetime | None = None
) -> Invoice:
    """Freeze a draft and give it the next number of the year. Only a draft of an ended
    month, computed after the month ended, can be issued."""
    _require_pricing(actor)
    now = now or timezone.now()
    locked = _locked(invoice)
    if locked.status != Invoice.Status.DRAFT:
        raise ValidationError(
            {
                "status": f"Invoice {locked.number} is {locked.get_status_display().lower()} "
                "already; an invoice is issued once."
            }
        )
    period_end = local_midnight(locked.period_end)
    if now < period_end:
        raise ValidationError(
            {
                "period_start": f"{month_label(locked.period_start)} has not ended; its invoice "
                f"stays a draft until {locked.period_end:%Y-%m-%d}."
            }
        )
    if locked.computed_at < period_end:
        raise ValidationError(
            {
                "computed_at": "This draft was computed before the month ended; refresh it, "
                "check it, then issue it."
            }
        )
    issued_on = local_date(now)
    locked.number = invoice_number_next(year=issued_on.year)
    locked.status = Invoice.Status.ISSUED
    locked.issued_at = now
    locked.due_on = issued_on + datetime.timedelta(days=settings.HANGAR_INVOICE_DUE_DAYS)
    locked.save()
    audit_record(
        actor=actor,
        action="invoice.issue",
        target=locked,
        client=locked.client,
        changes={"status": ["draft", "issued"], "number": [None, locked.number]},
    )
    return _sync(invoice, locked)


@transaction.atomic
def invoice_mark_paid(
    *, actor: User | None, invoice: Invoice, paid_at: datetime.datetime | None = None
) -> Invoice:
    _require_pricing(actor)
    locked = _locked(invoice)
    if locked.status != Invoice.Status.ISSUED:
        raise ValidationError(
            {
                "status": f"Only an issued invoice can be marked paid; this one is "
                f"{locked.get_status_display().lower()}."
            }
        )
    locked.status = Invoice.Status.PAID
    locked.paid_at = paid_at or timezone.now()
    locked.save()
    audit_record(
        actor=actor,
        action="invoice.paid",
        target=locked,
        client=locked.client,
        changes={"status": ["issued", "paid"]},
    )
    return _sync(invoice, locked)


@transaction.atomic
def invoice_void(*, actor: User | None, invoice: Invoice, reason: str) -> Invoice:
    """Cancel an issued (or paid, to be refunded) invoice. It keeps its number, so the
    sequence has no gap; the month can then be invoiced again."""
    _require_pricing(actor)
    reason = (reason or "").strip()
    locked = _locked(invoice)
    errors: dict[str, str] = {}
    if locked.status not in (Invoice.Status.ISSUED, Invoice.Status.PAID):
        errors["status"] = (
            "Only an issued or paid invoice can be voided; a draft can be refreshed or deleted."
        )
    if not reason:
        errors["void_reason"] = "Say why the invoice is void; the client will see it."
    if errors:
        raise ValidationError(errors)
    old = locked.status
    locked.status = Invoice.Status.VOID
    locked.voided_at = timezone.now()
    locked.void_reason = reason[:255]
    locked.save()
    audit_record(
        actor=actor,
        action="invoice.void",
        target=locked,
        client=locked.client,
        changes={"status": [old, "void"], "void_reason": [None, locked.void_reason]},
    )
    return _sync(invoice, locked)


@transaction.atomic
def invoice_delete_draft(*, actor: User | None, invoice: Invoice) -> None:
    _require_pricing(actor)
    locked = _locked(invoice)
    if not locked.is_draft:
        raise ValidationError({"status": "Only a draft can be deleted; void an issued invoice."})
    audit_record(actor=actor, action="invoice.delete", target=locked, client=locked.client)
    locked.lines.all().delete()
    locked.delete()
