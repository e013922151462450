"""A record of one applied object: what Hangar sent, and what the server answered."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Applied:
    """One record: what was sent (digest) and what the server answered."""

    digest: str
    uid: str = ""
    resource_version: str = ""
    generation: int | None = None

    @classmethod
    def confirmed(cls, digest: str, live: Mapping[str, Any] | None) -> Applied:
        """The record of a write whose answer was `live`."""
        meta = (live or {}).get("metadata") or {}
        generation = meta.get("generation")
        return cls(
            digest=digest,
            uid=str(meta.get("uid") or ""),
            resource_version=str(meta.get("resourceVersion") or ""),
            generation=int(generation) if generation is not None else None,
        )

    def matches(self, live: Mapping[str, Any] | None) -> bool:
        """Whether `live` is still the object this record's write produced: the same
        object (uid) with the same spec (generation, which controllers' status writes
        leave alone) or, for kinds without a generation, the same resourceVersion."""
        if live is None:
            return False
        meta = live.get("metadata") or {}
        if not self.uid or meta.get("uid") != self.uid:
            return False
        if self.generation is not None and meta.get("generation") is not None:
            return int(meta["generation"]) == self.generation
        return bool(self.resource_version) and meta.get("resourceVersion") == self.resource_version
