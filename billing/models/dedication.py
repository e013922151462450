"""Who a node pool belonged to, day by day: the history billing splits a month by.

A pool dedicated to a client is that client's whole (its unused capacity included); a shared
pool's unused capacity is agency overhead. When a pool changes hands mid-month each mode is
billed for its own days, so the change is kept as history, like NodePrice: a row per change,
from a day of the agency's calendar on. Rows are written by billing.dedication whenever a
NodePool's `dedicated_client` changes, whichever way it was changed (admin, shell, a
service), so nothing else has to remember to.
"""

from __future__ import annotations

from django.db import models

from clusters.models import NodePool
from controlpanel.core.models import Client
from controlpanel.core.tenancy import TenantManager


class PoolDedication(models.Model):
    pool = models.ForeignKey(
        NodePool,
        on_delete=models.DO_NOTHING,
        db_constraint=False,  # history outlives a deleted pool, as usage rows do
        related_name="+",
    )
    dedicated_client = models.ForeignKey(
        Client,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
        help_text="Empty: shared by every client.",
    )
    effective_from = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantManager()
    tenant_path = None  # staff only, like prices

    class Meta:
        ordering = ["pool_id", "effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["pool", "effective_from"], name="pooldedication_one_per_pool_and_day"
            )
        ]

    def __str__(self) -> str:
        owner = f"client #{self.dedicated_client_id}" if self.dedicated_client_id else "shared"
        return f"pool #{self.pool_id}: {owner} from {self.effective_from}"
