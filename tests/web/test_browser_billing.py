"""Billing in the browser (Playwright driving Debian's Chromium, as tests/web/test_browser.py
does): a client owner finds this month's costs, the chart and an invoice PDF; billing staff
take a draft through review, issue and e-mail. With UPDATE_SCREENSHOTS=1 they rewrite the
README's billing screenshots."""

from __future__ import annotations

import datetime
import io
import os
import re
from decimal import Decimal

import pytest
from django.core import mail
from pypdf import PdfReader

from billing.invoicing import invoice_issue, invoice_mark_paid, invoices_generate
from billing.models import Invoice
from billing.periods import local_today, month_start
from controlpanel.core.models import Client
from tests import factories as f
from tests.billing.conftest import price, running_environment, simulate, size_2vcpu, size_4vcpu
from tests.web.test_browser import (  # noqa: F401 - browser and page are fixtures
    CHROMIUM,
    VIEWPORT,
    browser,
    code_from_secret,
    page,
    screenshot,
    sign_in,
)

pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM), reason="needs Debian's chromium at /usr/bin/chromium"
)
TODAY = local_today()
DAY = datetime.timedelta(days=1)


def months_back(count: int) -> datetime.date:
    month = month_start(TODAY)
    for _ in range(count):
        month = month_start(month - DAY)
    return month


@pytest.fixture
def agency(settings, client_a, other_client, cluster, staff_billing):
    """Three clients on a shared pool and a dedicated one, three months of daily usage,
    the oldest month's invoices paid, the next issued, last month's waiting as drafts."""
    settings.HANGAR_BILLING_SAMPLE_SECONDS = 86400
    Client.objects.filter(pk=client_a.pk).update(name="Acme Corporation", markup_percent=60)
    Client.objects.filter(pk=other_client.pk).update(markup_percent=50)
    shared_size, dedicated_size = size_4vcpu(), size_2vcpu()
    price(shared_size, "48.00", datetime.date(2025, 1, 1))
    price(dedicated_size, "24.00", datetime.date(2025, 1, 1))
    f.ClusterCostItemFactory(
        cluster=cluster, name="HA control plane", monthly_price=Decimal("40.00"),
        effective_from=datetime.date(2025, 1, 1),
    )  # fmt: skip
    shared = f.NodePoolFactory(
        cluster=cluster, name="shared", size=shared_size, count=3, dedicated_client=None
    )
    initech = f.ClientFactory(name="Initech", slug="initech", markup_percent=40)
    own = f.NodePoolFactory(
        cluster=cluster, name="initech-dedicated", size=dedicated_size, count=2,
        dedicated_client=initech,
    )  # fmt: skip
    layout = [
        (client_a, "www", "Acme website", shared),
        (client_a, "blog", "Acme blog", shared),
        (other_client, "shop", "Globex shop", shared),
        (initech, "intranet", "Initech intranet", own),
    ]
    for owner, slug, name, pool in layout:
        site = f.SiteFactory(client=owner, slug=slug, name=name)
        for env, replicas in (("staging", 1), ("production", 2)):
            running_environment(
                site, cluster, pool, slug=env, name=env.title(), replicas=replicas,
                cpu_request="1", cpu_limit="1", memory_request="1Gi", memory_limit="2Gi",
            )  # fmt: skip
    simulate(months_back(3), TODAY + DAY)
    for months_ago in (3, 2, 1):
        drafts = invoices_generate(actor=staff_billing, month=months_back(months_ago))
        if months_ago == 1:
            continue
        for invoice in drafts:
            invoice_issue(actor=staff_billing, invoice=invoice)
            if months_ago == 3:
                invoice_mark_paid(actor=staff_billing, invoice=invoice)
    return client_a


def test_an_owner_reads_this_months_costs_the_chart_and_an_invoice_pdf(page, owner, agency):  # noqa: F811
    sign_in(page, owner.email)
    page.wait_for_url(re.compile(r"/$"))
    page.get_by_role("link", name="Acme Corporation: costs", exact=True).click()
    page.wait_for_url(re.compile(r"/clients/\d+/costs/"))
    so_far = page.get_by_test_id("month-so-far").inner_text()
    forecast = page.get_by_test_id("month-forecast").inner_text()
    assert so_far.endswith("USD") and forecast.endswith("USD")
    assert Decimal(forecast.split()[0].replace(",", "")) >= Decimal(
        so_far.split()[0].replace(",", "")
    )
    chart = page.get_by_role("img", name=re.compile("What Acme Corporation paid per month"))
    assert chart.is_visible()
    assert page.locator("#cost-trend rect.chart-bar").count() >= 3  # bars, legend swatches
    page.get_by_role("link", name="Acme website / Production").wait_for()
    page.set_viewport_size({"width": 1280, "height": 1240})  # the chart in the picture too
    screenshot(page, "costs.png")
    page.set_viewport_size(VIEWPORT)

    issued = Invoice.objects.filter(client=agency, status="issued").get()
    with page.expect_download() as download:
        page.get_by_role("row", name=re.compile(issued.number)).get_by_role(
            "link", name="PDF"
        ).click()
    content = open(download.value.path(), "rb").read()  # noqa: SIM115 - a temp file
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages)
    assert issued.number in text and f"{issued.total}" in text
    assert "48.00" not in text  # the agency's node price never reaches a client


def test_billing_staff_take_a_draft_through_review_issue_and_email(page, staff_billing, agency):  # noqa: F811
    sign_in(page, staff_billing.email)
    page.wait_for_url(re.compile(r"/account/two-factor/"))
    secret = page.locator("#totp-secret").inner_text()
    page.get_by_label("Code from your authenticator app", exact=True).fill(code_from_secret(secret))
    page.get_by_role("button", name="Turn on two-factor authentication").click()
    page.locator(".alert", has_text="Two-factor authentication is on").wait_for()

    page.goto("/staff/clients/")
    page.get_by_role("link", name="Billing", exact=True).first.click()
    page.wait_for_url(re.compile(r"/staff/billing/"))
    assert page.get_by_role("img", name=re.compile("cost and billed revenue")).is_visible()
    page.get_by_role("button", name="Recompute the drafts").click()
    page.locator(".alert", has_text="draft invoices of").wait_for()
    page.set_viewport_size({"width": 1280, "height": 1100})
    screenshot(page, "staff-billing.png")
    page.set_viewport_size(VIEWPORT)

    page.get_by_role("link", name="Draft of Acme Corporation").click()
    page.get_by_role("heading", name=re.compile("Draft invoice: Acme Corporation")).wait_for()
    assert page.get_by_text("Agency cost").first.is_visible()
    page.get_by_role("button", name="Issue the invoice").click()
    page.locator(".alert", has_text="Issued as").wait_for()
    number = Invoice.objects.get(client=agency, period_start=months_back(1)).number
    assert page.get_by_test_id("invoice-status").inner_text().strip() == "Issued"
    page.get_by_role("button", name="E-mail the invoice").click()
    page.locator(".alert", has_text="sent with its PDF and CSV").wait_for()
    page.get_by_test_id("invoice-sent").wait_for()
    screenshot(page, "staff-billing-invoice.png")
    (message,) = mail.outbox
    assert number in message.subject and message.to == [agency.billing_email]
    assert [name for name, *_ in message.attachments] == [
        f"invoice-{number}.pdf",
        f"invoice-{number}.csv",
    ]
