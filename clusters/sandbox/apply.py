"""Server-side apply: merging an applied configuration and tracking field owners.

Field ownership is kept in ``metadata.managedFields`` in upstream's FieldsV1
encoding (``f:name``, ``k:{"name":"app"}``, ``v:"x"``, ``.``), which is what
makes the two upstream behaviours callers rely on possible: a field that a
manager stops applying is removed (unless someone else owns it), and changing a
field another manager owns is a 409 conflict unless ``force`` is set.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from .errors import ApiError
from .patches import Path
from .schemas import Shape, item_key, key_fields

FieldPath = tuple[str, ...]
MARK = object()  # value recorded for the "." entry of a keyed list element
_TRACKED_META = ("labels", "annotations", "finalizers", "ownerReferences", "generateName")


def tracked(obj: dict[str, Any], subresource: str = "") -> dict[str, Any]:
    """The part of an object whose fields have owners."""
    if subresource == "status":
        return {"status": obj["status"]} if "status" in obj else {}
    out = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata", "status")}
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k in _TRACKED_META}
    if meta:
        out["metadata"] = meta
    return out


def _enc(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def field_set(
    obj: Any, shape: Shape, fpath: FieldPath = (), plain: Path = ()
) -> dict[FieldPath, Any]:
    """Every owned leaf of ``obj`` mapped to its value."""
    out: dict[FieldPath, Any] = {}
    if not isinstance(obj, dict):
        return out
    for key, value in obj.items():
        child, child_plain = (*fpath, f"f:{key}"), (*plain, key)
        if isinstance(value, dict) and value:
            out.update(field_set(value, shape, child, child_plain))
        elif isinstance(value, list) and shape.is_set(child_plain):
            for item in value:
                out[(*child, f"v:{_enc(item)}")] = item
        elif (
            isinstance(value, list)
            and (keys := shape.map_keys(child_plain))
            and all(item_key(i, keys) is not None for i in value)
        ):
            for item in value:
                element = (*child, "k:" + _enc(key_fields(item, keys)))
                out[(*element, ".")] = MARK
                out.update(field_set(item, shape, element, child_plain))
        else:
            out[child] = value
    return out


def to_fields_v1(paths: Any) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for path in sorted(paths):
        node = tree
        for part in path:
            node = node.setdefault(part, {})
    return tree


def from_fields_v1(tree: Any, prefix: FieldPath = ()) -> set[FieldPath]:
    out: set[FieldPath] = set()
    if not isinstance(tree, dict):
        return out
    for part, sub in tree.items():
        path = (*prefix, part)
        if isinstance(sub, dict) and sub:
            out |= from_fields_v1(sub, path)
        else:
            out.add(path)
    return out


def apply_merge(live: Any, applied: Any, shape: Shape, plain: Path = ()) -> Any:
    """Merge an applied configuration over the live object (maps and keyed lists)."""
    if not (isinstance(live, dict) and isinstance(applied, dict)):
        return copy.deepcopy(applied)
    result = copy.deepcopy(live)
    for key, value in applied.items():
        child = (*plain, key)
        current = result.get(key)
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict) and isinstance(current, dict):
            result[key] = apply_merge(current, value, shape, child)
        elif isinstance(value, list) and isinstance(current, list) and shape.is_set(child):
            result[key] = list(value) + [v for v in current if v not in value]
        elif (
            isinstance(value, list)
            and isinstance(current, list)
            and (keys := shape.map_keys(child))
        ):
            by_key = {item_key(i, keys): i for i in current}
            merged = [
                apply_merge(by_key.get(item_key(item, keys)), item, shape, child) for item in value
            ]
            applied_keys = {item_key(i, keys) for i in value}
            merged += [copy.deepcopy(i) for i in current if item_key(i, keys) not in applied_keys]
            result[key] = merged
        else:
            result[key] = copy.deepcopy(value)
    return result


def _step(node: Any, part: str) -> Any:
    if part.startswith("f:") and isinstance(node, dict):
        return node.get(part[2:])
    if part.startswith("k:") and isinstance(node, list):
        want = json.loads(part[2:])
        for item in node:
            if isinstance(item, dict) and all(item.get(k) == v for k, v in want.items()):
                return item
    return None


def remove_field(obj: dict[str, Any], path: FieldPath) -> None:
    """Delete the field at ``path``; a ``.`` path deletes the whole list element."""
    if path[-1] == ".":
        container = obj
        for part in path[:-2]:
            container = _step(container, part)
        element = _step(container, path[-2])
        if isinstance(container, list) and element is not None:
            container.remove(element)
        return
    node: Any = obj
    for part in path[:-1]:
        node = _step(node, part)
        if node is None:
            return
    last = path[-1]
    if last.startswith("f:") and isinstance(node, dict):
        node.pop(last[2:], None)
    elif last.startswith("v:") and isinstance(node, list):
        value = json.loads(last[2:])
        if value in node:
            node.remove(value)


def render_path(path: FieldPath) -> str:
    out = ""
    for part in path:
        if part.startswith("f:"):
            out += "." + part[2:]
        elif part.startswith("k:"):
            keys = json.loads(part[2:])
            out += "[" + ",".join(f"{k}={json.dumps(v)}" for k, v in keys.items()) + "]"
        elif part.startswith("v:"):
            out += f"[={part[2:]}]"
    return out


def _entry_key(entry: dict[str, Any]) -> tuple[str, str, str]:
    return (entry.get("manager", ""), entry.get("operation", ""), entry.get("subresource", ""))


def _manager(entry: dict[str, Any]) -> str:
    """How upstream names a manager in a conflict: an applier by name, an updater with the
    API version it wrote with."""
    text = json.dumps(entry.get("manager", ""))
    if entry.get("subresource"):
        text += f" with subresource {json.dumps(entry['subresource'])}"
    if entry.get("operation") == "Update":
        text += f" using {entry.get('apiVersion')}"
    return text


def _conflict_error(conflicts: list[tuple[dict[str, Any], FieldPath]]) -> ApiError:
    """Upstream's apply conflict: causes only in its details, the message grouped by manager."""
    causes = [
        {
            "reason": "FieldManagerConflict",
            "message": f"conflict with {_manager(e)}",
            "field": render_path(p),
        }
        for e, p in conflicts
    ]
    if len(conflicts) == 1:
        message = f"Apply failed with 1 conflict: {causes[0]['message']}: {causes[0]['field']}"
    else:
        by_manager: dict[str, list[str]] = {}
        for entry, path in conflicts:
            by_manager.setdefault(_manager(entry), []).append(render_path(path))
        lines = []
        for manager in sorted(by_manager):
            lines.append(f"conflicts with {manager}:")
            lines += [f"- {path}" for path in by_manager[manager]]
        message = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    return ApiError(409, "Conflict", message, {"causes": causes})


def _new_entry(
    manager: str, operation: str, api_version: str, now: str, paths: Any, subresource: str
) -> dict[str, Any]:
    entry = {
        "manager": manager,
        "operation": operation,
        "apiVersion": api_version,
        "time": now,
        "fieldsType": "FieldsV1",
        "fieldsV1": to_fields_v1(paths),
    }
    if subresource:
        entry["subresource"] = subresource
    return entry


def _rebuild(
    entries: list[dict[str, Any]],
    sets: list[set[FieldPath]],
    mine: dict[str, Any],
) -> list[dict[str, Any]]:
    out = []
    placed = False
    for entry, paths in zip(entries, sets, strict=True):
        if _entry_key(entry) == _entry_key(mine):
            out.append(mine)
            placed = True
            continue
        if not paths:
            continue
        if paths != from_fields_v1(entry.get("fieldsV1")):
            entry = {**entry, "fieldsV1": to_fields_v1(paths)}
        out.append(entry)
    if not placed:
        out.append(mine)
    return out


def server_side_apply(
    live: dict[str, Any] | None,
    applied: dict[str, Any],
    *,
    manager: str,
    force: bool,
    now: str,
    api_version: str,
    kind: str,
    subresource: str = "",
) -> dict[str, Any]:
    """Return the object after applying ``applied`` as ``manager``.

    ``live`` is None when the apply creates the object. Raises a 409 with
    ``FieldManagerConflict`` causes when ``force`` is false and another manager
    owns a field the configuration changes.
    """
    base = copy.deepcopy(live) if live else {"metadata": {}}
    entries = list((base.get("metadata") or {}).get("managedFields") or [])
    me = (manager, "Apply", subresource)
    shape = Shape(api_version, kind)
    part = tracked(applied, subresource)
    applied_fields = field_set(part, shape)
    live_fields = field_set(tracked(base, subresource), shape)

    sets = [from_fields_v1(e.get("fieldsV1")) for e in entries]
    mine_before: set[FieldPath] = set()
    conflicts: list[tuple[int, FieldPath]] = []
    for index, (entry, paths) in enumerate(zip(entries, sets, strict=True)):
        if _entry_key(entry) == me:
            mine_before = set(paths)
            continue
        if entry.get("subresource", "") != subresource:
            continue
        for path in sorted(paths):
            value = applied_fields.get(path, MARK)
            if value is not MARK and path in live_fields and live_fields[path] != value:
                conflicts.append((index, path))
    if conflicts and not force:
        raise _conflict_error([(entries[i], p) for i, p in conflicts])
    for index, path in conflicts:
        # Forcing takes the field away from its previous owner.
        sets[index].discard(path)

    merged = apply_merge(base, part, shape)
    others = set().union(*(s for e, s in zip(entries, sets, strict=True) if _entry_key(e) != me))
    # Whole list elements go first: their own key fields are needed to find them.
    dropped = sorted(
        mine_before - applied_fields.keys() - others, key=lambda p: (p[-1] != ".", len(p))
    )
    for path in dropped:
        prefix = path[:-1] if path[-1] == "." else path
        if any(o[: len(prefix)] == prefix for o in others):
            continue
        remove_field(merged, path)

    previous = next((e for e in entries if _entry_key(e) == me), None)
    if previous and from_fields_v1(previous.get("fieldsV1")) == set(applied_fields):
        mine = previous
    else:
        mine = _new_entry(manager, "Apply", api_version, now, applied_fields, subresource)
    merged.setdefault("metadata", {})["managedFields"] = _rebuild(entries, sets, mine)
    return merged


def record_update(
    old: dict[str, Any] | None,
    new: dict[str, Any],
    *,
    manager: str,
    now: str,
    api_version: str,
    kind: str,
    subresource: str = "",
) -> list[dict[str, Any]]:
    """managedFields after a non-apply write: the writer takes the fields it changed."""
    entries = list(((old or {}).get("metadata") or {}).get("managedFields") or [])
    shape = Shape(api_version, kind)
    old_fields = field_set(tracked(old, subresource), shape) if old else {}
    new_fields = field_set(tracked(new, subresource), shape)
    changed = {p for p, v in new_fields.items() if p not in old_fields or old_fields[p] != v}
    if not changed and old is not None and old_fields.keys() == new_fields.keys():
        return entries
    me = (manager, "Update", subresource)
    sets = []
    mine_before: set[FieldPath] = set()
    for entry in entries:
        paths = from_fields_v1(entry.get("fieldsV1"))
        if _entry_key(entry) == me:
            mine_before = paths
        elif entry.get("subresource", "") == subresource:
            paths = {p for p in paths if p in new_fields and p not in changed}
        sets.append(paths)
    mine_paths = {p for p in mine_before if p in new_fields} | changed
    if not mine_paths:
        return [e for e, s in zip(entries, sets, strict=True) if s and _entry_key(e) != me]
    mine = _new_entry(manager, "Update", api_version, now, mine_paths, subresource)
    return _rebuild(entries, sets, mine)
