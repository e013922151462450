"""Replica counts and autoscaling bounds."""

from __future__ import annotations

from django.core.exceptions import ValidationError

MAX_REPLICAS = 50
CPU_TARGET_MIN = 10
CPU_TARGET_MAX = 95


def _is_int(value: object) -> bool:
    # bool is an int subclass, but True replicas is a bug upstream, not a count.
    return isinstance(value, int) and not isinstance(value, bool)


def validate_replicas(value: int) -> int:
    """Validate a replica count: a whole number from 0 (stopped) to ``MAX_REPLICAS``.

    Booleans and non-integers are rejected. Code ``replicas``.
    """
    if not _is_int(value):
        raise ValidationError(f"Replicas must be a whole number, not {value!r}.", code="replicas")
    if not 0 <= value <= MAX_REPLICAS:
        raise ValidationError(
            f"{value} replicas is out of range; use 0 (stopped) to {MAX_REPLICAS}.",
            code="replicas",
        )
    return value


def validate_autoscale(*, min_replicas: int, max_replicas: int, cpu_target: int) -> None:
    """Validate autoscaling settings.

    Rules: 1 <= minimum replicas <= maximum replicas <= ``MAX_REPLICAS``, and the CPU target is
    10 to 95 percent. Raises a ``ValidationError`` dict keyed ``autoscale_min``,
    ``autoscale_max`` and ``autoscale_cpu_target`` (code ``autoscale``).
    """
    errors: dict[str, ValidationError] = {}
    min_ok = _is_int(min_replicas)
    max_ok = _is_int(max_replicas)
    if not min_ok:
        errors["autoscale_min"] = ValidationError(
            f"Minimum replicas must be a whole number, not {min_replicas!r}.", code="autoscale"
        )
    elif not 1 <= min_replicas <= MAX_REPLICAS:
        errors["autoscale_min"] = ValidationError(
            f"Minimum replicas {min_replicas} is out of range; use 1 to {MAX_REPLICAS}.",
            code="autoscale",
        )
    if not max_ok:
        errors["autoscale_max"] = ValidationError(
            f"Maximum replicas must be a whole number, not {max_replicas!r}.", code="autoscale"
        )
    elif not 1 <= max_replicas <= MAX_REPLICAS:
        errors["autoscale_max"] = ValidationError(
            f"Maximum replicas {max_replicas} is out of range; use 1 to {MAX_REPLICAS}.",
            code="autoscale",
        )
    elif min_ok and max_replicas < min_replicas:
        errors["autoscale_max"] = ValidationError(
            f"Maximum replicas {max_replicas} is less than the minimum {min_replicas}; the "
            "maximum must be at least the minimum.",
            code="autoscale",
        )
    if not _is_int(cpu_target):
        errors["autoscale_cpu_target"] = ValidationError(
            f"The CPU target must be a whole number of percent, not {cpu_target!r}.",
            code="autoscale",
        )
    elif not CPU_TARGET_MIN <= cpu_target <= CPU_TARGET_MAX:
        errors["autoscale_cpu_target"] = ValidationError(
            f"A CPU target of {cpu_target}% is out of range; use {CPU_TARGET_MIN} to "
            f"{CPU_TARGET_MAX} percent.",
            code="autoscale",
        )
    if errors:
        raise ValidationError(errors)
