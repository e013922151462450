"""Cron schedules: five fields, with H tokens that spread a minute or hour per environment.

The grammar is the one a Kubernetes CronJob accepts (the API server parses schedules
with robfig/cron's standard parser): numbers, three-letter month and weekday names, `*`,
ranges, steps and lists; day-of-week 0-6 (Sunday is 0 only); no `L`, `W` or `#`. Hangar
is stricter where croniter would quietly misread (reversed ranges, steps beyond a field,
`?` outside the day fields, schedules that never run)."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cron_descriptor import Options as CronDescriptorOptions
from cron_descriptor import get_description
from croniter import CroniterBadDateError, croniter
from django.core.exceptions import ValidationError

from controlpanel.core.validators import _require_str

_CRON_FIELDS = ("minute", "hour", "day-of-month", "month", "day-of-week")
# Day-of-week stops at 6: the API server refuses 7 ("end of range (7) above maximum (6)").
_CRON_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 6))
_DAY_OF_WEEK = 4
# Quartz and cronie extensions croniter understands but the API server refuses.
_EXTENSIONS = {
    "L": "L (last day)",
    "W": "W (nearest weekday)",
    "#": "# (nth weekday of the month)",
}
_CRON_NAMES: tuple[dict[str, int], ...] = (
    {},
    {},
    {},
    {
        name: number
        for number, name in enumerate(
            ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
            start=1,
        )
    },
    {name: number for number, name in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))},
)
_CRON_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_H_FIELDS = (0, 1)
_H_RE = re.compile(r"H(?:\((?P<start>\d+)-(?P<end>\d+)\))?(?:/(?P<step>\d+))?", re.ASCII)
_CRON_ATOM = r"(?:\d+|[A-Za-z]{3})"
_CRON_ELEMENT_RE = re.compile(
    rf"(?:(?P<star>[*?])|(?P<start>{_CRON_ATOM})(?:-(?P<end>{_CRON_ATOM}))?)"
    r"(?:/(?P<step>\d+))?",
    re.ASCII,
)
# Seed used when validating a schedule that has no environment to hash against yet.
_VALIDATION_SEED = "hangar-cron-validation"


def _cron_error(field: int | None, message: str) -> ValidationError:
    prefix = f"{_CRON_FIELDS[field]}: " if field is not None else ""
    return ValidationError(f"{prefix}{message}", code="cron_schedule")


def _split_cron(value: str) -> list[str]:
    text = _require_str(value, "A cron schedule", "cron_schedule").strip()
    if not text:
        raise _cron_error(None, "The schedule is empty.")
    if text.startswith("@"):
        expanded = _CRON_MACROS.get(text.lower())
        if expanded is None:
            macros = ", ".join(_CRON_MACROS)
            raise _cron_error(
                None, f'"{text}" is not a supported macro; use one of {macros} or five fields.'
            )
        return expanded.split()
    fields = text.split()
    if len(fields) != 5:
        extra = " Seconds (a sixth field) are not supported." if len(fields) == 6 else ""
        raise _cron_error(
            None,
            f'"{text}" has {len(fields)} field{"s" if len(fields) != 1 else ""}; a schedule '
            "needs exactly 5: minute hour day-of-month month day-of-week." + extra,
        )
    return fields


def _h_hash(seed: str, field: int) -> int:
    digest = hashlib.sha256(f"{seed}:{field}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _resolve_h(element: str, field: int, seed: str) -> str:
    match = _H_RE.fullmatch(element)
    if not match:
        raise _cron_error(
            field, f'"{element}" is not a valid H expression; use H, H(a-b), H/n or H(a-b)/n.'
        )
    low, high = _CRON_RANGES[field]
    if match["start"] is not None:
        start, end = int(match["start"]), int(match["end"])
        for bound in (start, end):
            if not low <= bound <= high:
                raise _cron_error(field, f"{bound} is out of range {low}-{high}")
        if start > end:
            raise _cron_error(field, f"H({start}-{end}) is backwards; the start must be <= end.")
        low, high = start, end
    span = high - low + 1
    number = _h_hash(seed, field)
    if match["step"] is None:
        return str(low + number % span)
    step = int(match["step"])
    if not 1 <= step <= span:
        raise _cron_error(field, f"step {step} must be between 1 and {span} in {element!r}.")
    return ",".join(str(v) for v in range(low + number % step, high + 1, step))


def _cron_number(atom: str, field: int) -> int:
    if atom.isdigit():
        number = int(atom)
    else:
        names = _CRON_NAMES[field]
        if atom.lower() not in names:
            raise _cron_error(field, f'"{atom}" is not a number or a known name.')
        number = names[atom.lower()]
    low, high = _CRON_RANGES[field]
    if not low <= number <= high:
        hint = (
            "; Kubernetes counts Sunday as 0 only, write 0 or sun"
            if field == _DAY_OF_WEEK and number == 7
            else ""
        )
        raise _cron_error(field, f"{number} is out of range {low}-{high}{hint}")
    return number


def _check_cron_element(element: str, field: int) -> None:
    match = _CRON_ELEMENT_RE.fullmatch(element)
    if not match:
        used = [name for mark, name in _EXTENSIONS.items() if mark in element.upper()]
        if used:
            raise _cron_error(
                field,
                f'"{element}" uses {" and ".join(used)}, which Kubernetes CronJobs do not '
                "support; use numbers, names, *, ranges (a-b), steps (/n) and lists.",
            )
        raise _cron_error(field, f'"{element}" is not a valid value for this field.')
    if match["star"] == "?" and field not in (2, 4):
        raise _cron_error(field, '"?" is only allowed in the day-of-month and day-of-week fields.')
    low, high = _CRON_RANGES[field]
    if match["start"] is not None:
        start = _cron_number(match["start"], field)
        if match["end"] is not None:
            end = _cron_number(match["end"], field)
            # croniter quietly accepts reversed ranges with surprising results; refuse them.
            if start > end:
                raise _cron_error(
                    field, f"range {element} is backwards; the start must not exceed the end."
                )
    if match["step"] is not None:
        step = int(match["step"])
        span = high - low + 1
        if not 1 <= step <= span:
            raise _cron_error(field, f"step {step} must be between 1 and {span}.")


def resolve_cron_schedule(value: str, *, seed: str) -> str:
    """Resolve ``H`` tokens and macros and validate, returning a plain five-field expression.

    Rules: exactly five fields (minute hour day-of-month month day-of-week); six-field
    (seconds) expressions are rejected. Macros @yearly/@annually, @monthly, @weekly,
    @daily/@midnight and @hourly become their standard forms (``@hourly`` → ``0 * * * *``).

    ``H`` is allowed in the minute and hour fields only, alone or in comma lists:
    ``H`` is a value in the field's range (minute 0-59, hour 0-23) picked from
    sha256(f"{seed}:{field_index}"); ``H(a-b)`` picks within a..b inclusive; ``H/n`` starts at
    that value modulo n and repeats every n (minute ``H/15`` → e.g. ``7,22,37,52``);
    ``H(a-b)/n`` does the same within a..b. The same value and seed always resolve the same
    way, while different seeds (environments) spread their jobs over the hour/day.

    The result must be accepted by croniter and must fire at least once. Errors name the
    field, e.g. ``hour: 25 is out of range 0-23``. Error code ``cron_schedule``.
    """
    fields = _split_cron(value)
    resolved: list[str] = []
    for index, text in enumerate(fields):
        elements = text.split(",")
        parts: list[str] = []
        for element in elements:
            if not element:
                raise _cron_error(index, f'"{text}" has an empty item in its comma list.')
            # No month or weekday name starts with H, so this cannot misread "THU".
            if element.startswith("H"):
                if index not in _H_FIELDS:
                    raise _cron_error(index, "H is only supported in the minute and hour fields.")
                parts.append(_resolve_h(element, index, seed))
            else:
                _check_cron_element(element, index)
                parts.append(element)
        resolved.append(",".join(parts))

    expression = " ".join(resolved)
    _check_with_croniter(expression)
    return expression


def _check_with_croniter(expression: str) -> None:
    if not croniter.is_valid(expression):
        fields = expression.split()
        # Validate each field against an all-star template to say which one croniter dislikes.
        for index, text in enumerate(fields):
            probe = ["*"] * 5
            probe[index] = text
            if not croniter.is_valid(" ".join(probe)):
                raise _cron_error(index, f'"{text}" is not a valid value for this field.')
        raise _cron_error(None, f'"{expression}" is not a valid cron schedule.')
    try:
        croniter(expression, datetime(2000, 1, 1)).get_next(datetime)
    except CroniterBadDateError as exc:
        raise _cron_error(
            None, f'"{expression}" never runs (no date matches, e.g. 31 February).'
        ) from exc
    except (ValueError, KeyError) as exc:
        raise _cron_error(None, f'"{expression}" is not a valid cron schedule: {exc}.') from exc


def validate_cron_schedule(value: str) -> str:
    """Validate a cron schedule (see :func:`resolve_cron_schedule`) with a fixed seed.

    Returns the original text, stripped and with runs of whitespace collapsed to single spaces,
    keeping any ``H`` tokens so each environment resolves them with its own seed.
    """
    resolve_cron_schedule(value, seed=_VALIDATION_SEED)
    return " ".join(value.split())


def describe_cron_schedule(value: str, *, seed: str | None = None) -> str:
    """Describe a cron schedule in English, e.g. ``"At 03:07, only on Sunday"``.

    ``H`` tokens are resolved with ``seed`` when given. Without a seed they are resolved with a
    fixed example seed and the description ends with a note saying the H-resolved minute/hour
    is chosen per environment, so the times shown are an example. Times use the 24-hour clock.
    """
    expression = resolve_cron_schedule(value, seed=seed if seed is not None else _VALIDATION_SEED)
    options = CronDescriptorOptions()
    options.use_24hour_time_format = True
    try:
        description = get_description(expression, options)
    except Exception as exc:  # cron_descriptor raises a variety of its own exception types
        raise _cron_error(None, f'"{expression}" cannot be described: {exc}.') from exc
    if seed is None:
        fields = _split_cron(value)
        hashed = [
            _CRON_FIELDS[i]
            for i in _H_FIELDS
            if any(element.startswith("H") for element in fields[i].split(","))
        ]
        if hashed:
            which = " and ".join(hashed)
            verb = "are" if len(hashed) > 1 else "is"
            description += f" (example: the {which} marked H {verb} chosen per environment)"
    return description


def next_cron_runs(
    value: str,
    *,
    seed: str,
    count: int = 5,
    start: datetime | None = None,
    tz: str = "UTC",
) -> list[datetime]:
    """Return the next ``count`` run times of a schedule as timezone-aware datetimes in ``tz``.

    ``H`` is resolved with ``seed``. ``start`` defaults to now; a naive ``start`` is taken to be
    in ``tz``, an aware one is converted to it. The schedule is interpreted in ``tz`` (so
    ``0 3 * * *`` with ``Europe/Amsterdam`` runs at 03:00 local time across DST changes).
    """
    if count < 0:
        raise ValueError("count must not be negative")
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(f'"{tz}" is not a known time zone.', code="timezone") from exc
    expression = resolve_cron_schedule(value, seed=seed)
    if start is None:
        start = datetime.now(zone)
    elif start.tzinfo is None:
        start = start.replace(tzinfo=zone)
    else:
        start = start.astimezone(zone)
    iterator = croniter(expression, start)
    return [iterator.get_next(datetime) for _ in range(count)]
