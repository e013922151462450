"""Scheduler and kubelet, played: a new pod is bound to a node, given IPs and started."""

from __future__ import annotations

import calendar
import time
from typing import Any

from .defaults import Allocator
from .store import Store
from .workloads import UNSCHEDULABLE, ImageTags, pod_status


class Scheduling:
    store: Store
    allocator: Allocator
    tags: ImageTags
    _node_turn: int

    def _next_node(self) -> str:
        """Round-robin over the Nodes, like a scheduler with nothing else to weigh."""
        names: list[str] = [n["metadata"]["name"] for n in self.store.list("", "nodes")]
        if not names:
            return "sandbox-node"
        self._node_turn = (self._node_turn + 1) % len(names)
        return names[self._node_turn]

    def _node_ip(self, node: str) -> str:
        found = self.store.get("", "nodes", "", node)
        for address in ((found or {}).get("status") or {}).get("addresses") or []:
            if address.get("type") == "InternalIP":
                ip: str = address["address"]
                return ip
        return "10.0.0.2"

    def _start_pod(self, pod: dict[str, Any], state: str) -> None:
        """Play scheduler and kubelet: bind the pod to a node and start it."""
        spec = pod.setdefault("spec", {})
        if state == UNSCHEDULABLE:
            pod["status"] = pod_status(pod, state, time.time(), "", "")
            return
        if not spec.get("nodeName"):
            spec["nodeName"] = self._next_node()
        pod["status"] = pod_status(
            pod,
            state,
            time.time(),
            self.allocator.pod_ip(),
            self._node_ip(spec["nodeName"]),
            self.tags,
        )

    def start_pod_status(self, pod: dict[str, Any], state: str) -> dict[str, Any]:
        """A status for ``pod`` in ``state``, keeping its IPs and start time."""
        status = pod.get("status") or {}
        started = status.get("startTime")
        started_at = (
            calendar.timegm(time.strptime(started, "%Y-%m-%dT%H:%M:%SZ"))
            if started
            else time.time()
        )
        return pod_status(
            pod,
            state,
            started_at,
            status.get("podIP") or self.allocator.pod_ip(),
            status.get("hostIP") or self._node_ip((pod.get("spec") or {}).get("nodeName", "")),
            self.tags,
        )
