"""Who owns a field of a live object, from its `metadata.managedFields` (server-side
apply's record, in the FieldsV1 encoding: {"f:spec": {"f:replicas": {}}})."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def field_managers(obj: Mapping[str, Any], *path: str) -> list[str]:
    """The managers owning the field at `path` (e.g. "spec", "replicas"), in the order the
    server lists them; an entry written through a subresource reads "manager/scale"."""
    owners = []
    for entry in (obj.get("metadata") or {}).get("managedFields") or []:
        node: Any = entry.get("fieldsV1") or {}
        for part in path:
            node = node.get(f"f:{part}") if isinstance(node, dict) else None
            if node is None:
                break
        if node is not None:
            manager = str(entry.get("manager", ""))
            sub = entry.get("subresource")
            owners.append(f"{manager}/{sub}" if sub else manager)
    return owners
