"""Billing where people look: a client's costs and invoices in the portal, the billing
console in the staff console, who sees what, and their query counts."""

from __future__ import annotations

import datetime

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.invoicing import invoice_generate, invoice_issue, invoices_generate
from billing.models import ClusterCostItem, Invoice, NodePrice
from billing.periods import local_today, month_start
from controlpanel.core.models import AuditEvent
from tests import factories as f
from tests.billing.conftest import price, running_environment, simulate, size_4vcpu
from tests.web.helpers import sign_in

pytestmark = pytest.mark.django_db
TODAY = local_today()
THIS_MONTH = month_start(TODAY)
LAST_MONTH = month_start(THIS_MONTH - datetime.timedelta(days=1))


@pytest.fixture
def pool(cluster):
    size = size_4vcpu()
    price(size, "48.00")
    return f.NodePoolFactory(cluster=cluster, size=size, count=2, dedicated_client=None)


@pytest.fixture
def usage(site, cluster, pool, client_a, staff_billing):
    """Acme's site ran last month and this month; last month's invoice is issued."""
    running_environment(site, cluster, pool, replicas=2)
    simulate(LAST_MONTH, TODAY + datetime.timedelta(days=1))
    invoice = invoice_generate(actor=staff_billing, client=client_a, month=LAST_MONTH)
    invoice_issue(actor=staff_billing, invoice=invoice)
    return Invoice.objects.get(pk=invoice.pk)


def test_an_owner_sees_this_month_the_forecast_the_trend_and_the_invoices(
    client, owner, usage, client_a
):
    sign_in(client, owner)
    page = client.get(f"/clients/{client_a.pk}/costs/").content.decode()
    assert 'data-testid="month-so-far"' in page and 'data-testid="month-forecast"' in page
    assert "Acme website / Production" in page
    assert 'id="cost-trend"' in page and page.count('<rect class="chart-bar') >= 2
    assert usage.number in page and "PDF" in page
    pdf = client.get(f"/clients/{client_a.pk}/invoices/{usage.pk}/pdf/")
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    csv = client.get(f"/clients/{client_a.pk}/invoices/{usage.pk}/csv/").content.decode()
    assert usage.number in csv and str(usage.total) in csv
    # The menu and the dashboard lead there.
    dashboard = client.get("/").content.decode()
    assert f'href="/clients/{client_a.pk}/costs/"' in dashboard
    assert "Acme: costs" in dashboard


def test_who_sees_a_clients_costs(client, usage, client_a, developer, viewer, other_owner):
    for person, status in ((developer, 403), (viewer, 403), (other_owner, 404)):
        sign_in(client, person)
        assert client.get(f"/clients/{client_a.pk}/costs/").status_code == status, person
        pdf = client.get(f"/clients/{client_a.pk}/invoices/{usage.pk}/pdf/")
        assert pdf.status_code == status, person
    sign_in(client, developer)
    assert "Acme: costs" not in client.get("/").content.decode()


def test_another_clients_invoice_is_not_found_under_ones_own_client(
    client, usage, other_owner, other_client
):
    sign_in(client, other_owner)
    # Its own client in the path, Acme's invoice id: still nothing there.
    response = client.get(f"/clients/{other_client.pk}/invoices/{usage.pk}/")
    assert response.status_code == 404
    assert client.get(f"/clients/{other_client.pk}/invoices/{usage.pk}/csv/").status_code == 404


def test_drafts_are_not_shown_to_clients(client, owner, usage, client_a, staff_billing):
    draft = invoice_generate(actor=staff_billing, client=client_a, month=THIS_MONTH)
    sign_in(client, owner)
    assert client.get(f"/clients/{client_a.pk}/invoices/{draft.pk}/").status_code == 404
    assert "Draft" not in client.get(f"/clients/{client_a.pk}/costs/").content.decode()


def test_billing_staff_prepare_review_issue_email_and_void(client, staff_billing, usage):
    month = f"{LAST_MONTH:%Y-%m}"
    sign_in(client, staff_billing)
    page = client.get(f"/staff/billing/?month={month}").content.decode()
    assert usage.number in page and 'id="margin-by-month"' in page
    # Void needs a reason the client will read.
    refused = client.post(f"/staff/billing/invoices/{usage.pk}/void/", {"reason": ""})
    assert refused.status_code == 400 and Invoice.objects.get(pk=usage.pk).status == "issued"
    client.post(f"/staff/billing/invoices/{usage.pk}/void/", {"reason": "Wrong markup"})
    assert Invoice.objects.get(pk=usage.pk).status == "void"
    # A fresh draft for the month, reviewed, issued and sent.
    client.post("/staff/billing/drafts/", {"month": month})
    draft = Invoice.objects.get(period_start=LAST_MONTH, status="draft")
    review = client.get(f"/staff/billing/invoices/{draft.pk}/").content.decode()
    assert "Agency cost" in review and "Issue the invoice" in review
    client.post(f"/staff/billing/invoices/{draft.pk}/issue/")
    draft.refresh_from_db()
    assert draft.status == "issued" and draft.number
    client.post(f"/staff/billing/invoices/{draft.pk}/email/", {"to": ""})
    (message,) = mail.outbox
    assert message.to == [draft.bill_to_email] and draft.number in message.subject
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"invoice.void", "invoice.generate_month", "invoice.issue", "invoice.email"} <= actions


def test_operators_read_the_console_and_change_nothing(client, staff_operator, usage, pool):
    sign_in(client, staff_operator)
    page = client.get("/staff/billing/").content.decode()
    assert "Your role reads billing" in page and "Prepare the drafts" not in page
    assert client.get("/staff/billing/prices/").status_code == 200
    assert (
        client.post(f"/staff/billing/invoices/{usage.pk}/void/", {"reason": "x"}).status_code == 403
    )
    assert client.post("/staff/billing/drafts/", {}).status_code == 403
    response = client.post(
        "/staff/billing/prices/nodes/add/",
        {"size": pool.size_id, "monthly_price": "50", "effective_from": "2030-01-01"},
    )
    assert response.status_code == 403 and not NodePrice.objects.filter(monthly_price=50).exists()


def test_clients_people_find_no_billing_console(client, owner, usage):
    sign_in(client, owner)
    assert client.get("/staff/billing/").status_code == 404
    assert client.get(f"/staff/billing/invoices/{usage.pk}/").status_code == 404


def test_prices_and_cluster_costs_are_set_in_the_console(client, staff_billing, pool, cluster):
    sign_in(client, staff_billing)
    added = client.post(
        "/staff/billing/prices/nodes/add/",
        {"size": pool.size_id, "monthly_price": "52.00", "effective_from": "2030-01-01"},
    )
    assert added.status_code == 302
    item = {
        "cluster": cluster.pk,
        "kind": "load_balancer",
        "name": "ingress load balancer",
        "monthly_price": "12.00",
        "effective_from": "2026-01-01",
    }
    assert client.post("/staff/billing/prices/items/add/", item).status_code == 302
    saved = ClusterCostItem.objects.get(name="ingress load balancer")
    # A last day before the first: the error names the field, nothing changes.
    client.post(
        f"/staff/billing/prices/items/{saved.pk}/end/", {f"end{saved.pk}-ends_on": "2025-01-01"}
    )
    saved.refresh_from_db()
    assert saved.ends_on is None
    client.post(
        f"/staff/billing/prices/items/{saved.pk}/end/", {f"end{saved.pk}-ends_on": "2026-06-30"}
    )
    saved.refresh_from_db()
    assert saved.ends_on == datetime.date(2026, 6, 30)
    page = client.get("/staff/billing/prices/").content.decode()
    assert "52.00" in page and "ingress load balancer" in page and "30 Jun 2026" in page
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"nodeprice.create", "clustercostitem.create", "clustercostitem.end"} <= actions
    bad = client.post(
        "/staff/billing/prices/nodes/add/",
        {"size": pool.size_id, "monthly_price": "0", "effective_from": "2031-01-01"},
    )
    assert bad.status_code == 400 and "greater than zero" in bad.content.decode()


def test_the_staff_menu_links_to_billing(client, staff_operator, staff_admin):
    for person in (staff_operator, staff_admin):
        sign_in(client, person)
        assert 'href="/staff/billing/"' in client.get("/staff/clients/").content.decode()


def count(client, path: str) -> int:
    client.get(path)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200, path
    return len(queries.captured_queries)


def grow(client_a, cluster, pool, staff_billing, months: int) -> None:
    """More sites, environments, pools and invoices of every kind."""
    for _i in range(3):
        site = f.SiteFactory(client=client_a)
        for slug in ("staging", "production"):
            running_environment(site, cluster, pool, slug=slug, name=slug.title())
        f.NodePoolFactory(cluster=cluster, size=pool.size, dedicated_client=client_a)
        other = f.ClientFactory()
        running_environment(f.SiteFactory(client=other), cluster, pool)
    month = LAST_MONTH
    for _ in range(months):
        month = month_start(month - datetime.timedelta(days=1))
        simulate(month, month + datetime.timedelta(days=2))
        for invoice in invoices_generate(actor=staff_billing, month=month):
            invoice_issue(actor=staff_billing, invoice=invoice)
    simulate(THIS_MONTH, TODAY + datetime.timedelta(days=1))


def test_billing_pages_run_a_constant_number_of_queries(
    client, owner, staff_billing, usage, client_a, cluster, pool
):
    sign_in(client, owner)
    paths = [f"/clients/{client_a.pk}/costs/", "/"]
    before = {path: count(client, path) for path in paths}
    sign_in(client, staff_billing)
    staff_paths = [
        "/staff/billing/",
        f"/staff/billing/?month={THIS_MONTH:%Y-%m}",
        "/staff/billing/prices/",
        f"/staff/billing/invoices/{usage.pk}/",
    ]
    staff_before = {path: count(client, path) for path in staff_paths}
    grow(client_a, cluster, pool, staff_billing, months=3)
    sign_in(client, owner)
    assert {path: count(client, path) for path in paths} == before
    sign_in(client, staff_billing)
    assert {path: count(client, path) for path in staff_paths} == staff_before
