"""Shared ground of the fake controllers: owned objects, delays, conditions, events."""

from __future__ import annotations

from typing import Any

from .meta import annotation, random_suffix, rfc3339
from .operations import Api
from .resources import ResourceType


def is_ready(pod: dict[str, Any]) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def set_condition(
    conditions: list[dict[str, Any]],
    kind: str,
    status: str,
    reason: str,
    message: str,
    with_update_time: bool = True,
) -> None:
    """Upsert a condition, keeping its timestamps when nothing about it changed."""
    now = rfc3339()
    current = next((c for c in conditions if c.get("type") == kind), None)
    if current and (current["status"], current.get("reason"), current.get("message")) == (
        status,
        reason,
        message,
    ):
        return
    entry: dict[str, Any] = {"type": kind, "status": status}
    if with_update_time:
        entry["lastUpdateTime"] = now
    entry["lastTransitionTime"] = (
        current["lastTransitionTime"] if current and current["status"] == status else now
    )
    entry.update(reason=reason, message=message)
    if current:
        conditions[conditions.index(current)] = entry
    else:
        conditions.append(entry)


class Reconciler:
    """Base of one controller; ``reconcile`` is called with the store lock held."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.store = api.store
        # (uid, generation) -> monotonic time this controller first saw it.
        self._seen: dict[tuple[str, int], float] = {}
        # (uid, generation) of owners whose refused pod creation has been reported.
        self._refusals_told: set[tuple[str, int]] = set()

    def _rt(self, group: str, version: str, plural: str) -> ResourceType:
        rt = self.api.registry.by_path(group, version, plural)
        assert rt is not None  # noqa: S101 - built-in kinds
        return rt

    def _owned(self, group: str, plural: str, namespace: str, uid: str) -> list[dict[str, Any]]:
        # Through the store's owner index: proportional to what is owned, not to the kind.
        owned = self.store.owned(group, plural, uid)
        return [o for o in owned if o["metadata"].get("namespace", "") == namespace]

    def _delay(self, obj: dict[str, Any], key: str, default: float) -> float:
        raw = annotation(obj, key)
        try:
            return float(raw) if raw is not None else default
        except ValueError:
            return default

    def forget_all_but(self, uids: set[str]) -> None:
        """Drop timing notes about objects that no longer exist."""
        self._seen = {key: at for key, at in self._seen.items() if key[0] in uids}

    def _first_seen(self, obj: dict[str, Any], now: float) -> float:
        meta = obj["metadata"]
        return self._seen.setdefault((meta["uid"], int(meta.get("generation", 0))), now)

    def refused_by_admission(
        self, owner: dict[str, Any], pod: dict[str, Any], component: str
    ) -> bool:
        """Whether Pod Security admission refuses the pod ``owner`` is about to create; the
        first refusal is recorded as a FailedCreate event on the owner, as upstream's
        controllers do (which then retry with a back-off)."""
        refusal = self.api.pod_security_refusal(pod["metadata"]["namespace"], pod)
        if refusal is None:
            return False
        key = (owner["metadata"]["uid"], int(owner["metadata"].get("generation", 0)))
        if key not in self._refusals_told:
            self._refusals_told.add(key)
            self.emit(
                owner, "Warning", "FailedCreate", f"Error creating: {refusal.message}", component
            )
        return True

    def emit(
        self, involved: dict[str, Any], kind: str, reason: str, message: str, component: str
    ) -> None:
        """Record an Event about ``involved``, as controllers do."""
        meta = involved["metadata"]
        namespace = meta.get("namespace") or "default"
        now = rfc3339()
        event = {
            "metadata": {"name": f"{meta['name']}.{random_suffix(16)}", "namespace": namespace},
            "involvedObject": {
                "kind": involved["kind"],
                "namespace": meta.get("namespace", ""),
                "name": meta["name"],
                "uid": meta["uid"],
                "apiVersion": involved["apiVersion"],
                "resourceVersion": meta.get("resourceVersion", ""),
            },
            "reason": reason,
            "message": message,
            "source": {"component": component},
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
            "type": kind,
            "eventTime": None,
            "reportingComponent": component,
            "reportingInstance": "",
        }
        if self.store.get("", "namespaces", "", namespace) is not None:
            self.api.system_create(self._rt("", "v1", "events"), namespace, event)
