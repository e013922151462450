"""The ``scale`` subresource: an autoscaling/v1 Scale view of a Deployment or ReplicaSet."""

from __future__ import annotations

from typing import Any

from . import errors
from .selectors import selector_string


def scale_of(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj["metadata"]
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": meta["name"],
            "namespace": meta.get("namespace", ""),
            "uid": meta["uid"],
            "resourceVersion": meta["resourceVersion"],
            "creationTimestamp": meta["creationTimestamp"],
        },
        "spec": {"replicas": spec.get("replicas", 1)},
        "status": {
            "replicas": status.get("replicas", 0),
            "selector": selector_string(spec.get("selector")),
        },
    }


def replicas_of(scale: Any, name: str) -> int:
    """The replica count a written Scale asks for, validated as upstream does."""
    replicas = ((scale if isinstance(scale, dict) else {}).get("spec") or {}).get("replicas")
    if not isinstance(replicas, int) or replicas < 0:
        raise errors.invalid(
            "Scale",
            "autoscaling",
            name,
            [
                errors.field_error(
                    "Invalid", "spec.replicas", "must be greater than or equal to 0", replicas
                )
            ],
        )
    return replicas
