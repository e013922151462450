"""Invoice numbers: `YYYY-NNNN`, per year of issue, without gaps or duplicates."""

from __future__ import annotations

from django.db import transaction

from billing.models import InvoiceSequence


def invoice_number_next(*, year: int) -> str:
    """The next number of `year`. Call inside the transaction that issues the invoice: the
    sequence row stays locked until it commits, so concurrent issues wait in line, and a
    rollback returns the number (no gap)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("Invoice numbers are allocated inside the issuing transaction.")
    # The first invoice of a year creates its row; a concurrent creator is ignored here and
    # both then queue on the row lock below.
    InvoiceSequence.objects.bulk_create([InvoiceSequence(year=year)], ignore_conflicts=True)
    sequence = InvoiceSequence.objects.select_for_update().get(year=year)
    sequence.last_number += 1
    sequence.save(update_fields=["last_number"])
    return f"{year}-{sequence.last_number:04d}"
