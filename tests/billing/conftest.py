"""Billing test helpers: a calendar on UTC and a usage simulator.

`simulate` samples once per day (HANGAR_BILLING_SAMPLE_SECONDS = 86400, each sample
standing for the whole day) and rolls each day up: a month in 30 samples, with exactly the
arithmetic hourly samples would give for a state that holds all day.
"""

from __future__ import annotations

import datetime
import tempfile
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from hypothesis.configuration import set_hypothesis_home_dir

from billing.sampling import usage_rollup, usage_sample
from tests import factories as f

DAY = datetime.timedelta(days=1)

# No example database, and hypothesis's caches outside the working tree: runs stay
# reproducible and the tree clean.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "hangar-billing-hypothesis")
hypothesis_settings.register_profile("hangar-billing", database=None, derandomize=True)
hypothesis_settings.load_profile("hangar-billing")


@pytest.fixture(autouse=True)
def _billing_settings(settings):
    settings.TIME_ZONE = "UTC"
    settings.HANGAR_BILLING_SAMPLE_SECONDS = 86400
    settings.HANGAR_BILLING_CURRENCY = "USD"
    settings.HANGAR_BILLING_MINIMUM_SITE_FEE = "0"
    settings.HANGAR_INVOICE_DUE_DAYS = 14


def at_midnight(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=datetime.UTC)


def simulate(
    first: datetime.date,
    end: datetime.date,
    changes: dict[datetime.date, Callable[[], object]] | None = None,
) -> None:
    """Sample and roll up every day from `first` to `end` (exclusive); `changes[day]` runs
    before that day's sample."""
    day = first
    while day < end:
        if changes and day in changes:
            changes[day]()
        usage_sample(at=at_midnight(day), readings={})
        usage_rollup(day=day)
        day += DAY


def size_2vcpu():
    return f.NodeSizeFactory(slug="s-2vcpu-4gb", vcpu=2, memory_mib=4096)


def size_4vcpu():
    return f.NodeSizeFactory(slug="s-4vcpu-8gb", vcpu=4, memory_mib=8192)


def price(size, amount: str, effective_from: datetime.date = datetime.date(2026, 1, 1)):
    return f.NodePriceFactory(
        size=size, monthly_price=Decimal(amount), effective_from=effective_from
    )


def running_environment(site, cluster, pool=None, **overrides):
    """An active environment with an image: what sampling counts."""
    values = {
        "replicas": 1,
        "cpu_request": "250m",
        "cpu_limit": "1",
        "memory_request": "256Mi",
        "memory_limit": "512Mi",
        "varnish_enabled": False,
        "status": "active",
    } | overrides
    return f.EnvironmentFactory(site=site, cluster=cluster, node_pool=pool, **values)
