"""Invoices: per client per calendar month, draft → issued → paid | void.

An issued invoice is a document: its lines, amounts and number never change afterwards.
Only its payment and void status move on, and a correction is a void plus a new invoice.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models

from clusters.models import NodePool
from controlpanel.core.models import Client
from controlpanel.core.tenancy import TenantManager


def _money(**kwargs: Any) -> models.DecimalField:
    return models.DecimalField(max_digits=12, decimal_places=2, **kwargs)


class BillingProfile(models.Model):
    """Billing terms of one client beyond its markup (which lives on the Client)."""

    client = models.OneToOneField(Client, on_delete=models.CASCADE, related_name="billing_profile")
    minimum_site_fee = _money(
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
        help_text=(
            "Least a site that ran in a month is billed; empty: HANGAR_BILLING_MINIMUM_SITE_FEE."
        ),
    )
    invoice_email = models.EmailField(
        blank=True, help_text="Where invoices are sent; empty uses the client's billing email."
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantManager()
    tenant_path = "client"

    def __str__(self) -> str:
        return f"Billing profile of {self.client}"


class InvoiceSequence(models.Model):
    """The last invoice number used in a year. Issuing locks the row, so numbers are given
    out one at a time, without gaps or duplicates; a rolled-back issue gives its number back."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last_number}"


class Invoice(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ISSUED = "issued", "Issued"
        PAID = "paid", "Paid"
        VOID = "void", "Void"

    # Where an issued invoice may go (staying put included).
    NEXT_STATUS = {
        Status.ISSUED: {Status.ISSUED, Status.PAID, Status.VOID},
        Status.PAID: {Status.PAID, Status.VOID},
        Status.VOID: {Status.VOID},
    }
    # What may still change once an invoice is issued.
    MUTABLE_AFTER_ISSUE = frozenset(
        {"status", "paid_at", "voided_at", "void_reason", "emailed_at", "updated_at"}
    )

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="invoices")
    number = models.CharField(max_length=16, blank=True, editable=False)
    period_start = models.DateField(help_text="First day of the month billed.")
    period_end = models.DateField(help_text="First day of the following month (exclusive).")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.DRAFT)
    currency = models.CharField(max_length=3)
    markup_percent = models.DecimalField(max_digits=6, decimal_places=2)
    minimum_site_fee = _money(default=Decimal("0"))
    total = _money(default=Decimal("0"))
    # Agency cost of the lines: staff only, for margins.
    cost_total = _money(default=Decimal("0"))
    bill_to_name = models.CharField(max_length=120)
    bill_to_email = models.EmailField()
    computed_at = models.DateTimeField()
    issued_at = models.DateTimeField(null=True, blank=True)
    due_on = models.DateField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.CharField(max_length=255, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantManager()
    tenant_path = "client"

    class Meta:
        ordering = ["-period_start", "client__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["number"], condition=~models.Q(number=""), name="invoice_unique_number"
            ),
            models.UniqueConstraint(
                fields=["client", "period_start"],
                condition=~models.Q(status="void"),
                name="invoice_one_per_client_and_month",
            ),
        ]
        indexes = [models.Index(fields=["period_start", "status"])]

    def __str__(self) -> str:
        label = self.number or f"draft #{self.pk}"
        return f"{label} {self.bill_to_name} {self.period_start:%Y-%m}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # The last line of defence for issued invoices: services never try, but a stray or
        # stale save (admin, shell, an old instance) must not rewrite a document that was
        # sent. Compared with the stored row, not with what this instance remembers.
        if self.pk is not None:
            names = [f.attname for f in self._meta.concrete_fields]
            stored = type(self)._base_manager.filter(pk=self.pk).values(*names).first()
            if stored is not None and stored["status"] != self.Status.DRAFT:
                changed = sorted(
                    name
                    for name in names
                    if name not in self.MUTABLE_AFTER_ISSUE and getattr(self, name) != stored[name]
                )
                if self.status not in self.NEXT_STATUS[stored["status"]]:
                    changed.append("status")
                if changed:
                    raise ValidationError(
                        {name: "An issued invoice cannot change." for name in changed}
                    )
        super().save(*args, **kwargs)

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT


class InvoiceLine(models.Model):
    class Kind(models.TextChoices):
        ENVIRONMENT = "environment", "Environment"
        DEDICATED_POOL = "dedicated_pool", "Dedicated node pool"
        MINIMUM_FEE = "minimum_fee", "Minimum fee"

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    description = models.CharField(max_length=255)
    site = models.ForeignKey(
        "sites.Site",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    environment = models.ForeignKey(
        "sites.Environment",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    pool = models.ForeignKey(
        NodePool,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    quantity = models.DecimalField(max_digits=16, decimal_places=3, default=Decimal("0"))
    unit = models.CharField(max_length=16, blank=True)
    # Agency cost (staff only) and what the client pays: cost x (1 + markup %).
    cost = _money(default=Decimal("0"))
    markup_percent = models.DecimalField(max_digits=6, decimal_places=2, default=Decimal("0"))
    amount = _money()
    detail = models.JSONField(default=dict, blank=True)

    objects = TenantManager()
    tenant_path = "invoice__client"

    class Meta:
        ordering = ["invoice", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["invoice", "position"], name="invoiceline_unique_position"
            )
        ]

    def __str__(self) -> str:
        return f"{self.description}: {self.amount}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self._refuse_unless_draft()
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        self._refuse_unless_draft()
        return super().delete(*args, **kwargs)

    def _refuse_unless_draft(self) -> None:
        status = Invoice.objects.filter(pk=self.invoice_id).values_list("status", flat=True)
        if status.first() not in (None, Invoice.Status.DRAFT):
            raise ValidationError({"invoice": "Lines of an issued invoice cannot change."})
