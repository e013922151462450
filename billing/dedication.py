"""The history of node pools' dedication (billing.models.PoolDedication): recorded whenever a
pool's `dedicated_client` changes, and read back as "who owned pool P on day D"."""

from __future__ import annotations

import bisect
import datetime
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from django.db.models.signals import post_init, post_save
from django.dispatch import receiver

from billing.models import PoolDedication
from billing.periods import local_today
from clusters.models import NodePool

_LOADED = "_billing_dedicated_client_id"


def pool_dedication_record(*, pool: NodePool, day: datetime.date | None = None) -> PoolDedication:
    """Record the pool's current dedication from `day` (default today) on. A second change
    on the same day replaces that day's row: a day has one mode."""
    row, _ = PoolDedication.objects.update_or_create(
        pool_id=pool.pk,
        effective_from=day or local_today(),
        defaults={"dedicated_client_id": pool.dedicated_client_id},
    )
    return row


@receiver(post_init, sender=NodePool)
def _remember_dedication(sender: type[NodePool], instance: NodePool, **kwargs: Any) -> None:
    instance.__dict__[_LOADED] = instance.__dict__.get("dedicated_client_id")


@receiver(post_save, sender=NodePool)
def _record_dedication(
    sender: type[NodePool], instance: NodePool, created: bool, **kwargs: Any
) -> None:
    if kwargs.get("raw"):
        return  # fixtures load history rows of their own
    if created or instance.dedicated_client_id != instance.__dict__.get(_LOADED):
        pool_dedication_record(pool=instance)
        instance.__dict__[_LOADED] = instance.dedicated_client_id


@dataclass
class DedicationBook:
    """Pools' dedication as history: the owner on a day is the latest row on or before it."""

    history: dict[int, tuple[list[datetime.date], list[int | None]]]

    @classmethod
    def load(cls, pool_ids: Collection[int] | None = None) -> DedicationBook:
        rows = PoolDedication.objects.order_by("pool_id", "effective_from")
        if pool_ids is not None:
            rows = rows.filter(pool_id__in=list(pool_ids))
        history: dict[int, tuple[list[datetime.date], list[int | None]]] = {}
        for pool_id, day, client_id in rows.values_list(
            "pool_id", "effective_from", "dedicated_client_id"
        ):
            days, owners = history.setdefault(pool_id, ([], []))
            days.append(day)
            owners.append(client_id)
        return cls(history)

    def owner(self, pool_id: int, day: datetime.date, default: int | None) -> int | None:
        """The client the pool was dedicated to on `day` (None: shared); `default` for days
        before the pool's history begins."""
        days, owners = self.history.get(pool_id, ((), ()))
        index = bisect.bisect_right(days, day) - 1
        return owners[index] if index >= 0 else default
