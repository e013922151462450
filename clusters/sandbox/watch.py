"""``?watch=true``: a stream of JSON lines, one WatchEvent per write, like the apiserver."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

from .errors import status_body
from .resources import ResourceType
from .selectors import field_matcher, label_matcher
from .store import Store

MAX_TIMEOUT = 1800.0


def _line(kind: str, obj: dict[str, Any]) -> bytes:
    return (json.dumps({"type": kind, "object": obj}, separators=(",", ":")) + "\n").encode()


def watch_stream(
    store: Store,
    rt: ResourceType,
    namespace: str | None,
    query: dict[str, str],
    stopping: threading.Event,
    floor: int = 0,
) -> Iterator[bytes]:
    """Events until ``timeoutSeconds`` passes, the server stops or the client leaves.

    A watch from a resourceVersion older than what the server still remembers (its event
    history, which begins at ``floor``, the revision it started serving at, like the API
    server's watch cache) gets a single ERROR event with a 410 Expired Status.

    Not a generator itself, so that a bad selector fails before any header is sent.
    """
    labels = label_matcher(query.get("labelSelector"))
    fields = field_matcher(query.get("fieldSelector"), rt.field_selectors)

    def selected(obj: dict[str, Any] | None) -> bool:
        return obj is not None and labels(obj) and fields(obj)

    since = query.get("resourceVersion") or ""
    with store.lock:
        if since in ("", "0"):
            initial = [o for o in store.list(rt.group, rt.plural, namespace) if selected(o)]
            cursor = store.revision
        else:
            initial = []
            cursor = int(since) if since.isdigit() else 0
            oldest = max(store.oldest_revision() - 1, floor)
            if cursor < oldest:
                message = f"too old resource version: {cursor} ({oldest})"
                return iter([_line("ERROR", status_body(410, "Expired", message))])
    return_after = time.monotonic() + min(
        float(query.get("timeoutSeconds") or MAX_TIMEOUT), MAX_TIMEOUT
    )
    return _follow(store, rt, namespace, initial, cursor, selected, stopping, return_after)


def _follow(
    store: Store,
    rt: ResourceType,
    namespace: str | None,
    initial: list[dict[str, Any]],
    cursor: int,
    selected: Any,
    stopping: threading.Event,
    return_after: float,
) -> Iterator[bytes]:
    for obj in initial:
        yield _line("ADDED", obj)
    while not stopping.is_set():
        remaining = return_after - time.monotonic()
        if remaining <= 0:
            return
        with store.changed:
            if store.revision <= cursor:
                store.changed.wait(timeout=min(0.5, remaining))
            pending = [e for e in store.events if e.revision > cursor]
        for event in pending:
            cursor = event.revision
            if (event.group, event.plural) != rt.key:
                continue
            if namespace is not None and event.namespace != namespace:
                continue
            was = selected(event.previous)
            now = event.type != "DELETED" and selected(event.obj)
            if event.type == "DELETED":
                if was:
                    yield _line("DELETED", event.obj)
            elif now:
                yield _line("MODIFIED" if was else "ADDED", event.obj)
            elif was:
                # An object that stops matching the selector leaves the watch.
                yield _line("DELETED", event.obj)
