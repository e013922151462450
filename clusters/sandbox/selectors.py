"""Label and field selectors with the semantics of ``k8s.io/apimachinery/pkg/labels``."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ApiError, bad_request

_TOKEN = re.compile(r"\s*(\(|\)|,|!=|==|=|!|<|>|[^\s(),!=<>]+)")


class SelectorError(ValueError):
    pass


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!", "gt", "lt"
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.op == "exists":
            return present
        if self.op == "!":
            return not present
        if self.op in ("=", "in"):
            return present and value in self.values
        if self.op in ("!=", "notin"):
            # Upstream: an absent key satisfies both != and notin.
            return not present or value not in self.values
        if self.op in ("gt", "lt"):
            try:
                have, want = int(value or ""), int(self.values[0])
            except ValueError:
                return False
            return have > want if self.op == "gt" else have < want
        return False


def _tokens(text: str) -> list[str]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            raise SelectorError(f"unable to parse requirement: unexpected input at {pos}")
        out.append(match.group(1))
        pos = match.end()
    return out


def parse_label_selector(text: str) -> list[Requirement]:
    """Parse ``a=b,c!=d,e in (f,g),h notin (i),j,!k`` into requirements."""
    tokens = _tokens(text or "")
    reqs: list[Requirement] = []
    i = 0

    def expect_value() -> str:
        nonlocal i
        if i >= len(tokens) or tokens[i] in ("(", ")", ",", "=", "==", "!=", "!"):
            found = tokens[i] if i < len(tokens) else "end of string"
            raise SelectorError(
                f"unable to parse requirement: found '{found}', expected: identifier"
            )
        value = tokens[i]
        i += 1
        return value

    while i < len(tokens):
        if tokens[i] == "!":
            i += 1
            reqs.append(Requirement(expect_value(), "!"))
        else:
            key = expect_value()
            op = tokens[i] if i < len(tokens) else ","
            if op == ",":
                reqs.append(Requirement(key, "exists"))
            elif op in ("=", "==", "!="):
                i += 1
                # An empty value (``a=``) is legal and matches an empty label.
                value = ""
                if i < len(tokens) and tokens[i] != ",":
                    value = expect_value()
                reqs.append(Requirement(key, "!=" if op == "!=" else "=", (value,)))
            elif op in ("in", "notin"):
                i += 1
                if i >= len(tokens) or tokens[i] != "(":
                    raise SelectorError(
                        "unable to parse requirement: found '"
                        + (tokens[i] if i < len(tokens) else "end of string")
                        + "', expected: '('"
                    )
                i += 1
                values = []
                while i < len(tokens) and tokens[i] != ")":
                    if tokens[i] == ",":
                        i += 1
                        continue
                    values.append(expect_value())
                if i >= len(tokens):
                    raise SelectorError(
                        "unable to parse requirement: found 'end of string', expected: ')'"
                    )
                i += 1
                reqs.append(Requirement(key, op, tuple(values)))
            elif op in (">", "<"):
                i += 1
                reqs.append(Requirement(key, "gt" if op == ">" else "lt", (expect_value(),)))
            else:
                raise SelectorError(
                    f"unable to parse requirement: found '{op}', expected: "
                    "in, notin, =, ==, !=, gt, lt"
                )
        if i < len(tokens):
            if tokens[i] != ",":
                raise SelectorError(
                    f"unable to parse requirement: found '{tokens[i]}', "
                    "expected: ',' or 'end of string'"
                )
            i += 1
    return reqs


def label_matcher(text: str | None) -> Callable[[dict[str, Any]], bool]:
    """A predicate over objects; a malformed selector is a 400 like upstream."""
    if not text:
        return lambda _obj: True
    try:
        reqs = parse_label_selector(text)
    except SelectorError as exc:
        raise bad_request(str(exc)) from exc

    def match(obj: dict[str, Any]) -> bool:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return all(r.matches(labels) for r in reqs)

    return match


def matches_selector_object(selector: dict[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """Match a ``metav1.LabelSelector`` (matchLabels + matchExpressions)."""
    if not selector:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    ops = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}
    for expr in selector.get("matchExpressions") or []:
        req = Requirement(expr["key"], ops[expr["operator"]], tuple(expr.get("values") or ()))
        if not req.matches(labels):
            return False
    return True


def selector_string(selector: dict[str, Any] | None) -> str:
    """``metav1.FormatLabelSelector`` for matchLabels, as Scale.status.selector shows."""
    labels = (selector or {}).get("matchLabels") or {}
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def _lookup(obj: dict[str, Any], path: str) -> str:
    value: Any = obj
    for part in path.split("."):
        if not isinstance(value, dict):
            return ""
        value = value.get(part)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, dict):
        # ``source`` on events is matched by its component.
        return str(value.get("component", ""))
    return str(value)


def field_matcher(text: str | None, allowed: tuple[str, ...]) -> Callable[[dict[str, Any]], bool]:
    """``fieldSelector``: ``=``, ``==`` and ``!=`` over the fields a kind supports."""
    if not text:
        return lambda _obj: True
    terms: list[tuple[str, bool, str]] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        match = re.fullmatch(r"([^=!]+)(==|=|!=)(.*)", part)
        if not match:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{part}'")
        name, op, value = match.group(1).strip(), match.group(2), match.group(3).strip()
        if name not in allowed:
            raise ApiError(400, "BadRequest", f"field label not supported: {name}")
        terms.append((name, op != "!=", value))

    def match(obj: dict[str, Any]) -> bool:
        return all((_lookup(obj, name) == value) == equal for name, equal, value in terms)

    return match
