"""Prices and cluster cost items: history, validation (field-keyed, nothing saved), audit,
and who may change them."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from billing.models import BillingProfile, ClusterCostItem, NodePrice
from billing.services import (
    billing_profile_update,
    cluster_cost_item_create,
    cluster_cost_item_end,
    node_price_create,
)
from controlpanel.core.models import AuditEvent
from tests import factories as f

pytestmark = pytest.mark.django_db
JAN, JUNE = datetime.date(2026, 1, 1), datetime.date(2026, 6, 1)


@pytest.fixture
def size():
    return f.NodeSizeFactory()


@pytest.mark.parametrize("amount", ["0", "0.00", "-24", "-0.01"])
def test_prices_must_be_positive(size, staff_billing, amount):
    with pytest.raises(ValidationError) as excinfo:
        node_price_create(actor=staff_billing, size=size, monthly_price=amount, effective_from=JAN)
    assert set(excinfo.value.message_dict) == {"monthly_price"}
    assert not NodePrice.objects.exists() and not AuditEvent.objects.exists()


def test_a_price_must_be_a_number(size, staff_billing):
    with pytest.raises(ValidationError) as excinfo:
        node_price_create(actor=staff_billing, size=size, monthly_price="lots", effective_from=JAN)
    assert "monthly_price" in excinfo.value.message_dict


def test_one_price_per_size_and_day(size, staff_billing):
    node_price_create(actor=staff_billing, size=size, monthly_price="24", effective_from=JAN)
    with pytest.raises(ValidationError) as excinfo:
        node_price_create(actor=staff_billing, size=size, monthly_price="28", effective_from=JAN)
    assert set(excinfo.value.message_dict) == {"effective_from"}
    assert "already has a price from 2026-01-01" in excinfo.value.message_dict["effective_from"][0]
    assert list(NodePrice.objects.values_list("monthly_price", flat=True)) == [Decimal("24.00")]


def test_prices_are_in_the_billing_currency(size, staff_billing):
    with pytest.raises(ValidationError) as excinfo:
        node_price_create(
            actor=staff_billing, size=size, monthly_price="24", effective_from=JAN, currency="EUR"
        )
    assert set(excinfo.value.message_dict) == {"currency"}


def test_a_price_change_is_a_new_row_and_audited(size, staff_billing):
    node_price_create(actor=staff_billing, size=size, monthly_price="24", effective_from=JAN)
    node_price_create(actor=staff_billing, size=size, monthly_price="28.50", effective_from=JUNE)
    in_may = NodePrice.objects.in_effect_on(datetime.date(2026, 5, 31)).get()
    in_june = NodePrice.objects.in_effect_on(JUNE).get()
    assert (in_may.monthly_price, in_june.monthly_price) == (Decimal("24"), Decimal("28.50"))
    event = AuditEvent.objects.filter(action="nodeprice.create").first()
    assert event.actor == staff_billing and event.changes["monthly_price"] == [None, "28.50"]


@pytest.mark.parametrize("actor_name", ["owner", "other_owner", "staff_operator"])
def test_only_billing_staff_and_admins_set_prices(size, request, actor_name, staff_admin):
    actor = request.getfixturevalue(actor_name)
    with pytest.raises(PermissionDenied):
        node_price_create(actor=actor, size=size, monthly_price="24", effective_from=JAN)
    node_price_create(actor=staff_admin, size=size, monthly_price="24", effective_from=JAN)


def test_cluster_items_must_not_overlap(cluster, staff_billing):
    item = cluster_cost_item_create(
        actor=staff_billing, cluster=cluster, kind="load_balancer", name="Ingress LB",
        monthly_price="12", effective_from=JAN,
    )  # fmt: skip
    with pytest.raises(ValidationError) as excinfo:
        cluster_cost_item_create(
            actor=staff_billing, cluster=cluster, kind="load_balancer", name="Ingress LB",
            monthly_price="15", effective_from=JUNE,
        )  # fmt: skip
    assert set(excinfo.value.message_dict) == {"effective_from"}
    assert ClusterCostItem.objects.count() == 1
    # End the old row; the new price then starts the day after.
    cluster_cost_item_end(actor=staff_billing, item=item, ends_on=datetime.date(2026, 5, 31))
    cluster_cost_item_create(
        actor=staff_billing, cluster=cluster, kind="load_balancer", name="Ingress LB",
        monthly_price="15", effective_from=JUNE,
    )  # fmt: skip
    # A second, differently named item may run at the same time.
    cluster_cost_item_create(
        actor=staff_billing, cluster=cluster, kind="load_balancer", name="Second LB",
        monthly_price="12", effective_from=JUNE,
    )  # fmt: skip
    assert ClusterCostItem.objects.count() == 3
    assert AuditEvent.objects.filter(action="clustercostitem.end").exists()


def test_cluster_item_bad_input(cluster, staff_billing):
    with pytest.raises(ValidationError) as excinfo:
        cluster_cost_item_create(
            actor=staff_billing, cluster=cluster, kind="control_plane", name="HA",
            monthly_price="0", effective_from=JUNE, ends_on=JAN,
        )  # fmt: skip
    assert set(excinfo.value.message_dict) == {"monthly_price", "ends_on"}
    with pytest.raises(ValidationError) as excinfo:
        cluster_cost_item_create(
            actor=staff_billing, cluster=cluster, kind="nonsense", name="", monthly_price="5",
            effective_from=JUNE,
        )  # fmt: skip
    assert set(excinfo.value.message_dict) == {"kind", "name"}
    assert not ClusterCostItem.objects.exists()


def test_billing_profile(client_a, staff_billing, owner):
    with pytest.raises(PermissionDenied):
        billing_profile_update(actor=owner, client=client_a, minimum_site_fee="10")
    with pytest.raises(ValidationError) as excinfo:
        billing_profile_update(actor=staff_billing, client=client_a, minimum_site_fee="-1")
    assert set(excinfo.value.message_dict) == {"minimum_site_fee"}
    assert not BillingProfile.objects.exists()
    billing_profile_update(actor=staff_billing, client=client_a, minimum_site_fee="10")
    billing_profile_update(
        actor=staff_billing, client=client_a, minimum_site_fee="", invoice_email="ap@acme.test"
    )
    profile = BillingProfile.objects.get()
    assert profile.minimum_site_fee is None and profile.invoice_email == "ap@acme.test"
    assert AuditEvent.objects.filter(action="billingprofile.update", client=client_a).exists()
