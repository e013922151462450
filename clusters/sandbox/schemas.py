"""The upstream OpenAPI schemas of the one Kubernetes minor the sandbox answers as.

The sandbox says it is Kubernetes ``GIT_VERSION`` (``/version``, node versions) and takes
from that minor's schemas, as installed with kubernetes-validate, what a real API server
takes from its own: which lists merge by key and on which keys (server-side apply uses
``x-kubernetes-list-map-keys``, a strategic merge patch ``x-kubernetes-patch-merge-key``),
which lists are sets, and which values are quantities (stored in canonical form).
"""

from __future__ import annotations

import json
import re
from decimal import ROUND_UP, Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

KUBERNETES_MINOR = "1.31"
GIT_VERSION = f"v{KUBERNETES_MINOR}.0"

_QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
_OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
# Upstream's OpenAPI v3 defaults these map keys, and server-side apply keys an element
# that leaves them out by the default (``k:{"containerPort":80,"protocol":"TCP"}``); the
# v2-derived schemas here do not carry the default.
_KEY_DEFAULTS = {"protocol": "TCP"}

Path_ = tuple[str, ...]


def schema_dir(minor: str = KUBERNETES_MINOR) -> Path:
    try:
        import kubernetes_validate
    except ImportError as exc:  # a production install, which runs no sandbox
        raise RuntimeError(
            "the sandbox takes its rules from the Kubernetes schemas kubernetes-validate "
            "installs; install the development dependencies (requirements-dev.lock)"
        ) from exc

    return (
        Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema" / f"v{minor}.0-local"
    )


@lru_cache(maxsize=1)
def _definitions() -> dict[str, Any]:
    path = schema_dir() / "_definitions.json"
    return json.loads(path.read_text(encoding="utf-8"))["$defs"]


@lru_cache(maxsize=1)
def _kinds() -> dict[tuple[str, str], str]:
    """(apiVersion, kind) -> definition name, from x-kubernetes-group-version-kind."""
    out: dict[tuple[str, str], str] = {}
    for name, schema in _definitions().items():
        for gvk in schema.get("x-kubernetes-group-version-kind") or []:
            group, version = gvk.get("group", ""), gvk["version"]
            api_version = f"{group}/{version}" if group else version
            out.setdefault((api_version, gvk["kind"]), name)
    return out


def _ref_name(schema: dict[str, Any]) -> str | None:
    ref = schema.get("$ref")
    return ref.rsplit("/", 1)[-1] if isinstance(ref, str) else None


def _resolve(schema: dict[str, Any] | None) -> dict[str, Any]:
    name = _ref_name(schema or {})
    return _definitions().get(name, {}) if name else (schema or {})


def _root(api_version: str, kind: str) -> dict[str, Any]:
    name = _kinds().get((api_version, kind))
    if name is not None:
        return _definitions()[name]
    # Custom resources: only their metadata has a known shape; their lists are atomic
    # unless their CRD says otherwise, which the sandbox does not read.
    return {"properties": {"metadata": {"$ref": f"#/$defs/{_OBJECT_META}"}}}


@lru_cache(maxsize=4096)
def _list_schema(api_version: str, kind: str, path: Path_) -> dict[str, Any] | None:
    """The schema of the list at ``path`` (object keys only; list indexes are skipped)."""
    node = _root(api_version, kind)
    for key in path:
        node = _resolve(node)
        if "items" in node:  # a key below a list is a key of its elements
            node = _resolve(node["items"])
        child = (node.get("properties") or {}).get(key)
        if child is None:
            extra = node.get("additionalProperties")
            child = extra if isinstance(extra, dict) else None
        if child is None:
            return None
        node = child
    return node if "items" in node else None


class Shape:
    """The list semantics of one kind: keyed lists, sets, atomic lists."""

    def __init__(self, api_version: str, kind: str) -> None:
        self.api_version = api_version
        self.kind = kind

    def _schema(self, path: Path_) -> dict[str, Any]:
        return _list_schema(self.api_version, self.kind, path) or {}

    def map_keys(self, path: Path_) -> tuple[str, ...] | None:
        """Server-side apply's keys of the list at ``path``, or None if it is not a map."""
        schema = self._schema(path)
        list_type = schema.get("x-kubernetes-list-type")
        if list_type == "map":
            return tuple(schema.get("x-kubernetes-list-map-keys") or ()) or None
        if list_type is None and "merge" in str(schema.get("x-kubernetes-patch-strategy")):
            # Upstream's conversion of a schema without a list type.
            key = schema.get("x-kubernetes-patch-merge-key")
            return (key,) if key else None
        return None

    def merge_key(self, path: Path_) -> tuple[str, ...] | None:
        """A strategic merge patch's key of the list at ``path``, or None if it replaces."""
        schema = self._schema(path)
        key = schema.get("x-kubernetes-patch-merge-key")
        if key and "merge" in str(schema.get("x-kubernetes-patch-strategy")):
            return (key,)
        return None

    def is_set(self, path: Path_) -> bool:
        schema = self._schema(path)
        if schema.get("x-kubernetes-list-type") == "set":
            return True
        return (
            schema.get("x-kubernetes-list-type") is None
            and "merge" in str(schema.get("x-kubernetes-patch-strategy"))
            and not schema.get("x-kubernetes-patch-merge-key")
        )


def item_key(item: Any, keys: tuple[str, ...]) -> tuple[Any, ...] | None:
    """The key of a list element, defaulted keys filled in; None without its first key."""
    if not isinstance(item, dict) or keys[0] not in item:
        return None
    return tuple(item[k] if k in item else _KEY_DEFAULTS.get(k) for k in keys)


def key_fields(item: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """The element's key as server-side apply records it (``k:{...}``)."""
    return {k: item.get(k, _KEY_DEFAULTS.get(k)) for k in keys if k in item or k in _KEY_DEFAULTS}


# ----- quantities ---------------------------------------------------------------------

_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DECIMAL_SUFFIX = {e: s for s, e in _DECIMAL.items()}
_BINARY_SUFFIX = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"]
_QUANTITY_RE = re.compile(r"([+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:[eE]([+-]?\d+)|([a-zA-Z]*))")
_NANO = Decimal("1e-9")


def canonical_quantity(value: Any) -> str | None:
    """A quantity as the API server stores it (``resource.Quantity``'s canonical form):
    ``3072Mi`` → ``3Gi``, ``1000m`` → ``1``, ``0.5`` → ``500m``, ``2000`` → ``2k``,
    ``0.1Gi`` → ``107374182400m``. None if ``value`` is not a quantity."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    match = _QUANTITY_RE.fullmatch(str(value).strip())
    if not match:
        return None
    number, exponent, suffix = Decimal(match[1]), match[2], match[3]
    if exponent is not None:
        fmt, amount = "exponent", number.scaleb(int(exponent))
    elif suffix in _BINARY:
        fmt, amount = "binary", number * (1 << _BINARY[suffix])
    elif suffix in _DECIMAL:
        fmt, amount = "decimal", number.scaleb(_DECIMAL[suffix])
    else:
        return None
    amount = amount.quantize(_NANO, rounding=ROUND_UP) if amount % _NANO else amount
    if amount == 0:
        return "0"
    if fmt == "binary" and (-1024 < amount < 1024 or amount != amount.to_integral_value()):
        fmt = "decimal"  # upstream avoids rounding, and Ki for less than 1Ki
    if fmt == "binary":
        whole, power = int(amount), 0
        while power < len(_BINARY_SUFFIX) - 1 and whole % 1024 == 0:
            whole, power = whole // 1024, power + 1
        return f"{whole}{_BINARY_SUFFIX[power]}"
    sign, digits, exp = amount.normalize().as_tuple()
    mantissa = int("".join(map(str, digits))) * (-1 if sign else 1)
    exp = int(exp)
    mantissa, exp = mantissa * 10 ** (exp % 3), exp - exp % 3
    if fmt == "exponent" or exp not in _DECIMAL_SUFFIX:
        return f"{mantissa}" if exp == 0 else f"{mantissa}e{exp}"
    return f"{mantissa}{_DECIMAL_SUFFIX[exp]}"


@lru_cache(maxsize=1024)
def _has_quantity(name: str) -> bool:
    """Whether a definition holds a quantity anywhere (to skip walking the rest)."""
    if name == _QUANTITY:
        return True
    seen: set[str] = set()
    stack = [_definitions().get(name, {})]
    while stack:
        schema = stack.pop()
        ref = _ref_name(schema)
        if ref is not None:
            if ref == _QUANTITY:
                return True
            if ref not in seen:
                seen.add(ref)
                stack.append(_definitions().get(ref, {}))
            continue
        stack.extend((schema.get("properties") or {}).values())
        for key in ("items", "additionalProperties"):
            if isinstance(schema.get(key), dict):
                stack.append(schema[key])
    return False


def _canonicalise(schema: dict[str, Any], value: Any) -> Any:
    ref = _ref_name(schema)
    if ref == _QUANTITY:
        canonical = canonical_quantity(value)
        return value if canonical is None else canonical
    if ref is not None:
        if not _has_quantity(ref):
            return value
        schema = _definitions().get(ref, {})
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        for key, child in value.items():
            sub = properties.get(key) or (extra if isinstance(extra, dict) else None)
            if sub is not None and child is not None:
                value[key] = _canonicalise(sub, child)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, child in enumerate(value):
            value[index] = _canonicalise(schema["items"], child)
    return value


def canonicalise_quantities(api_version: str, kind: str, obj: dict[str, Any]) -> None:
    """Rewrite, in place, every quantity of a built-in object in its canonical form."""
    name = _kinds().get((api_version, kind))
    if name is not None and _has_quantity(name):
        _canonicalise(_definitions()[name], obj)
