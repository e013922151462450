"""Reading the audit log: who may see which events, and the CSV export.

The API's list and its CSV export go through `audit_events_for_user`, so both show the
same rows: agency staff every event, a client's owners their client's (developers and
viewers none, as `Action.VIEW_AUDIT` says).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from controlpanel.core.models import AuditEvent, Client
from controlpanel.core.permissions import Action, can
from controlpanel.core.tenancy import is_agency_staff

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from controlpanel.core.models import User

CSV_COLUMNS = (
    "id",
    "created_at",
    "actor",
    "actor_id",
    "client",
    "client_id",
    "action",
    "target_type",
    "target_id",
    "target",
    "changes",
    "ip_address",
    "user_agent",
)
# Spreadsheets run cells that start with these as formulas; labels and user agents are
# user input (OWASP "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_CHUNK = 2000


def audit_events_for_user(user: User | AnonymousUser | None) -> QuerySet[AuditEvent]:
    """The events `user` may read."""
    queryset = AuditEvent.objects.for_user(user)
    if user is None or is_agency_staff(user):
        return queryset
    allowed = [
        client.pk
        for client in Client.objects.for_user(user)
        if can(user, Action.VIEW_AUDIT, client)
    ]
    return queryset.filter(client_id__in=allowed)


def audit_events_filter(
    events: QuerySet[AuditEvent],
    *,
    actor: str = "",
    action: str = "",
    since: date | None = None,
    until: date | None = None,
) -> QuerySet[AuditEvent]:
    """`events` narrowed as the pages' filter forms ask: who (part of the actor's name),
    what (an action's start or part of the target), and days in the current time zone
    (`until` included)."""
    if actor:
        events = events.filter(actor_label__icontains=actor)
    if action:
        events = events.filter(Q(action__startswith=action) | Q(target_label__icontains=action))
    if since:
        events = events.filter(created_at__gte=_day_start(since))
    if until:
        events = events.filter(created_at__lt=_day_start(until) + timedelta(days=1))
    return events


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def audit_event_row(event: AuditEvent) -> list[str]:
    return [
        _cell(value)
        for value in (
            event.pk,
            event.created_at.isoformat(),
            event.actor_label,
            event.actor_id,
            event.client.name if event.client_id else "",
            event.client_id,
            event.action,
            event.target_type,
            event.target_id,
            event.target_label,
            json.dumps(event.changes, sort_keys=True, default=str),
            event.ip_address,
            event.user_agent,
        )
    ]


class _Echo:
    """A file-like object whose write returns the line, for streaming csv.writer output."""

    def write(self, value: str) -> str:
        return value


def audit_events_csv(events: Iterable[AuditEvent] | QuerySet[AuditEvent]) -> Iterator[str]:
    """The events as CSV lines (a header first), oldest first for a query set; streamed in
    chunks so a year of events does not sit in memory."""
    writer = csv.writer(_Echo(), lineterminator="\n")
    yield writer.writerow(CSV_COLUMNS)
    if isinstance(events, QuerySet):
        events = (
            events.select_related("client").order_by("created_at", "id").iterator(chunk_size=_CHUNK)
        )
    for event in events:
        yield writer.writerow(audit_event_row(event))
