"""Domain events other parts subscribe to (webhooks, alerts): "operation.finished",
"backup.failed", "cron.failed". Publishers don't know who listens."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.dispatch import Signal

# Sent with client (a Client), event (str), data (a JSON-able dict).
event_published = Signal()

EVENTS = ("operation.finished", "backup.failed", "cron.failed")


def publish(*, client: Any, event: str, data: dict[str, Any]) -> None:
    """Announce an event of `client`'s once the current transaction commits."""
    if client is None:
        return
    if event not in EVENTS:
        raise ValueError(f"Unknown event {event!r}.")
    transaction.on_commit(
        lambda: event_published.send(sender=None, client=client, event=event, data=data)
    )
