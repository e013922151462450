"""Kubernetes CPU and memory quantities: parsing, bounds and requests within limits.

In `clusters` because node capacity is read with the same rules that check what a user
types for an environment."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError

from controlpanel.core.validators import _require_str

_CPU_RE = re.compile(r"(?P<number>\d+(?:\.\d+)?)(?P<unit>[A-Za-z]*)", re.ASCII)
_CPU_MIN_MILLICORES = 10
_CPU_MAX_MILLICORES = 64_000
_MEMORY_RE = re.compile(r"(?P<number>\d+(?:\.\d+)?)(?P<unit>[A-Za-z]*)", re.ASCII)
_MEMORY_UNITS = {
    "": 1,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
}
_MEMORY_MIN_BYTES = 16 * 2**20
_MEMORY_MAX_BYTES = 256 * 2**30


def parse_cpu(value: str) -> int:
    """Parse a Kubernetes CPU quantity and return millicores.

    Accepted: whole or decimal cores (``"1"``, ``"0.5"``, ``"1.5"``) or integer millicores
    (``"250m"``). The value must be greater than zero and a whole number of millicores
    (``"1.2345"`` is too precise). No other units, signs or exponents. Code ``cpu_quantity``.
    """
    text = _require_str(value, "A CPU quantity", "cpu_quantity").strip()
    if text.startswith("-"):
        raise ValidationError(
            f'CPU "{text}" is negative; give a positive amount such as 250m or 1.',
            code="cpu_quantity",
        )
    match = _CPU_RE.fullmatch(text)
    if not match:
        raise ValidationError(
            f'"{text}" is not a CPU quantity; give cores (e.g. 1 or 0.5) or millicores '
            "(e.g. 250m).",
            code="cpu_quantity",
        )
    unit = match["unit"]
    if unit not in ("", "m"):
        raise ValidationError(
            f'"{unit}" is not a CPU unit in "{text}"; the only unit is m (millicores), '
            "e.g. 250m, or give whole or decimal cores such as 1.5.",
            code="cpu_quantity",
        )
    millicores = Decimal(match["number"]) * (1 if unit == "m" else 1000)
    if millicores != millicores.to_integral_value():
        raise ValidationError(
            f'CPU "{text}" is more precise than 1m (a thousandth of a core); round it, '
            "e.g. to 3 decimal places of a core.",
            code="cpu_quantity",
        )
    if millicores <= 0:
        raise ValidationError(f'CPU "{text}" must be greater than zero.', code="cpu_quantity")
    return int(millicores)


def _format_cpu(millicores: int) -> str:
    return str(millicores // 1000) if millicores % 1000 == 0 else f"{millicores}m"


def validate_cpu(value: str) -> str:
    """Validate a CPU quantity between 10m and 64 cores and return its canonical form.

    Canonical form: whole cores as a plain integer (``"1"``, ``"2"``), anything else in
    millicores (``"0.5"`` → ``"500m"``, ``"1.5"`` → ``"1500m"``, ``"1000m"`` → ``"1"``), which is
    how kubectl shows CPU. Code ``cpu_quantity``.
    """
    millicores = parse_cpu(value)
    if millicores < _CPU_MIN_MILLICORES:
        raise ValidationError(
            f'CPU "{value.strip()}" is too small; the minimum is {_CPU_MIN_MILLICORES}m.',
            code="cpu_quantity",
        )
    if millicores > _CPU_MAX_MILLICORES:
        raise ValidationError(
            f'CPU "{value.strip()}" is too large; the maximum is '
            f"{_CPU_MAX_MILLICORES // 1000} cores.",
            code="cpu_quantity",
        )
    return _format_cpu(millicores)


def _memory_unit_hint(unit: str) -> str:
    if unit == "m":
        return " (in Kubernetes m means thousandths of a byte; did you mean Mi or M?)"
    if unit.lower().endswith("b"):
        # "MB", "gb", "GiB": people write byte units the way disks are labelled.
        stem = unit[:-1].lower()
        for decimal in ("k", "M", "G", "T"):
            binary = f"{decimal.upper()}i"
            if stem == decimal.lower():
                return f" (write {decimal} or {binary})"
            if stem == binary.lower():
                return f" (write {binary})"
    for candidate in _MEMORY_UNITS:
        if candidate and unit.lower() == candidate.lower():
            return f" (units are case-sensitive; did you mean {candidate}?)"
    return ""


def parse_memory(value: str) -> int:
    """Parse a Kubernetes memory quantity and return bytes.

    Accepted: a number of bytes, optionally with a binary suffix Ki, Mi, Gi, Ti (powers of 1024)
    or a decimal suffix k, M, G, T (powers of 1000). Decimal fractions are allowed
    (``"1.5Gi"``) if the result is a whole number of bytes. Suffixes are case-sensitive; "MB",
    "gb", signs and exponents are rejected. The value must be greater than zero. Code
    ``memory_quantity``.
    """
    text = _require_str(value, "A memory quantity", "memory_quantity").strip()
    if text.startswith("-"):
        raise ValidationError(
            f'Memory "{text}" is negative; give a positive amount such as 512Mi.',
            code="memory_quantity",
        )
    match = _MEMORY_RE.fullmatch(text)
    if not match:
        raise ValidationError(
            f'"{text}" is not a memory quantity; give a number with an optional unit, '
            "e.g. 512Mi or 1.5Gi.",
            code="memory_quantity",
        )
    unit = match["unit"]
    multiplier = _MEMORY_UNITS.get(unit)
    if multiplier is None:
        raise ValidationError(
            f'"{unit}" is not a memory unit in "{text}"{_memory_unit_hint(unit)}; use Ki, Mi, '
            "Gi, Ti (binary) or k, M, G, T (decimal).",
            code="memory_quantity",
        )
    try:
        amount = Decimal(match["number"]) * multiplier
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only plain decimals
        raise ValidationError(f'"{text}" is not a number.', code="memory_quantity") from exc
    if amount != amount.to_integral_value():
        raise ValidationError(
            f'Memory "{text}" is not a whole number of bytes; use a larger unit or fewer '
            "decimal places.",
            code="memory_quantity",
        )
    if amount <= 0:
        raise ValidationError(f'Memory "{text}" must be greater than zero.', code="memory_quantity")
    return int(amount)


def validate_memory(value: str) -> str:
    """Validate a memory quantity between 16Mi and 256Gi; returns it stripped.

    The user's unit is kept (not converted) because "512Mi" and "1G" read better than bytes.
    Code ``memory_quantity``.
    """
    amount = parse_memory(value)
    text = value.strip()
    if amount < _MEMORY_MIN_BYTES:
        raise ValidationError(
            f'Memory "{text}" is too small; the minimum is 16Mi.', code="memory_quantity"
        )
    if amount > _MEMORY_MAX_BYTES:
        raise ValidationError(
            f'Memory "{text}" is too large; the maximum is 256Gi.', code="memory_quantity"
        )
    return text


def validate_request_within_limit(
    *, request_cpu: str, limit_cpu: str, request_memory: str, limit_memory: str
) -> None:
    """Check that the CPU and memory requests do not exceed their limits.

    Raises ``ValidationError`` with a dict keyed ``cpu_limit`` / ``memory_limit`` (code
    ``request_exceeds_limit``). A pair is skipped when either side is empty (no limit) or does
    not parse: the per-field validators report those on their own fields, following Django's
    convention that ``clean()`` runs even when field validation failed.
    """
    errors: dict[str, ValidationError] = {}
    pairs = (
        ("cpu_limit", "CPU", parse_cpu, request_cpu, limit_cpu),
        ("memory_limit", "Memory", parse_memory, request_memory, limit_memory),
    )
    for field, label, parse, request, limit in pairs:
        if not request or not limit:
            continue
        try:
            request_amount, limit_amount = parse(request), parse(limit)
        except ValidationError:
            continue
        if request_amount > limit_amount:
            errors[field] = ValidationError(
                f"{label} request {request.strip()} is greater than the {label} limit "
                f"{limit.strip()}; the request must not exceed the limit.",
                code="request_exceeds_limit",
            )
    if errors:
        raise ValidationError(errors)


# Every suffix of the Kubernetes quantity grammar (resource.Quantity), as a multiplier.
_QUANTITY_SUFFIXES = {
    **{unit: Decimal(size) for unit, size in _MEMORY_UNITS.items()},
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "P": Decimal(10**15),
    "E": Decimal(10**18),
    "Pi": Decimal(2**50),
    "Ei": Decimal(2**60),
}
_QUANTITY_RE = re.compile(
    r"(?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:(?P<suffix>[a-zA-Z]{0,2})|[eE](?P<exp>[+-]?\d+))",
    re.ASCII,
)


def quantity_value(value: object) -> Decimal | None:
    """The value of any Kubernetes quantity (``"3Gi"``, ``"3072Mi"``, ``"1"``, ``"1000m"``,
    ``"1e3"``, a bare number), or None when `value` is not one. The API server stores
    quantities in its own canonical form (``3072Mi`` becomes ``3Gi``, ``1000m`` becomes
    ``1``), so quantities are compared by this value, never by their text."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return Decimal(str(value))
    if not isinstance(value, str):
        return None
    match = _QUANTITY_RE.fullmatch(value.strip())
    if not match:
        return None
    number = Decimal(match["number"])
    if match["exp"] is not None:
        return number.scaleb(int(match["exp"]))
    multiplier = _QUANTITY_SUFFIXES.get(match["suffix"] or "")
    return None if multiplier is None else number * multiplier
