"""RBAC's namespaced half: what RoleBindings grant, and the `bind` check on writing one.

In allow-list mode (``AccessPolicy.allow_only``) the given rules are what a
ClusterRoleBinding grants everywhere; on top, a RoleBinding in a namespace grants the
rules of the Role or ClusterRole it references to its subjects, in that namespace only, as
upstream's RBAC authorizer does. Writing a RoleBinding needs the `bind` verb on the role
it references (upstream also lets through a writer who holds every permission of that
role already; the sandbox does not, which is stricter, never looser).
"""

from __future__ import annotations

from typing import Any

from .access import AccessPolicy, AllowRule, Attributes
from .store import Store

RBAC = "rbac.authorization.k8s.io"


def _is_subject(subject: dict[str, Any], binding_namespace: str, user: str) -> bool:
    kind, name = subject.get("kind"), subject.get("name", "")
    if kind == "ServiceAccount":
        namespace = subject.get("namespace") or binding_namespace
        return user == f"system:serviceaccount:{namespace}:{name}"
    if kind == "User":
        return user == name
    if kind == "Group":
        groups = {"system:authenticated"}
        if user.startswith("system:serviceaccount:"):
            namespace = user.split(":")[2]
            groups |= {"system:serviceaccounts", f"system:serviceaccounts:{namespace}"}
        return name in groups
    return False


def _role_rules(store: Store, namespace: str, ref: dict[str, Any]) -> list[dict[str, Any]]:
    if ref.get("kind") == "ClusterRole":
        role = store.get(RBAC, "clusterroles", "", ref.get("name", ""))
    else:
        role = store.get(RBAC, "roles", namespace, ref.get("name", ""))
    return list((role or {}).get("rules") or [])


def bound_rules(store: Store, namespace: str, user: str) -> list[AllowRule]:
    """The rules RoleBindings in `namespace` grant `user` there."""
    if not namespace:
        return []
    rules = []
    for binding in store.list(RBAC, "rolebindings", namespace):
        if any(_is_subject(s, namespace, user) for s in binding.get("subjects") or []):
            for rule in _role_rules(store, namespace, binding.get("roleRef") or {}):
                rules.append(AllowRule.from_policy_rule(rule))
    return rules


def check_bind(access: AccessPolicy, namespace: str, binding: Any) -> None:
    """403 unless the writer of a RoleBinding may `bind` the role it references."""
    if not isinstance(binding, dict):
        return
    ref = binding.get("roleRef") or {}
    resource = "clusterroles" if ref.get("kind") == "ClusterRole" else "roles"
    # Upstream asks in the binding's namespace, for a ClusterRole too.
    access.check(Attributes("bind", RBAC, resource, "", namespace, ref.get("name", "")))
