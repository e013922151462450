"""Invoices: drafts, issuing with gapless numbers, paid and void, immutability, exports
and email, and the bad inputs that must fail clearly without changing anything."""

from __future__ import annotations

import datetime
import threading
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from billing.exports import invoice_csv, invoice_pdf
from billing.invoicing import (
    invoice_delete_draft,
    invoice_generate,
    invoice_issue,
    invoice_mark_paid,
    invoice_void,
    invoices_generate,
)
from billing.mail import invoice_email
from billing.models import Invoice, InvoiceLine, InvoiceSequence
from billing.numbering import invoice_number_next
from controlpanel.core.models import AuditEvent
from tests import factories as f
from tests.billing.conftest import price, running_environment, simulate, size_2vcpu

pytestmark = pytest.mark.django_db
JUNE, JULY = datetime.date(2026, 6, 1), datetime.date(2026, 7, 1)
AUGUST_2 = datetime.datetime(2026, 8, 2, 9, 0, tzinfo=datetime.UTC)
JUNE_20 = datetime.datetime(2026, 6, 20, 12, 0, tzinfo=datetime.UTC)


def errors_of(excinfo) -> dict[str, list[str]]:
    return excinfo.value.message_dict


def snapshot(invoice: Invoice) -> tuple:
    invoice = Invoice.objects.get(pk=invoice.pk)
    lines = list(InvoiceLine.objects.filter(invoice=invoice).order_by("position").values())
    return (invoice.status, invoice.number, invoice.total, invoice.computed_at, lines)


@pytest.fixture
def acme_pool(client_a, site, cluster):
    """Acme: a dedicated pool of 3 x $24 with one environment on it (a full month comes to
    13.20 + 66.00 = 79.20 with 10% markup; see the worked examples)."""
    size = size_2vcpu()
    price(size, "24.00")
    pool = f.NodePoolFactory(cluster=cluster, size=size, count=3, dedicated_client=client_a)
    running_environment(
        site, cluster, pool, replicas=2, cpu_request="500m", memory_request="1Gi",
        memory_limit="2Gi",
    )  # fmt: skip
    return pool


@pytest.fixture
def june_usage(acme_pool):
    simulate(JUNE, JULY)
    return acme_pool


@pytest.fixture
def draft(june_usage, client_a, staff_billing):
    return invoice_generate(actor=staff_billing, client=client_a, month=JUNE, now=AUGUST_2)


def test_issuing_numbers_and_freezes_a_draft(draft, staff_billing):
    assert draft.status == "draft" and draft.number == "" and draft.total == Decimal("79.20")
    invoice_issue(actor=staff_billing, invoice=draft, now=AUGUST_2)
    draft.refresh_from_db()
    assert (draft.status, draft.number) == ("issued", "2026-0001")
    assert draft.due_on == datetime.date(2026, 8, 16)
    event = AuditEvent.objects.get(action="invoice.issue")
    assert event.changes["number"] == [None, "2026-0001"] and event.client == draft.client


def test_a_month_that_has_not_ended_stays_a_draft(june_usage, client_a, staff_billing):
    draft = invoice_generate(actor=staff_billing, client=client_a, month=JUNE, now=JUNE_20)
    assert draft.status == "draft"  # the month so far
    before = snapshot(draft)
    with pytest.raises(ValidationError) as excinfo:
        invoice_issue(actor=staff_billing, invoice=draft, now=JUNE_20)
    assert "has not ended" in errors_of(excinfo)["period_start"][0]
    assert snapshot(draft) == before and not InvoiceSequence.objects.exists()


def test_a_draft_computed_before_the_month_ended_must_be_refreshed(
    june_usage, client_a, staff_billing
):
    draft = invoice_generate(actor=staff_billing, client=client_a, month=JUNE, now=JUNE_20)
    with pytest.raises(ValidationError) as excinfo:
        invoice_issue(actor=staff_billing, invoice=draft, now=AUGUST_2)
    assert "refresh" in errors_of(excinfo)["computed_at"][0]
    refreshed = invoice_generate(actor=staff_billing, client=client_a, month=JUNE, now=AUGUST_2)
    assert refreshed.pk == draft.pk
    invoice_issue(actor=staff_billing, invoice=refreshed, now=AUGUST_2)


def test_an_issued_invoice_cannot_be_issued_again(draft, staff_billing):
    invoice_issue(actor=staff_billing, invoice=draft, now=AUGUST_2)
    before = snapshot(draft)
    with pytest.raises(ValidationError) as excinfo:
        invoice_issue(actor=staff_billing, invoice=draft, now=AUGUST_2)
    assert "issued already" in errors_of(excinfo)["status"][0]
    assert snapshot(draft) == before
    assert InvoiceSequence.objects.get(year=2026).last_number == 1


def test_an_invoiced_month_is_not_computed_again(draft, client_a, staff_billing):
    invoice_issue(actor=staff_billing, invoice=draft, now=AUGUST_2)
    before = snapshot(draft)
    with pytest.raises(ValidationError) as excinfo:
        invoice_generate(actor=staff_billing, client=client_a, month=JUNE, now=AUGUST_2)
    assert "2026-0001" in errors_of(excinfo)["month"][0]
    assert snapshot(draft) == before


def test_a_month_that_has_not_begun_cannot_be_invoiced(client_a, staff_billing):
    with pytest.raises(ValidationError) as excinfo:
        invoice_generate(actor=staff_billing, client=client_a, month=JULY, now=JUNE_20)
    assert "not begun" in errors_of(excinfo)["month"][0]
    assert not Invoice.objects.exists()


def test_nodes_without_a_price_stop_the_invoice(client_a, cluster, staff_billing):
    f.NodePoolFactory(cluster=cluster, size=size_2vcpu(), count=1, dedicated_client=client_a)
    simulate(JUNE, datetime.date(2026, 6, 3))
    with pytest.raises(ValidationError) as excinfo:
        invoice_generate(actor=staff_billing, client=client_a, month=JUNE, now=AUGUST_2)
    assert "without a price" in errors_of(excinfo)["month"][0]
    assert not Invoice.objects.exists()


def test_paid_and_void(draft, client_a, staff_billing):
    with pytest.raises(ValidationError) as excinfo:
        invoice_mark_paid(actor=staff_billing, invoice=draft)
    assert "status" in errors_of(excinfo)
    with pytest.raises(ValidationError) as excinfo:
        invoice_void(actor=staff_billing, invoice=draft, reason="typo")
    assert "status" in errors_of(excinfo)
    invoice_issue(actor=staff_billing, invoice=draft, now=AUGUST_2)
    with pytest.raises(ValidationError) as excinfo:
        invoice_void(actor=staff_billing, invoice=draft, reason="  ")
    assert "void_reason" in errors_of(excinfo) and Invoice.objects.get().status == "issued"
    invoice_mark_paid(actor=staff_billing, invoice=draft)
    assert Invoice.objects.get().status == "paid"
    invoice_void(actor=staff_billing, invoice=draft, reason="Refunded: wrong markup")
    voided = Invoice.objects.get()
    assert (voided.status, voided.number) == ("void", "2026-0001")
    # A void month can be invoiced again; the new invoice gets the next number.
    again = invoice_generate(actor=staff_billing, client=client_a, month=JUNE, now=AUGUST_2)
    invoice_issue(actor=staff_billing, invoice=again, now=AUGUST_2)
    assert again.number == "2026-0002"


def test_drafts_can_be_deleted_issued_invoices_cannot(draft, staff_billing):
    invoice_issue(actor=staff_billing, invoice=draft, now=AUGUST_2)
    with pytest.raises(ValidationError):
        invoice_delete_draft(actor=staff_billing, invoice=draft)
    other = f.InvoiceFactory()
    invoice_delete_draft(actor=staff_billing, invoice=other)
    assert not Invoice.objects.filter(pk=other.pk).exists()


def test_an_issued_invoice_refuses_stray_writes(draft, staff_billing):
    invoice_issue(actor=staff_billing, invoice=draft, now=AUGUST_2)
    stored = Invoice.objects.get(pk=draft.pk)
    stored.total = Decimal("1.00")
    with pytest.raises(ValidationError) as excinfo:
        stored.save()
    assert "total" in errors_of(excinfo)
    line = InvoiceLine.objects.filter(invoice=draft).first()
    line.amount = Decimal("0.01")
    with pytest.raises(ValidationError):
        line.save()
    with pytest.raises(ValidationError):
        line.delete()
    assert Invoice.objects.get(pk=draft.pk).total == Decimal("79.20")


def test_numbers_run_per_year_without_gaps(staff_billing):
    drafts = [f.InvoiceFactory(period_start=datetime.date(2026, m, 1)) for m in (9, 10, 11, 12)]
    for invoice in drafts[:3]:
        invoice_issue(
            actor=staff_billing,
            invoice=invoice,
            now=datetime.datetime(2026, 12, 30, tzinfo=datetime.UTC),
        )
    invoice_issue(
        actor=staff_billing,
        invoice=drafts[3],
        now=datetime.datetime(2027, 1, 2, tzinfo=datetime.UTC),
    )
    assert [Invoice.objects.get(pk=i.pk).number for i in drafts] == [
        "2026-0001", "2026-0002", "2026-0003", "2027-0001",
    ]  # fmt: skip


def test_a_rolled_back_issue_gives_its_number_back(staff_billing):
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        assert invoice_number_next(year=2026) == "2026-0001"
        raise RuntimeError("the issuing transaction failed")
    with transaction.atomic():
        assert invoice_number_next(year=2026) == "2026-0001"


@pytest.mark.django_db(transaction=True)
def test_concurrent_issuing_gives_unique_consecutive_numbers(staff_billing):
    drafts = [f.InvoiceFactory(client=f.ClientFactory()) for _ in range(8)]
    now = datetime.datetime(2026, 7, 2, tzinfo=datetime.UTC)
    barrier = threading.Barrier(len(drafts))
    failures = []

    def issue(invoice):
        try:
            barrier.wait()
            invoice_issue(actor=staff_billing, invoice=invoice, now=now)
        except Exception as exc:  # reported below
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=issue, args=(d,)) for d in drafts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    numbers = sorted(Invoice.objects.values_list("number", flat=True))
    assert numbers == [f"2026-{n:04d}" for n in range(1, 9)]


def test_only_billing_staff_and_admins_manage_invoices(
    june_usage, client_a, owner, staff_operator, staff_admin, staff_billing
):
    for actor in (owner, staff_operator):
        with pytest.raises(PermissionDenied):
            invoice_generate(actor=actor, client=client_a, month=JUNE, now=AUGUST_2)
    assert not Invoice.objects.exists()
    draft = invoice_generate(actor=staff_admin, client=client_a, month=JUNE, now=AUGUST_2)
    with pytest.raises(PermissionDenied):
        invoice_issue(actor=owner, invoice=draft, now=AUGUST_2)
    assert Invoice.objects.get().status == "draft"


def test_a_minimum_fee_per_site(june_usage, client_a, site, cluster, staff_billing):
    # The site's environment comes to 13.20; a $25 minimum adds 11.80. A second site that
    # came to more than the minimum gets no such line.
    f.BillingProfileFactory(client=client_a, minimum_site_fee=Decimal("25.00"))
    invoice = invoice_generate(actor=staff_billing, client=client_a, month=JUNE, now=AUGUST_2)
    kinds = [(line.kind, line.amount) for line in invoice.lines.order_by("position")]
    assert kinds == [
        ("environment", Decimal("13.20")),
        ("minimum_fee", Decimal("11.80")),
        ("dedicated_pool", Decimal("66.00")),
    ]
    assert invoice.total == Decimal("91.00") == sum(amount for _, amount in kinds)


def test_drafts_for_every_client_of_a_month(acme_pool, cluster, staff_billing, client_a):
    pool = f.NodePoolFactory(cluster=cluster, size=acme_pool.size, count=2)
    others = [f.ClientFactory() for _ in range(3)]
    for other in others:
        running_environment(f.SiteFactory(client=other), cluster, pool)
    simulate(JUNE, JULY)
    drafts = invoices_generate(actor=staff_billing, month=JUNE, now=AUGUST_2)
    assert {d.client_id for d in drafts} == {client_a.pk, *(o.pk for o in others)}
    assert all(d.total == sum(line.amount for line in d.lines.all()) for d in drafts)
    invoice_issue(actor=staff_billing, invoice=drafts[0], now=AUGUST_2)
    # Run again: the issued invoice is left alone, the drafts are refreshed in place.
    again = invoices_generate(actor=staff_billing, month=JUNE, now=AUGUST_2)
    assert len(again) == 3 and Invoice.objects.count() == 4
    # stale_only (the periodic task): drafts computed after the month ended are kept.
    assert invoices_generate(actor=None, month=JUNE, stale_only=True, now=AUGUST_2) == []


def test_drafts_for_a_month_take_constant_queries(
    acme_pool, cluster, staff_billing, django_assert_max_num_queries
):
    # June: one client. July: eleven. Both first runs create every draft.
    simulate(JUNE, datetime.date(2026, 6, 3))
    pool = f.NodePoolFactory(cluster=cluster, size=acme_pool.size, count=2)
    for _ in range(10):
        running_environment(f.SiteFactory(client=f.ClientFactory()), cluster, pool)
    simulate(JULY, datetime.date(2026, 7, 3))
    with django_assert_max_num_queries(30) as few:
        assert len(invoices_generate(actor=staff_billing, month=JUNE, now=AUGUST_2)) == 1
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(invoices_generate(actor=staff_billing, month=JULY, now=AUGUST_2)) == 11


def test_csv_export(draft, staff_billing):
    invoice_issue(actor=staff_billing, invoice=draft, now=AUGUST_2)
    text = invoice_csv(draft)
    assert text.splitlines()[0] == "invoice,2026-0001"
    assert "1,Acme website / Production,360.000,node-hours,13.20" in text
    assert text.splitlines()[-1] == ",Total,,,79.20"
    assert ",60.00" not in text  # the agency's cost never reaches the client


def test_csv_cells_cannot_become_formulas(staff_billing):
    line = f.InvoiceLineFactory(description='=HYPERLINK("http://evil")')
    assert "'=HYPERLINK" in invoice_csv(line.invoice)


def test_pdf_export(draft, staff_billing):
    invoice_issue(actor=staff_billing, invoice=draft, now=AUGUST_2)
    pdf = invoice_pdf(draft)
    assert pdf.startswith(b"%PDF-") and len(pdf) > 1000


def test_emailing_an_issued_invoice(draft, staff_billing):
    with pytest.raises(ValidationError) as excinfo:
        invoice_email(actor=staff_billing, invoice=draft)
    assert "status" in errors_of(excinfo) and not mail.outbox
    invoice_issue(actor=staff_billing, invoice=draft, now=AUGUST_2)
    invoice_email(actor=staff_billing, invoice=draft)
    (message,) = mail.outbox
    assert message.to == ["billing@acme.test"]
    assert "2026-0001" in message.subject and "79.20" in message.body
    names = [name for name, _, _ in message.attachments]
    assert names == ["invoice-2026-0001.pdf", "invoice-2026-0001.csv"]
    assert Invoice.objects.get().emailed_at is not None
    assert AuditEvent.objects.filter(action="invoice.email").exists()


def test_a_stale_copy_cannot_overwrite_an_issued_invoice(draft, staff_billing):
    stale = Invoice.objects.get(pk=draft.pk)  # loaded while still a draft
    invoice_issue(actor=staff_billing, invoice=draft, now=AUGUST_2)
    stale.total = Decimal("0.00")
    with pytest.raises(ValidationError) as excinfo:
        stale.save()
    assert set(errors_of(excinfo)) >= {"status", "number", "total"}
    assert Invoice.objects.get(pk=draft.pk).number == "2026-0001"


def test_a_pool_without_a_price_elsewhere_does_not_stop_this_invoice(
    june_usage, client_a, cluster, staff_billing
):
    unpriced = f.NodePoolFactory(cluster=cluster, size=f.NodeSizeFactory(slug="unpriced"))
    f.PoolUsageDayFactory(pool=unpriced, day=JUNE)  # ran, without a price: overhead unknown
    invoice = invoice_generate(actor=staff_billing, client=client_a, month=JUNE, now=AUGUST_2)
    assert invoice.lines.count() == 2
