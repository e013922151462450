"""Calendar periods in the agency's time zone (settings.TIME_ZONE).

Invoices cover calendar months and usage rolls up by calendar day, both as the agency's
clock shows them: a month in Amsterdam starts at local midnight, and October has 745 hours
there. Instants are stored in UTC; these helpers turn local dates into UTC boundaries.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.utils import timezone


def month_start(day: datetime.date) -> datetime.date:
    """The first day of `day`'s month."""
    return day.replace(day=1)


def next_month(month: datetime.date) -> datetime.date:
    """The first day of the month after `month`'s."""
    first = month_start(month)
    return (first + datetime.timedelta(days=32)).replace(day=1)


def last_months(count: int, *, until: datetime.date | None = None) -> list[datetime.date]:
    """The `count` months ending with `until`'s month (default: the current month)."""
    month = month_start(until or local_today())
    months = [month]
    for _ in range(count - 1):
        month = month_start(month - datetime.timedelta(days=1))
        months.append(month)
    return months[::-1]


def local_midnight(day: datetime.date) -> datetime.datetime:
    """The instant `day` begins on the agency's clock."""
    return timezone.make_aware(
        datetime.datetime.combine(day, datetime.time.min), timezone.get_default_timezone()
    )


def day_bounds(day: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    return local_midnight(day), local_midnight(day + datetime.timedelta(days=1))


def month_bounds(month: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    return local_midnight(month_start(month)), local_midnight(next_month(month))


def hours_between(start: datetime.datetime, end: datetime.datetime) -> Decimal:
    """Elapsed hours (daylight-saving changes included), never negative."""
    # Aware datetimes sharing a tzinfo subtract as wall-clock times; UTC counts real time.
    elapsed = end.astimezone(datetime.UTC) - start.astimezone(datetime.UTC)
    seconds = max(0, int(elapsed.total_seconds()))
    return Decimal(seconds) / 3600


def month_hours(month: datetime.date) -> Decimal:
    return hours_between(*month_bounds(month))


def local_date(instant: datetime.datetime) -> datetime.date:
    return timezone.localtime(instant, timezone.get_default_timezone()).date()


def local_today() -> datetime.date:
    return local_date(timezone.now())


def month_label(month: datetime.date) -> str:
    return month.strftime("%B %Y")
