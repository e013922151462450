"""Operation kinds and the handlers that carry them out."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from clusters.engine.context import OperationContext
    from clusters.models import Operation

Handler = Callable[["OperationContext"], "dict[str, Any] | None"]


@dataclass(frozen=True)
class Kind:
    name: str
    handler: Handler
    # Called once when an operation of this kind fails for good, to put the database
    # back in line with the cluster (e.g. mark an environment failed).
    on_failure: Callable[[Operation], None] | None = None


_KINDS: dict[str, Kind] = {}


def run_failure_hook(kind: Kind, operation: Operation) -> None:
    """A broken hook must not keep the next operation of the key from starting."""
    if kind.on_failure is None:
        return
    try:
        kind.on_failure(operation)
    except Exception:
        logging.getLogger(__name__).exception(
            "failure hook of %s for operation %s", kind.name, operation.pk
        )


def register(
    name: str, *, on_failure: Callable[[Operation], None] | None = None
) -> Callable[[Handler], Handler]:
    def decorator(handler: Handler) -> Handler:
        _KINDS[name] = Kind(name, handler, on_failure)
        return handler

    return decorator


def get_kind(name: str) -> Kind:
    try:
        return _KINDS[name]
    except KeyError:
        raise LookupError(f"No handler is registered for operations of kind {name!r}.") from None


def kinds() -> list[str]:
    return sorted(_KINDS)
