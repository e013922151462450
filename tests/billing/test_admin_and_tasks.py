"""The interim staff UI for billing, and the periodic tasks."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.models import Invoice, NodePrice
from billing.tasks import draft_invoices_task, email_invoice_task, sample_usage_task
from controlpanel.core.models import AuditEvent
from tests import factories as f
from tests.billing.conftest import price, running_environment, size_2vcpu

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, settings):
    # Two-factor enrolment (web UI) is not what these tests are about.
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if "TwoFactor" not in m]
    return client


ADMIN_PAGES = [
    "nodeprice",
    "clustercostitem",
    "billingprofile",
    "invoice",
    "environmentusageday",
    "poolusageday",
    "invoicesequence",
]


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_billing_staff_open_the_billing_admin(admin_client, staff_billing, path):
    f.InvoiceLineFactory()
    f.EnvironmentUsageDayFactory()
    f.PoolUsageDayFactory()
    admin_client.force_login(staff_billing)
    assert admin_client.get(f"/admin/billing/{path}/").status_code == 200


def test_prices_added_in_the_admin_are_validated_and_audited(admin_client, staff_billing):
    size = f.NodeSizeFactory()
    admin_client.force_login(staff_billing)
    form = {
        "size": size.pk,
        "monthly_price": "0",
        "currency": "USD",
        "effective_from": "2026-07-01",
    }
    response = admin_client.post("/admin/billing/nodeprice/add/", form)
    assert response.status_code == 200 and "greater than zero" in response.content.decode()
    assert not NodePrice.objects.exists()
    response = admin_client.post("/admin/billing/nodeprice/add/", form | {"monthly_price": "24"})
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="nodeprice.create", actor=staff_billing).exists()
    response = admin_client.post("/admin/billing/nodeprice/add/", form | {"monthly_price": "30"})
    assert "already has a price" in response.content.decode()


def test_operators_cannot_change_prices(admin_client, staff_operator):
    admin_client.force_login(staff_operator)
    assert admin_client.get("/admin/billing/nodeprice/").status_code == 200
    assert admin_client.get("/admin/billing/nodeprice/add/").status_code == 403


def test_invoices_are_issued_through_the_admin_action(admin_client, staff_billing):
    draft = f.InvoiceFactory(period_start=datetime.date(2026, 5, 1))
    admin_client.force_login(staff_billing)
    payload = {"action": "issue", "_selected_action": [draft.pk]}
    admin_client.post("/admin/billing/invoice/", payload)
    draft.refresh_from_db()
    assert draft.status == "issued" and draft.number.endswith("-0001")
    response = admin_client.post("/admin/billing/invoice/", payload, follow=True)
    assert "issued already" in response.content.decode()
    # The change page shows the document; nothing on it is editable.
    page = admin_client.get(f"/admin/billing/invoice/{draft.pk}/change/").content.decode()
    assert 'name="total"' not in page


def test_the_sampling_task(site, cluster):
    pool = f.NodePoolFactory(cluster=cluster, size=size_2vcpu(), count=1)
    running_environment(site, cluster, pool)
    result = sample_usage_task.apply().get()
    assert result["sampled"] == 1


def test_the_draft_task_drafts_last_month(client_a, cluster, staff_billing, settings):
    size = size_2vcpu()
    price(size, "24.00", datetime.date(2000, 1, 1))
    pool = f.NodePoolFactory(cluster=cluster, size=size, count=1, dedicated_client=client_a)
    last_month = (timezone.now().date().replace(day=1) - datetime.timedelta(days=1)).replace(day=1)
    f.PoolUsageDayFactory(pool=pool, day=last_month, hours=Decimal(24), node_hours=Decimal(24),
                          slot_seconds=[86400])  # fmt: skip
    result = draft_invoices_task.apply().get()
    assert result == {"month": str(last_month), "drafts": 1}
    invoice = Invoice.objects.get()
    assert invoice.lines.get().kind == "dedicated_pool"
    # A second run leaves the draft (computed after the month ended) alone.
    assert draft_invoices_task.apply().get()["drafts"] == 0


def test_the_email_task(staff_billing):
    from django.core import mail

    invoice = f.InvoiceFactory(period_start=datetime.date(2026, 5, 1))
    Invoice.objects.filter(pk=invoice.pk).update(status="issued", number="2026-0009")
    email_invoice_task.apply(args=[invoice.pk]).get()
    assert mail.outbox[0].subject.startswith("Invoice 2026-0009")
