"""Authorization: everything is allowed unless a deny rule matches, like a tight RBAC role.

With an allow-list (``AccessPolicy.allow_only``, e.g. the rules of a ClusterRole), only
requests that one of its rules grants are allowed, and deny rules still apply on top.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .errors import ApiError, forbidden
from .rules import RuleList

DEFAULT_USER = "system:serviceaccount:hangar:hangar"


@dataclass(frozen=True)
class Attributes:
    """``authorizer.Attributes`` of one resource request."""

    verb: str
    group: str
    resource: str
    subresource: str = ""
    namespace: str = ""
    name: str = ""


@dataclass(frozen=True)
class DenyRule:
    """Matches requests; a None field matches anything, ``"*"`` too."""

    verb: str | None = None
    resource: str | None = None
    namespace: str | None = None
    group: str | None = None
    name: str | None = None

    def matches(self, attrs: Attributes) -> bool:
        resource = attrs.resource + (f"/{attrs.subresource}" if attrs.subresource else "")
        checks = (
            (self.verb, attrs.verb),
            (self.resource, resource),
            (self.namespace, attrs.namespace),
            (self.group, attrs.group),
            (self.name, attrs.name),
        )
        return all(want in (None, "*") or want == have for want, have in checks)


@dataclass(frozen=True)
class AllowRule:
    """One RBAC PolicyRule: verbs x resources (``pods/log`` for a subresource) x API groups;
    ``"*"`` matches anything, as in RBAC."""

    verbs: frozenset[str]
    resources: frozenset[str]
    groups: frozenset[str]
    # Only objects of these names (empty: any), as RBAC's resourceNames.
    names: frozenset[str] = frozenset()

    @classmethod
    def from_policy_rule(cls, rule: dict[str, Any]) -> AllowRule:
        return cls(
            frozenset(rule.get("verbs") or ()),
            frozenset(rule.get("resources") or ()),
            frozenset(rule.get("apiGroups") or ()),
            frozenset(rule.get("resourceNames") or ()),
        )

    def matches(self, attrs: Attributes) -> bool:
        resource = attrs.resource + (f"/{attrs.subresource}" if attrs.subresource else "")
        return (
            bool({attrs.verb, "*"} & self.verbs)
            and bool({resource, "*"} & self.resources)
            and bool({attrs.group, "*"} & self.groups)
            and (not self.names or attrs.name in self.names)
        )


# What every authenticated user may do in a real cluster (ClusterRole system:basic-user,
# bound to system:authenticated): review its own access.
BASIC_USER_RULES = (
    AllowRule(
        frozenset({"create"}),
        frozenset({"selfsubjectaccessreviews", "selfsubjectrulesreviews", "selfsubjectreviews"}),
        frozenset({"authorization.k8s.io", "authentication.k8s.io"}),
    ),
)


class AccessPolicy(RuleList[DenyRule]):
    def __init__(self, user: str = DEFAULT_USER) -> None:
        super().__init__()
        self.user = user
        self._allow: tuple[AllowRule, ...] | None = None
        # In allow-list mode, what RoleBindings grant: (namespace, user) -> rules (rbac.py).
        self.bindings: Callable[[str, str], Iterable[AllowRule]] | None = None

    def allow_only(self, rules: Iterable[AllowRule] | None) -> None:
        """Grant only what `rules` grant, besides system:basic-user's self-reviews (None:
        everything again)."""
        with self._lock:
            self._allow = None if rules is None else (*BASIC_USER_RULES, *rules)

    def deny(self, **match: str | None) -> DenyRule:
        """Forbid the requests ``match`` (a DenyRule's fields by name) matches."""
        return self._add(DenyRule(**match))

    def allow(self, rule: DenyRule) -> None:
        self.remove(rule)

    def allowed(self, attrs: Attributes) -> bool:
        with self._lock:
            if any(rule.matches(attrs) for rule in self._rules):
                return False
            if self._allow is None or any(rule.matches(attrs) for rule in self._allow):
                return True
            bindings = self.bindings
        return bindings is not None and any(
            rule.matches(attrs) for rule in bindings(attrs.namespace, self.user)
        )

    def message(self, attrs: Attributes) -> str:
        """RBAC's ``forbiddenMessage``."""
        resource = attrs.resource + (f"/{attrs.subresource}" if attrs.subresource else "")
        text = (
            f'User "{self.user}" cannot {attrs.verb} resource "{resource}" '
            f'in API group "{attrs.group}"'
        )
        if attrs.namespace:
            return f'{text} in the namespace "{attrs.namespace}"'
        return f"{text} at the cluster scope"

    def check(self, attrs: Attributes) -> None:
        if not self.allowed(attrs):
            raise forbidden(attrs.resource, attrs.group, attrs.name, self.message(attrs))

    def review(self, body: dict[str, Any]) -> dict[str, Any]:
        """Answer a SelfSubjectAccessReview."""
        spec = body.get("spec") or {}
        ra = spec.get("resourceAttributes")
        if ra is None and spec.get("nonResourceAttributes") is None:
            raise ApiError(
                422,
                "Invalid",
                'SelfSubjectAccessReview.authorization.k8s.io "" is invalid: '
                'spec.resourceAttributes: Invalid value: "null": exactly one of '
                "nonResourceAttributes or resourceAttributes must be specified",
            )
        allowed = True
        if ra is not None:
            attrs = Attributes(
                verb=ra.get("verb", ""),
                group=ra.get("group", ""),
                resource=ra.get("resource", ""),
                subresource=ra.get("subresource", ""),
                namespace=ra.get("namespace", ""),
                name=ra.get("name", ""),
            )
            allowed = self.allowed(attrs)
        status: dict[str, Any] = {"allowed": allowed}
        if allowed:
            status["reason"] = (
                'RBAC: allowed by ClusterRoleBinding "hangar" of ClusterRole "hangar"'
            )
        return {
            "kind": "SelfSubjectAccessReview",
            "apiVersion": "authorization.k8s.io/v1",
            "metadata": {"creationTimestamp": None},
            "spec": spec,
            "status": status,
        }
