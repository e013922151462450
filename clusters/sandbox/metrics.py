"""The resource metrics API (metrics.k8s.io/v1beta1) as metrics-server serves it: PodMetrics
and NodeMetrics, read-only (get and list, label selectors), computed on each request from
the pods that run in the store.

There is no kubelet to measure, so use is modelled: each container of a running pod uses a
share of what it requests that follows a daily wave and differs from pod to pod, in the
units metrics-server reports (CPU in nanocores, memory in KiB). A node reports the sum of
its pods plus what the system on it uses. Pods that are not running have no metrics, as
with metrics-server, whose scrape only covers running containers.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from . import errors
from .access import Attributes
from .meta import rfc3339
from .selectors import label_matcher

GROUP, VERSION = "metrics.k8s.io", "v1beta1"
GROUP_VERSION = f"{GROUP}/{VERSION}"
WINDOW = "15s"
# Without requests a container still uses something.
IDLE_CPU_MILLIS, IDLE_MEMORY_BYTES = 5, 20 * 2**20
SYSTEM_CPU_MILLIS, SYSTEM_MEMORY_BYTES = 120, 600 * 2**20

_SUFFIXES = {
    "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": Decimal(1),
    "k": Decimal(10**3), "M": Decimal(10**6), "G": Decimal(10**9), "T": Decimal(10**12),
    "Ki": Decimal(2**10), "Mi": Decimal(2**20), "Gi": Decimal(2**30), "Ti": Decimal(2**40),
}  # fmt: skip


def _quantity(text: str) -> Decimal:
    """A resource quantity's value ("250m" is 0.25, "1Gi" 1073741824); 0 if unreadable."""
    number = text.rstrip("numkMGTi")
    try:
        return Decimal(number) * _SUFFIXES.get(text[len(number) :], Decimal(0))
    except ArithmeticError:
        return Decimal(0)


RESOURCES = {
    "pods": ("PodMetrics", True),
    "nodes": ("NodeMetrics", False),
}


def api_group() -> dict[str, Any]:
    """The entry /apis lists for the group (an APIService registers it on a real server)."""
    version = {"groupVersion": GROUP_VERSION, "version": VERSION}
    return {"name": GROUP, "versions": [version], "preferredVersion": version}


def with_group(group_list: dict[str, Any]) -> dict[str, Any]:
    """/apis with the metrics group added."""
    return {**group_list, "groups": [*group_list.get("groups", []), api_group()]}


def _resource_list() -> dict[str, Any]:
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": GROUP_VERSION,
        "resources": [
            {
                "name": plural,
                "singularName": "",
                "namespaced": namespaced,
                "kind": kind,
                "verbs": ["get", "list"],
            }
            for plural, (kind, namespaced) in RESOURCES.items()
        ],
    }


def _wave(key: str, now: float) -> float:
    """Between 0 and 1: a daily wave, shifted per pod so pods differ."""
    phase = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return (1 + math.sin(2 * math.pi * (now / 86400 + phase))) / 2


def container_usage(pod_key: str, container: dict[str, Any], now: float) -> tuple[int, int]:
    """(nanocores, bytes) one container uses now."""
    requests = (container.get("resources") or {}).get("requests") or {}
    cpu = _quantity(str(requests["cpu"])) * 1000 if requests.get("cpu") else IDLE_CPU_MILLIS
    memory = _quantity(str(requests["memory"])) if requests.get("memory") else IDLE_MEMORY_BYTES
    wave = _wave(f"{pod_key}/{container.get('name', '')}", now)
    cpu_share, memory_share = Decimal(0.15 + 0.5 * wave), Decimal(0.45 + 0.25 * wave)
    return int(cpu * 1_000_000 * cpu_share), int(memory * memory_share)


def _running(pod: dict[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") == "Running" and not pod["metadata"].get(
        "deletionTimestamp"
    )


def _meta(obj: dict[str, Any], now: float) -> dict[str, Any]:
    meta = obj["metadata"]
    found = {"name": meta["name"], "creationTimestamp": rfc3339(now)}
    if meta.get("namespace"):
        found["namespace"] = meta["namespace"]
    if meta.get("labels"):
        found["labels"] = dict(meta["labels"])
    return found


def pod_metrics(pod: dict[str, Any], now: float) -> dict[str, Any]:
    key = f"{pod['metadata'].get('namespace', '')}/{pod['metadata']['name']}"
    containers = []
    for container in (pod.get("spec") or {}).get("containers") or []:
        cpu, memory = container_usage(key, container, now)
        containers.append(
            {
                "name": container.get("name", ""),
                "usage": {"cpu": f"{cpu}n", "memory": f"{memory // 1024}Ki"},
            }
        )
    return {
        "metadata": _meta(pod, now),
        "timestamp": rfc3339(now),
        "window": WINDOW,
        "containers": containers,
    }


def node_metrics(node: dict[str, Any], pods: list[dict[str, Any]], now: float) -> dict[str, Any]:
    cpu, memory = SYSTEM_CPU_MILLIS * 1_000_000, SYSTEM_MEMORY_BYTES
    for pod in pods:
        if (pod.get("spec") or {}).get("nodeName") != node["metadata"]["name"]:
            continue
        key = f"{pod['metadata'].get('namespace', '')}/{pod['metadata']['name']}"
        for container in (pod.get("spec") or {}).get("containers") or []:
            used_cpu, used_memory = container_usage(key, container, now)
            cpu, memory = cpu + used_cpu, memory + used_memory
    return {
        "metadata": _meta(node, now),
        "timestamp": rfc3339(now),
        "window": WINDOW,
        "usage": {"cpu": f"{cpu}n", "memory": f"{memory // 1024}Ki"},
    }


def serve(
    store: Any,
    check: Callable[[Attributes], None],
    method: str,
    rest: list[str],
    query: dict[str, str],
    now: float | None = None,
) -> tuple[int, dict[str, Any]]:
    """Answer a request under /apis/metrics.k8s.io (`rest`: the path parts after it)."""
    now = time.time() if now is None else now
    if not rest:
        return 200, {"kind": "APIGroup", "apiVersion": "v1", **api_group()}
    if rest[0] != VERSION:
        raise errors.route_not_found()
    rest = rest[1:]
    if not rest:
        return 200, _resource_list()
    namespace = None
    if rest[0] == "namespaces" and len(rest) >= 3:
        namespace, rest = rest[1], rest[2:]
    plural, name = rest[0], (rest[1] if len(rest) == 2 else None)
    if plural not in RESOURCES or len(rest) > 2:
        raise errors.route_not_found()
    kind, namespaced = RESOURCES[plural]
    if not namespaced and namespace is not None:
        raise errors.route_not_found()
    verb = "list" if name is None else "get"
    if method not in ("GET", "HEAD") or query.get("watch") in ("true", "1"):
        action = (
            "watch" if method in ("GET", "HEAD") else {"POST": "create"}.get(method, method.lower())
        )
        raise errors.method_not_allowed(action, plural, GROUP)
    check(Attributes(verb, GROUP, plural, "", namespace or "", name or ""))
    matches = label_matcher(query.get("labelSelector"))
    pods = [p for p in store.list("", "pods") if _running(p)]
    if plural == "pods":
        found = [
            pod_metrics(p, now)
            for p in pods
            if namespace is None or p["metadata"].get("namespace") == namespace
        ]
    else:
        found = [node_metrics(n, pods, now) for n in store.list("", "nodes")]
    if name is not None:
        for item in found:
            if item["metadata"]["name"] == name:
                return 200, {"kind": kind, "apiVersion": GROUP_VERSION, **item}
        raise errors.not_found(plural, GROUP, name)
    items = [item for item in found if matches(item)]
    return 200, {
        "kind": f"{kind}List",
        "apiVersion": GROUP_VERSION,
        "metadata": {},
        "items": items,
    }
