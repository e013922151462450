"""Node prices with their history."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.core.validators import MinValueValidator, RegexValidator
from django.db import models

from clusters.models import NodeSize
from controlpanel.core.tenancy import TenantQuerySet


class NodePriceQuerySet(TenantQuerySet):
    def in_effect_on(self, day: datetime.date) -> NodePriceQuerySet:
        """The price of each node size in force on `day` (latest effective_from ≤ day)."""
        latest = (
            NodePrice.objects.filter(size=models.OuterRef("size"), effective_from__lte=day)
            .order_by("-effective_from")
            .values("pk")[:1]
        )
        return self.filter(pk=models.Subquery(latest))


class NodePrice(models.Model):
    """The flat monthly price the provider charges for one node of a size, from a date on.
    A new row with a later date changes the price without rewriting history."""

    size = models.ForeignKey(NodeSize, on_delete=models.PROTECT, related_name="prices")
    monthly_price = models.DecimalField(
        max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    currency = models.CharField(
        max_length=3,
        default="USD",
        validators=[RegexValidator(r"^[A-Z]{3}$", "Use a three-letter ISO 4217 code, e.g. USD.")],
    )
    effective_from = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)

    objects = NodePriceQuerySet.as_manager()
    # Agency cost prices: staff only. Clients see their own costs, marked up.
    tenant_path = None

    class Meta:
        ordering = ["size__slug", "-effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["size", "effective_from"],
                name="nodeprice_one_per_size_and_day",
                violation_error_message="This size already has a price from this date.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.size} {self.monthly_price} {self.currency}/month from {self.effective_from}"
