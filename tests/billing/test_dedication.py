"""A pool that changes hands mid-month is billed by its days in each mode: the dedicated
client pays the capacity it left unused on its days, the agency carries shared days."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from billing.dedication import DedicationBook, pool_dedication_record
from billing.invoicing import invoice_generate
from billing.models import PoolDedication
from clusters.models import NodePool
from tests import factories as f
from tests.billing.conftest import price, simulate, size_2vcpu

pytestmark = pytest.mark.django_db
JUNE, JUNE_16 = datetime.date(2026, 6, 1), datetime.date(2026, 6, 16)
JULY = datetime.date(2026, 7, 1)
AUGUST_2 = datetime.datetime(2026, 8, 2, 9, 0, tzinfo=datetime.UTC)


@pytest.fixture
def pool(client_a, cluster):
    """3 x $24 nodes, dedicated to Acme; nothing runs on them (all capacity unused)."""
    size = size_2vcpu()
    price(size, "24.00")
    pool = f.NodePoolFactory(cluster=cluster, size=size, count=3, dedicated_client=client_a)
    # The history as staff made it: Acme's from the first of June.
    PoolDedication.objects.filter(pool_id=pool.pk).delete()
    pool_dedication_record(pool=pool, day=JUNE)
    return pool


def rededicate(pool: NodePool, client, day: datetime.date):
    def change():
        NodePool.objects.filter(pk=pool.pk).update(dedicated_client=client)
        pool.refresh_from_db()
        pool_dedication_record(pool=pool, day=day)

    return change


def dedicated_amount(client, staff_billing) -> Decimal:
    invoice = invoice_generate(actor=staff_billing, client=client, month=JUNE, now=AUGUST_2)
    return sum(
        (line.amount for line in invoice.lines.all() if line.kind == "dedicated_pool"),
        Decimal(0),
    )


def test_a_pool_shared_from_mid_month_bills_its_client_only_for_its_days(
    pool, client_a, staff_billing
):
    simulate(JUNE, JULY, {JUNE_16: rededicate(pool, None, JUNE_16)})
    # The pool ran all June: $72 (the 672-hour cap); Acme had it 15 of 30 days: $36, $39.60
    # with its 10% markup. Before, the month's last mode (shared) decided it all and Acme
    # paid nothing.
    assert dedicated_amount(client_a, staff_billing) == Decimal("39.60")


def test_a_pool_handed_to_another_client_bills_each_for_its_own_days(
    pool, client_a, other_client, staff_billing
):
    simulate(JUNE, JULY, {JUNE_16: rededicate(pool, other_client, JUNE_16)})
    assert dedicated_amount(client_a, staff_billing) == Decimal("39.60")
    assert dedicated_amount(other_client, staff_billing) == Decimal("39.60")


def test_saving_a_pool_records_its_dedication_from_today(cluster, client_a):
    pool = f.NodePoolFactory(cluster=cluster, dedicated_client=None)
    pool.dedicated_client = client_a
    pool.save()
    pool.save()  # unchanged: nothing more to record
    rows = list(PoolDedication.objects.filter(pool_id=pool.pk))
    assert len(rows) == 1 and rows[0].dedicated_client_id == client_a.pk
    book = DedicationBook.load([pool.pk])
    assert book.owner(pool.pk, rows[0].effective_from, None) == client_a.pk
    assert book.owner(pool.pk, rows[0].effective_from - datetime.timedelta(days=1), 7) == 7
