"""Writes on prices and billing terms. Each service checks permission (MANAGE_PRICING),
validates (field-keyed errors, nothing saved on error), saves and audits in one transaction.

Prices are history: a change is a new row from a date on, never an edit of the past, so
issued invoices and earlier months keep the prices they were computed with.
"""

from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction

from billing.models import BillingProfile, ClusterCostItem, NodePrice
from billing.models.prices import billing_currency
from clusters.models import Cluster, NodeSize
from controlpanel.core.audit import save_changes_audited, save_new_audited
from controlpanel.core.models import Client, User
from controlpanel.core.permissions import Action, require


def _decimal(value: Decimal | int | str, field: str) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValidationError({field: f'"{value}" is not an amount.'}) from None


@transaction.atomic
def node_price_create(
    *,
    actor: User,
    size: NodeSize,
    monthly_price: Decimal | int | str,
    effective_from: datetime.date,
    currency: str | None = None,
) -> NodePrice:
    """Set a node size's monthly price from `effective_from` on (an agency calendar day)."""
    require(actor, Action.MANAGE_PRICING)
    # Serialise price changes of one size so two same-day prices cannot both pass clean().
    NodeSize.objects.select_for_update().filter(pk=size.pk).first()
    price = NodePrice(
        size=size,
        monthly_price=_decimal(monthly_price, "monthly_price"),
        currency=currency or billing_currency(),
        effective_from=effective_from,
    )
    return save_new_audited(price, actor=actor, action="nodeprice.create", client=None)


@transaction.atomic
def cluster_cost_item_create(
    *,
    actor: User,
    cluster: Cluster,
    kind: str,
    name: str,
    monthly_price: Decimal | int | str,
    effective_from: datetime.date,
    ends_on: datetime.date | None = None,
    currency: str | None = None,
) -> ClusterCostItem:
    """Add a fixed monthly cost to a cluster (HA control plane, load balancer, storage)."""
    require(actor, Action.MANAGE_PRICING)
    Cluster.objects.select_for_update().filter(pk=cluster.pk).first()
    item = ClusterCostItem(
        cluster=cluster,
        kind=kind,
        name=(name or "").strip(),
        monthly_price=_decimal(monthly_price, "monthly_price"),
        currency=currency or billing_currency(),
        effective_from=effective_from,
        ends_on=ends_on,
    )
    return save_new_audited(item, actor=actor, action="clustercostitem.create", client=None)


@transaction.atomic
def cluster_cost_item_end(
    *, actor: User, item: ClusterCostItem, ends_on: datetime.date
) -> ClusterCostItem:
    """Stop charging an item after `ends_on` (e.g. a load balancer was deleted)."""
    require(actor, Action.MANAGE_PRICING)
    Cluster.objects.select_for_update().filter(pk=item.cluster_id).first()
    save_changes_audited(
        item,
        {"ends_on": ends_on},
        allowed={"ends_on"},
        actor=actor,
        action="clustercostitem.end",
        client=None,
    )
    return item


@transaction.atomic
def billing_profile_update(
    *,
    actor: User,
    client: Client,
    minimum_site_fee: Decimal | int | str | None = None,
    invoice_email: str = "",
) -> BillingProfile:
    """Set a client's minimum fee per site (None: the agency default) and invoice address."""
    require(actor, Action.MANAGE_PRICING)
    fee = None if minimum_site_fee in (None, "") else _decimal(minimum_site_fee, "minimum_site_fee")
    profile = BillingProfile.objects.select_for_update().filter(client=client).first()
    fields = {"minimum_site_fee": fee, "invoice_email": invoice_email}
    if profile is None:
        profile = BillingProfile(client=client, **fields)
        return save_new_audited(profile, actor=actor, action="billingprofile.create", client=client)
    save_changes_audited(
        profile,
        fields,
        allowed=set(fields),
        actor=actor,
        action="billingprofile.update",
        client=client,
    )
    return profile
