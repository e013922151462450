"""CronJob schedules as the API server parses them: robfig/cron's standard parser (five
fields or a descriptor), with its error texts, which the server returns verbatim."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
_DAYS = {
    name: number for number, name in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))
}
# (min, max, names) of minute, hour, day of month, month, day of week.
_BOUNDS = ((0, 59, None), (0, 23, None), (1, 31, None), (1, 12, _MONTHS), (0, 6, _DAYS))
_DESCRIPTORS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
_DURATION = re.compile(r"([0-9]*(\.[0-9]*)?(ns|us|µs|ms|s|m|h))+")


class ScheduleError(ValueError):
    pass


def _go_int(text: str) -> int:
    """``strconv.Atoi`` then robfig's ``mustParseInt``."""
    if not re.fullmatch(r"[+-]?\d+", text):
        raise ScheduleError(
            f'failed to parse int from {text}: strconv.Atoi: parsing "{text}": invalid syntax'
        )
    number = int(text)
    if number < 0:
        raise ScheduleError(f"negative number ({number}) not allowed: {text}")
    return number


def _int_or_name(text: str, names: dict[str, int] | None) -> int:
    if names and text.lower() in names:
        return names[text.lower()]
    return _go_int(text)


def _check_range(expr: str, low: int, high: int, names: dict[str, int] | None) -> None:
    range_and_step = expr.split("/")
    low_and_high = range_and_step[0].split("-")
    if low_and_high[0] in ("*", "?"):
        start, end = low, high
    else:
        start = _int_or_name(low_and_high[0], names)
        if len(low_and_high) == 1:
            end = start
        elif len(low_and_high) == 2:
            end = _int_or_name(low_and_high[1], names)
        else:
            raise ScheduleError(f"too many hyphens: {expr}")
    step = 1
    if len(range_and_step) == 2:
        step = _go_int(range_and_step[1])
        if len(low_and_high) == 1:
            end = high  # "N/step" means "N-max/step"
    elif len(range_and_step) > 2:
        raise ScheduleError(f"too many slashes: {expr}")
    if start < low:
        raise ScheduleError(f"beginning of range ({start}) below minimum ({low}): {expr}")
    if end > high:
        raise ScheduleError(f"end of range ({end}) above maximum ({high}): {expr}")
    if start > end:
        raise ScheduleError(f"beginning of range ({start}) beyond end of range ({end}): {expr}")
    if step == 0:
        raise ScheduleError(f"step of range should be a positive number: {expr}")


def parse_standard(spec: str) -> None:
    """Raise ScheduleError with robfig's message if ``cron.ParseStandard`` would refuse."""
    if not spec:
        raise ScheduleError("empty spec string")
    if spec.startswith(("TZ=", "CRON_TZ=")):
        space = spec.find(" ")
        location = spec[spec.index("=") + 1 : space if space >= 0 else len(spec)]
        try:
            ZoneInfo(location)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ScheduleError(
                f"provided bad location {location}: unknown time zone {location}"
            ) from exc
        spec = spec[space:].strip() if space >= 0 else ""
    if spec.startswith("@"):
        if spec in _DESCRIPTORS:
            return
        if spec.startswith("@every "):
            duration = spec[len("@every ") :]
            if not _DURATION.fullmatch(duration) and duration != "0":
                raise ScheduleError(
                    f'failed to parse duration {spec}: time: invalid duration "{duration}"'
                )
            return
        raise ScheduleError(f"unrecognized descriptor: {spec}")
    fields = spec.split()
    if len(fields) != 5:
        raise ScheduleError(f"expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]")
    for text, (low, high, names) in zip(fields, _BOUNDS, strict=True):
        for expr in (part for part in text.split(",") if part):
            _check_range(expr, low, high, names)


def schedule_errors(schedule: str) -> list[str]:
    """What ``validateScheduleFormat`` says of a CronJob's schedule (no timeZone set)."""
    problems = []
    try:
        parse_standard(schedule)
    except ScheduleError as exc:
        problems.append(str(exc))
    if "TZ" in schedule:
        problems.append("cannot use TZ or CRON_TZ in schedule, use timeZone field instead")
    return problems
