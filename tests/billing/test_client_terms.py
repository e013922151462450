"""A client sees what it pays, never what the agency pays: no portal page, API response to
a client's token, e-mail or PDF it gets holds the node price, the cluster's other costs,
the markup or the agency's cost. The known values are planted, then every page and
response a client owner can reach is scanned for them."""

from __future__ import annotations

import datetime
import io
import re
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse
from pypdf import PdfReader

from billing.invoicing import invoice_generate, invoice_issue
from billing.mail import invoice_email
from billing.models import Invoice, InvoiceLine
from billing.periods import local_today, month_start
from controlpanel.core.models import Client
from controlpanel.web.portal.views.base import TABS
from tests import factories as f
from tests.billing.conftest import price, running_environment, simulate, size_4vcpu
from tests.web.helpers import sign_in

pytestmark = pytest.mark.django_db
JUNE, JULY = datetime.date(2026, 6, 1), datetime.date(2026, 7, 1)
AUGUST_2 = datetime.datetime(2026, 8, 2, 9, 0, tzinfo=datetime.UTC)
NODE_PRICE = "73.19"
ITEM_NAME, ITEM_PRICE = "Anycast balancer 7Q", "41.37"
MARKUP = "17.30"


@pytest.fixture
def billed(client_a, site, cluster, staff_billing):
    """Acme (17.30% markup) on a shared and a dedicated pool of $73.19 nodes, with a
    $41.37 cluster item: an issued invoice for June and usage this month."""
    Client.objects.filter(pk=client_a.pk).update(markup_percent=Decimal(MARKUP))
    client_a.refresh_from_db()
    size = size_4vcpu()
    price(size, NODE_PRICE)
    f.ClusterCostItemFactory(
        cluster=cluster, name=ITEM_NAME, monthly_price=Decimal(ITEM_PRICE), kind="load_balancer"
    )
    shared = f.NodePoolFactory(cluster=cluster, size=size, count=2, dedicated_client=None)
    own = f.NodePoolFactory(cluster=cluster, size=size, count=1, dedicated_client=client_a)
    web = running_environment(site, cluster, shared, replicas=2, cpu_request="1", cpu_limit="1")
    running_environment(site, cluster, own, slug="staging", name="Staging", replicas=1)
    simulate(JUNE, JULY)
    invoice = invoice_generate(actor=staff_billing, client=client_a, month=JUNE, now=AUGUST_2)
    invoice_issue(actor=staff_billing, invoice=invoice, now=AUGUST_2)
    today = local_today()
    simulate(month_start(today), today + datetime.timedelta(days=1))
    return web, Invoice.objects.get(pk=invoice.pk)


def forbidden(invoice: Invoice) -> list[str]:
    """The agency's figures a client must never see."""
    costs = {str(line.cost) for line in InvoiceLine.objects.filter(invoice=invoice)}
    amounts = {str(line.amount) for line in InvoiceLine.objects.filter(invoice=invoice)}
    values = [NODE_PRICE, ITEM_PRICE, ITEM_NAME, "17.3", str(invoice.cost_total)]
    # A cost that happens to equal an amount the client pays is not a leak.
    return values + sorted(costs - amounts - {"0.00"})


def assert_clean(text: str, where: str, values: list[str]) -> None:
    for value in values:
        assert not re.search(rf"(?<![\d.]){re.escape(value)}(?!\d)", text), (value, where)


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def test_no_portal_page_shows_the_agencys_figures(billed, client, owner):
    web, invoice = billed
    values = forbidden(invoice)
    sign_in(client, owner)
    pk = invoice.client_id
    paths = [
        "/",
        "/operations/",
        f"/clients/{pk}/costs/",
        f"/clients/{pk}/invoices/{invoice.pk}/",
        f"/clients/{pk}/invoices/{invoice.pk}/csv/",
        f"/clients/{pk}/members/",
        f"/clients/{pk}/webhooks/",
        "/account/tokens/",
    ]
    for environment in web.site.environments.all():
        paths += [reverse(url, args=[environment.pk]) for _, _, url in TABS]
    seen = 0
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        assert_clean(response.content.decode(), path, values)
        seen += 1
    # The costs page does show the client's own figures.
    assert str(invoice.total) in client.get(f"/clients/{pk}/costs/").content.decode()
    # The cost previews before a change, for a shared and a dedicated pool.
    for environment in web.site.environments.all():
        preview = client.post(f"/environments/{environment.pk}/scaling/scale/", {"replicas": 3})
        page = preview.content.decode()
        assert "per month" in page, environment
        assert_clean(page, f"scale preview of {environment}", values)
        auto = client.post(
            f"/environments/{environment.pk}/scaling/autoscale/",
            {"enabled": "on", "autoscale_min": 1, "autoscale_max": 4, "autoscale_cpu_target": 70},
        )
        assert_clean(auto.content.decode(), f"autoscale preview of {environment}", values)
    pdf = client.get(f"/clients/{pk}/invoices/{invoice.pk}/pdf/").content
    text = pdf_text(pdf)
    assert str(invoice.total) in text and invoice.number in text
    assert_clean(text, "invoice PDF", values)
    assert seen >= 15


def test_no_api_response_to_a_clients_token_holds_the_agencys_figures(
    billed,
    owner,
    api,
    as_token,
):
    web, invoice = billed
    values = forbidden(invoice)
    as_token(owner, scopes=["read", "write"])
    paths = [
        "/api/v1/clients/",
        "/api/v1/sites/",
        "/api/v1/environments/",
        "/api/v1/node-pools/",
        "/api/v1/node-sizes/",
        "/api/v1/clusters/",
        "/api/v1/operations/",
        "/api/v1/audit-events/",
        "/api/v1/invoices/",
        f"/api/v1/invoices/{invoice.pk}/",
        f"/api/v1/invoices/{invoice.pk}/csv/",
    ]
    for path in paths:
        response = api.get(path)
        assert response.status_code == 200, (path, response.status_code)
        assert_clean(response.content.decode(), path, values)
    pdf = api.get(f"/api/v1/invoices/{invoice.pk}/pdf/")
    assert pdf.status_code == 200
    assert_clean(pdf_text(pdf.content), "API invoice PDF", values)
    for environment in web.site.environments.all():
        for body in ({"replicas": 3}, {"autoscale_max": 4}):
            response = api.post(
                "/api/v1/estimates/", {"environment": environment.pk, **body}, format="json"
            )
            assert response.status_code == 200, response.content
            assert response.json()["assumptions"]
            assert_clean(response.content.decode(), f"estimate {body} of {environment}", values)


def test_the_invoice_email_and_its_attachments_hold_only_what_the_client_pays(
    billed, staff_billing
):
    _, invoice = billed
    values = forbidden(invoice)
    invoice_email(actor=staff_billing, invoice=invoice)
    (message,) = mail.outbox
    assert_clean(message.subject + message.body, "e-mail", values)
    (pdf_name, pdf, _), (csv_name, csv, _) = message.attachments
    assert pdf_name.endswith(".pdf") and csv_name.endswith(".csv")
    assert_clean(pdf_text(pdf), "e-mailed PDF", values)
    assert_clean(csv, "e-mailed CSV", values)
    assert str(invoice.total) in csv


def test_staff_do_see_the_agencys_figures_behind_an_estimate(billed, staff_admin, client):
    """The scan is not blind: the same preview shows staff the node price and markup."""
    web, _ = billed
    sign_in(client, staff_admin)
    page = client.post(f"/environments/{web.pk}/scaling/scale/", {"replicas": 3})
    text = page.content.decode()
    assert NODE_PRICE in text and "17.30% markup" in text
