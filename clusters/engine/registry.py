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
    # Called once when an operation of this kind is cancelled before it ran, or stopped
    # while running: what it had marked as under way goes back to what it was.
    on_cancel: Callable[[Operation], None] | None = None
    # What a person does to the client to cancel it: the permission of the action itself
    # (a destroy is cancelled by whoever may destroy). None: the engine's default.
    permission: str | None = None
    # A running operation of this kind may be asked to stop: its handler stops at its next
    # step or poll and undoes what it started (a deploy rolls back, a Job is deleted).
    abortable: bool = False
    # What people read for the kind ("Deploy", "Rollback" come from params; see labels).
    label: str = ""


_KINDS: dict[str, Kind] = {}


def _run_hook(kind: Kind, hook: Callable[[Operation], None] | None, operation: Operation) -> None:
    """A broken hook must not keep the next operation of the key from starting."""
    if hook is None:
        return
    try:
        hook(operation)
    except Exception:
        logging.getLogger(__name__).exception(
            "hook of %s for operation %s", kind.name, operation.pk
        )


def run_failure_hook(kind: Kind, operation: Operation) -> None:
    _run_hook(kind, kind.on_failure, operation)


def run_cancel_hook(kind: Kind, operation: Operation) -> None:
    _run_hook(kind, kind.on_cancel, operation)


def register(
    name: str,
    *,
    on_failure: Callable[[Operation], None] | None = None,
    on_cancel: Callable[[Operation], None] | None = None,
    permission: str | None = None,
    abortable: bool = False,
    label: str = "",
) -> Callable[[Handler], Handler]:
    def decorator(handler: Handler) -> Handler:
        _KINDS[name] = Kind(name, handler, on_failure, on_cancel, permission, abortable, label)
        return handler

    return decorator


def find_kind(name: str) -> Kind | None:
    return _KINDS.get(name)


def get_kind(name: str) -> Kind:
    try:
        return _KINDS[name]
    except KeyError:
        raise LookupError(f"No handler is registered for operations of kind {name!r}.") from None


def kinds() -> list[str]:
    return sorted(_KINDS)
