"""Who sees which invoices, prices and usage: the named actors, including other_owner."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied

from billing.models import EnvironmentUsageDay, Invoice
from billing.selectors import (
    cluster_cost_item_list,
    invoice_get,
    invoice_line_rows,
    invoice_list,
    node_price_list,
    usage_day_list,
)
from tests import factories as f

pytestmark = pytest.mark.django_db
JUNE = datetime.date(2026, 6, 1)


@pytest.fixture
def invoices(client_a, other_client):
    acme_issued = f.InvoiceFactory(client=client_a)
    f.InvoiceLineFactory(invoice=acme_issued)  # lines are written while it is a draft
    Invoice.objects.filter(pk=acme_issued.pk).update(status="issued", number="2026-0001")
    acme_issued.refresh_from_db()
    acme_draft = f.InvoiceFactory(client=client_a, period_start=JUNE)
    globex = f.InvoiceFactory(client=other_client, status="issued", number="2026-0002")
    return acme_issued, acme_draft, globex


def test_client_owners_see_their_issued_invoices_only(invoices, owner, other_owner):
    acme_issued, acme_draft, globex = invoices
    assert list(invoice_list(actor=owner)) == [acme_issued]
    assert list(invoice_list(actor=other_owner)) == [globex]
    with pytest.raises(Invoice.DoesNotExist):
        invoice_get(actor=other_owner, pk=acme_issued.pk)
    with pytest.raises(Invoice.DoesNotExist):
        invoice_get(actor=owner, pk=acme_draft.pk)  # drafts are the agency's work in progress
    assert invoice_get(actor=owner, pk=acme_issued.pk) == acme_issued


def test_viewers_and_developers_do_not_see_billing(invoices, viewer, developer, client_a):
    # for_user scopes rows to their client; VIEW_BILLING is for owners only.
    assert Invoice.objects.for_user(viewer).exists()
    for actor in (viewer, developer):
        assert not invoice_list(actor=actor).exists()
        with pytest.raises(PermissionDenied):
            usage_day_list(actor=actor, client=client_a, start=JUNE, end=JUNE)


def test_staff_see_every_invoice_and_the_cost(invoices, staff_billing, staff_operator, owner):
    acme_issued, *_ = invoices
    assert invoice_list(actor=staff_billing).count() == 3
    assert invoice_list(actor=staff_operator, status="draft").count() == 1
    (staff_row,) = invoice_line_rows(actor=staff_billing, invoice=acme_issued)
    (client_row,) = invoice_line_rows(actor=owner, invoice=acme_issued)
    assert "cost" in staff_row and "markup_percent" in staff_row
    assert "cost" not in client_row and "markup_percent" not in client_row
    assert client_row["amount"] == staff_row["amount"]


def test_another_clients_lines_are_refused(invoices, other_owner):
    acme_issued, *_ = invoices
    with pytest.raises(PermissionDenied):
        invoice_line_rows(actor=other_owner, invoice=acme_issued)


def test_prices_and_cluster_costs_are_for_staff(owner, other_owner, staff_operator):
    f.NodePriceFactory()
    f.ClusterCostItemFactory()
    for actor in (owner, other_owner):
        assert not node_price_list(actor=actor).exists()
        assert not cluster_cost_item_list(actor=actor).exists()
    assert node_price_list(actor=staff_operator, day=JUNE).count() == 1
    assert cluster_cost_item_list(actor=staff_operator, day=JUNE).count() == 1


def test_usage_rows_of_the_clients_own_environments(
    environment, other_environment, client_a, other_client, owner, other_owner, staff_billing
):
    mine = f.EnvironmentUsageDayFactory(environment=environment, day=JUNE)
    f.EnvironmentUsageDayFactory(environment=other_environment, day=JUNE)
    end = JUNE + datetime.timedelta(days=1)
    assert list(usage_day_list(actor=owner, client=client_a, start=JUNE, end=end)) == [mine]
    with pytest.raises(PermissionDenied):
        usage_day_list(actor=other_owner, client=client_a, start=JUNE, end=end)
    assert usage_day_list(actor=other_owner, client=other_client, start=JUNE, end=end).count() == 1
    assert EnvironmentUsageDay.objects.for_user(staff_billing).count() == 2


def test_invoice_list_is_one_query(invoices, owner, django_assert_num_queries):
    with django_assert_num_queries(1):
        list(invoice_list(actor=owner))
