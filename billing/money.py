"""Money arithmetic. Amounts are Decimals; nothing is rounded before it becomes a line.

Rounding rules (README, "Billing"):
- costs are exact Decimals until they become an invoice line; a line's cost is rounded
  half-up to cents, and its amount is that cost times (1 + markup %), rounded half-up to
  cents; an invoice's total is the sum of its lines' amounts, never rounded again;
- splitting one amount into parts (a pool's cost into client allocations and agency
  overhead) rounds with the largest-remainder method, so the parts add up to the rounded
  whole exactly and each part is less than a cent from its exact value.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import TypeVar

K = TypeVar("K", bound=Hashable)

CENT = Decimal("0.01")
ZERO = Decimal("0")
HUNDRED = Decimal("100")


def to_cents(value: Decimal) -> Decimal:
    """Round half-up to cents (0.005 → 0.01)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def with_markup(cost: Decimal, markup_percent: Decimal) -> Decimal:
    """What the client pays for `cost`: cost x (1 + markup/100), rounded half-up to cents."""
    return to_cents(cost * (HUNDRED + markup_percent) / HUNDRED)


def apportion(total: Decimal, parts: Mapping[K, Decimal]) -> dict[K, Decimal]:
    """Split `total` (in cents) in proportion to `parts` (exact, non-negative) so the cents
    add up to `total` exactly. Each part first gets its proportional amount rounded down to
    a cent; the cents left over go to the parts with the largest remainders (ties: in the
    order `parts` lists them)."""
    total_cents = int((to_cents(total) / CENT).to_integral_value())
    weights = {key: max(ZERO, value) for key, value in parts.items()}
    weight_sum = sum(weights.values(), ZERO)
    if not weights:
        return {}
    if weight_sum == 0:
        # Nothing to weigh by: the whole goes to the first part (callers list overhead last,
        # but with no weights at all there is no cost to split either).
        first = next(iter(weights))
        return {key: (CENT * total_cents if key == first else ZERO) for key in weights}
    exact = {key: Decimal(total_cents) * value / weight_sum for key, value in weights.items()}
    floors = {
        key: int(value.to_integral_value(rounding=ROUND_FLOOR)) for key, value in exact.items()
    }
    left = total_cents - sum(floors.values())
    order = sorted(weights, key=lambda key: exact[key] - floors[key], reverse=True)
    for key in order[:left]:
        floors[key] += 1
    return {key: CENT * cents for key, cents in floors.items()}
