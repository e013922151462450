"""The periodic TTL sweep of previews (settings.CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from celery import shared_task

from controlpanel.core.locks import one_at_a_time
from sites.previews.services import previews_expire


@shared_task(name="sites.expire_previews")
@one_at_a_time
def expire_previews_task() -> dict[str, int]:
    """Destroy the previews whose time to live passed since their last deploy."""
    return {"destroyed": len(previews_expire())}
