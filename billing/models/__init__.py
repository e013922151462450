"""Billing models: prices (what the agency pays), usage (what ran where) and invoices."""

from billing.models.dedication import PoolDedication
from billing.models.invoices import BillingProfile, Invoice, InvoiceLine, InvoiceSequence
from billing.models.prices import ClusterCostItem, NodePrice, NodePriceQuerySet
from billing.models.usage import (
    EnvironmentSample,
    EnvironmentUsageDay,
    PoolSample,
    PoolUsageDay,
    SampleRun,
)

__all__ = [
    "BillingProfile",
    "ClusterCostItem",
    "EnvironmentSample",
    "EnvironmentUsageDay",
    "Invoice",
    "InvoiceLine",
    "InvoiceSequence",
    "NodePrice",
    "NodePriceQuerySet",
    "PoolDedication",
    "PoolSample",
    "PoolUsageDay",
    "SampleRun",
]
