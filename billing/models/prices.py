"""What the agency pays: node prices and other fixed cluster costs, with their history."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models

from clusters.models import Cluster, NodeSize
from controlpanel.core.tenancy import TenantManager, TenantQuerySet

_CURRENCY = RegexValidator(r"^[A-Z]{3}$", "Use a three-letter ISO 4217 code, e.g. USD.")
_POSITIVE = MinValueValidator(Decimal("0.01"), "A price must be greater than zero.")


def billing_currency() -> str:
    return settings.HANGAR_BILLING_CURRENCY


def _check_price(errors: dict[str, str], price: Decimal | None, currency: str) -> None:
    if price is not None and price <= 0:
        errors["monthly_price"] = "A price must be greater than zero."
    if currency and currency != billing_currency():
        # One currency for the whole agency: costs of different currencies cannot be added.
        errors["currency"] = (
            f"Hangar bills in {billing_currency()} (HANGAR_BILLING_CURRENCY); enter the price "
            f"in {billing_currency()}."
        )


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
    A new row with a later date changes the price without rewriting history; the date is a
    day on the agency's calendar (settings.TIME_ZONE)."""

    size = models.ForeignKey(NodeSize, on_delete=models.PROTECT, related_name="prices")
    monthly_price = models.DecimalField(max_digits=10, decimal_places=2, validators=[_POSITIVE])
    currency = models.CharField(max_length=3, default="USD", validators=[_CURRENCY])
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

    def clean(self) -> None:
        errors: dict[str, str] = {}
        _check_price(errors, self.monthly_price, self.currency)
        if self.size_id is not None and self.effective_from is not None:
            same_day = NodePrice.objects.filter(
                size_id=self.size_id, effective_from=self.effective_from
            ).exclude(pk=self.pk)
            if same_day.exists():
                errors["effective_from"] = (
                    f"{self.size} already has a price from {self.effective_from:%Y-%m-%d}; "
                    "change that price or pick another date."
                )
        if errors:
            raise ValidationError(errors)

    def validate_constraints(self, exclude: set[str] | None = None) -> None:
        # clean() reports a second price on the same day under effective_from, by name.
        super().validate_constraints(exclude={*(exclude or ()), "effective_from"})


class ClusterCostItem(models.Model):
    """A fixed monthly cost of a cluster besides its nodes (HA control plane, load balancer,
    object storage), in force from `effective_from` through `ends_on` (open when empty).

    Like nodes, items are charged per hour up to 672 hours a month. Each client pays a part
    in proportion to its node cost on the cluster; the part of unallocated capacity is
    agency overhead. A price change is a new row starting the day after the old one ends."""

    class Kind(models.TextChoices):
        CONTROL_PLANE = "control_plane", "HA control plane"
        LOAD_BALANCER = "load_balancer", "Load balancer"
        OBJECT_STORAGE = "object_storage", "Object storage"
        BLOCK_STORAGE = "block_storage", "Block storage"
        OTHER = "other", "Other"

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="cost_items")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    name = models.CharField(
        max_length=120, help_text="Tells rows of the same item apart, e.g. 'ingress load balancer'."
    )
    monthly_price = models.DecimalField(max_digits=10, decimal_places=2, validators=[_POSITIVE])
    currency = models.CharField(max_length=3, default="USD", validators=[_CURRENCY])
    effective_from = models.DateField()
    ends_on = models.DateField(
        null=True, blank=True, help_text="Last day charged; empty while the item runs."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantManager()
    tenant_path = None

    class Meta:
        ordering = ["cluster__name", "name", "-effective_from"]
        indexes = [models.Index(fields=["cluster", "name", "effective_from"])]

    def __str__(self) -> str:
        return f"{self.name} {self.monthly_price} {self.currency}/month from {self.effective_from}"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        _check_price(errors, self.monthly_price, self.currency)
        if self.effective_from and self.ends_on and self.ends_on < self.effective_from:
            errors["ends_on"] = "The last day cannot come before the first."
        if self.cluster_id is not None and self.effective_from and self.name and not errors:
            overlapping = ClusterCostItem.objects.filter(
                cluster_id=self.cluster_id, name=self.name
            ).exclude(pk=self.pk)
            overlapping = overlapping.filter(
                models.Q(ends_on__isnull=True) | models.Q(ends_on__gte=self.effective_from)
            )
            if self.ends_on:
                overlapping = overlapping.filter(effective_from__lte=self.ends_on)
            other = overlapping.order_by("effective_from").first()
            if other is not None:
                until = f"{other.ends_on:%Y-%m-%d}" if other.ends_on else "open-ended"
                errors["effective_from"] = (
                    f"'{self.name}' already costs {other.monthly_price} from "
                    f"{other.effective_from:%Y-%m-%d} ({until}); end that row first, or start "
                    "this one after it."
                )
        if errors:
            raise ValidationError(errors)
