"""The kinds the sandbox serves, with the group/version/plural upstream uses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .schemas import Shape

READ_WRITE = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
SUBRESOURCE_VERBS = {
    "status": ("get", "patch", "update"),
    "scale": ("get", "patch", "update"),
    "log": ("get",),
}
# Field selectors every kind accepts; kinds add their own below, as the
# registries' GetAttrs functions do.
COMMON_FIELDS = ("metadata.name", "metadata.namespace")


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    verbs: tuple[str, ...] = READ_WRITE
    # Which DNS rule the name must follow: "subdomain", "label" or "dns1035".
    name_rule: str = "subdomain"
    # Whether the registry strategy maintains metadata.generation.
    generation: bool = False
    categories: tuple[str, ...] = ()
    extra_fields: tuple[str, ...] = field(default=())

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def shape(self) -> Shape:
        """How this kind's lists merge, from the upstream schema."""
        return Shape(self.api_version, self.kind)

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def key(self) -> tuple[str, str]:
        return (self.group, self.plural)

    @property
    def has_status(self) -> bool:
        # With a status subresource the main endpoint ignores client status.
        return "status" in self.subresources

    @property
    def field_selectors(self) -> tuple[str, ...]:
        return COMMON_FIELDS + self.extra_fields

    def api_resources(self) -> list[dict[str, Any]]:
        """The APIResource entries discovery lists for this kind."""
        entry: dict[str, Any] = {
            "name": self.plural,
            "singularName": self.singular,
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": list(self.verbs),
        }
        if self.short_names:
            entry["shortNames"] = list(self.short_names)
        if self.categories:
            entry["categories"] = list(self.categories)
        entries = [entry]
        for sub in self.subresources:
            item: dict[str, Any] = {
                "name": f"{self.plural}/{sub}",
                "singularName": "",
                "namespaced": self.namespaced,
                "kind": self.kind,
                "verbs": list(SUBRESOURCE_VERBS.get(sub, ("get",))),
            }
            if sub == "scale":
                item.update(group="autoscaling", version="v1", kind="Scale")
            entries.append(item)
        return entries


def _core(plural: str, kind: str, namespaced: bool = True, **kw: Any) -> ResourceType:
    return ResourceType("", "v1", plural, kind, namespaced, **kw)


def _workload(
    group: str,
    plural: str,
    kind: str,
    short_name: str | None,
    *,
    version: str = "v1",
    subresources: tuple[str, ...] = ("status",),
    **kw: Any,
) -> ResourceType:
    """A namespaced kind that `kubectl get all` lists, with a status and a generation."""
    return ResourceType(
        group,
        version,
        plural,
        kind,
        True,
        short_names=(short_name,) if short_name else (),
        subresources=subresources,
        generation=True,
        categories=("all",),
        **kw,
    )


BUILTIN: tuple[ResourceType, ...] = (
    _core(
        "namespaces",
        "Namespace",
        False,
        short_names=("ns",),
        subresources=("status",),
        name_rule="label",
        extra_fields=("status.phase",),
    ),
    _core("secrets", "Secret", extra_fields=("type",)),
    _core("configmaps", "ConfigMap", short_names=("cm",)),
    _core("serviceaccounts", "ServiceAccount", short_names=("sa",)),
    _core("resourcequotas", "ResourceQuota", short_names=("quota",), subresources=("status",)),
    _core("limitranges", "LimitRange", short_names=("limits",)),
    _core(
        "services",
        "Service",
        short_names=("svc",),
        subresources=("status",),
        name_rule="dns1035",
        categories=("all",),
    ),
    _core(
        "pods",
        "Pod",
        short_names=("po",),
        subresources=("status", "log"),
        categories=("all",),
        extra_fields=(
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        ),
    ),
    _core(
        "persistentvolumeclaims",
        "PersistentVolumeClaim",
        short_names=("pvc",),
        subresources=("status",),
    ),
    _core(
        "nodes",
        "Node",
        False,
        short_names=("no",),
        subresources=("status",),
        extra_fields=("spec.unschedulable",),
    ),
    _core(
        "events",
        "Event",
        short_names=("ev",),
        extra_fields=(
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ),
    ),
    _workload("apps", "deployments", "Deployment", "deploy", subresources=("status", "scale")),
    _workload("apps", "replicasets", "ReplicaSet", "rs", subresources=("status", "scale")),
    _workload(
        "autoscaling",
        "horizontalpodautoscalers",
        "HorizontalPodAutoscaler",
        "hpa",
        version="v2",
    ),
    _workload("batch", "cronjobs", "CronJob", "cj"),
    _workload("batch", "jobs", "Job", None, extra_fields=("status.successful",)),
    ResourceType(
        "networking.k8s.io",
        "v1",
        "ingressclasses",
        "IngressClass",
        False,
        generation=True,
    ),
    ResourceType(
        "networking.k8s.io",
        "v1",
        "ingresses",
        "Ingress",
        True,
        short_names=("ing",),
        subresources=("status",),
        generation=True,
    ),
    ResourceType(
        "networking.k8s.io",
        "v1",
        "networkpolicies",
        "NetworkPolicy",
        True,
        short_names=("netpol",),
        generation=True,
    ),
    ResourceType(
        "policy",
        "v1",
        "poddisruptionbudgets",
        "PodDisruptionBudget",
        True,
        short_names=("pdb",),
        subresources=("status",),
        generation=True,
    ),
    ResourceType(
        "authorization.k8s.io",
        "v1",
        "selfsubjectaccessreviews",
        "SelfSubjectAccessReview",
        False,
        verbs=("create",),
    ),
    # RBAC: stored, and read by the allow-list authorizer (rbac.py) for RoleBindings.
    ResourceType("rbac.authorization.k8s.io", "v1", "roles", "Role", True),
    ResourceType("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True),
    ResourceType("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False),
    ResourceType(
        "rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False
    ),
    ResourceType(
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        False,
        short_names=("crd", "crds"),
        subresources=("status",),
        generation=True,
        categories=("api-extensions",),
    ),
)

# Upstream's order of groups in /apis, which clients show as-is.
GROUP_ORDER = (
    "apps",
    "authorization.k8s.io",
    "autoscaling",
    "batch",
    "networking.k8s.io",
    "policy",
    "rbac.authorization.k8s.io",
    "apiextensions.k8s.io",
)


def resources_from_crd(crd: dict[str, Any]) -> list[ResourceType]:
    """The served versions of a CustomResourceDefinition, as resource types."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    group, plural, kind = spec.get("group"), names.get("plural"), names.get("kind")
    if not (group and plural and kind):
        return []
    found = []
    for version in spec.get("versions") or []:
        if not version.get("served", True) or not version.get("name"):
            continue
        subresources = tuple(sorted((version.get("subresources") or {}).keys()))
        found.append(
            ResourceType(
                group,
                version["name"],
                plural,
                kind,
                spec.get("scope", "Namespaced") == "Namespaced",
                short_names=tuple(names.get("shortNames") or ()),
                subresources=tuple(s for s in subresources if s in ("status", "scale")),
                generation=True,
                categories=tuple(names.get("categories") or ()),
            )
        )
    return found


class Registry:
    """Looks kinds up by path or by apiVersion/kind, CRD-defined ones included."""

    def __init__(self, crds: Any, revision: Any = None) -> None:
        # ``crds`` is a callable returning the stored CRD objects, so that a
        # CRD created through the API starts being served at once. ``revision``, a
        # callable returning the revision of the last CRD write, lets the kinds be
        # worked out once per change instead of on every lookup (every request makes one).
        self._crds = crds
        self._revision = revision
        self._cached: tuple[Any, list[ResourceType], dict[tuple[str, ...], ResourceType]] = (
            None,
            [],
            {},
        )

    def _served(self) -> tuple[list[ResourceType], dict[tuple[str, ...], ResourceType]]:
        stamp = self._revision() if self._revision is not None else object()
        if self._cached[0] != stamp or stamp is None:
            found = list(BUILTIN)
            for crd in self._crds():
                found.extend(resources_from_crd(crd))
            lookup: dict[tuple[str, ...], ResourceType] = {}
            for rt in found:  # the first one wins, as the scans did
                lookup.setdefault(("path", rt.group, rt.version, rt.plural), rt)
                lookup.setdefault(("kind", rt.api_version, rt.kind), rt)
                lookup.setdefault(("key", *rt.key), rt)
            self._cached = (stamp, found, lookup)
        return self._cached[1], self._cached[2]

    def all(self) -> list[ResourceType]:
        """Every kind served (read only: the list is shared until a CRD changes)."""
        return self._served()[0]

    def by_path(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._served()[1].get(("path", group, version, plural))

    def by_kind(self, api_version: str, kind: str) -> ResourceType | None:
        return self._served()[1].get(("kind", api_version, kind))

    def by_key(self, group: str, plural: str) -> ResourceType | None:
        """The kind stored under (group, plural), its first served version."""
        return self._served()[1].get(("key", group, plural))

    def group_versions(self) -> dict[str, list[str]]:
        """Group name to its versions, core group excluded, in upstream order."""
        groups: dict[str, list[str]] = {}
        for rt in self.all():
            if rt.group:
                versions = groups.setdefault(rt.group, [])
                if rt.version not in versions:
                    versions.append(rt.version)
        order = {g: i for i, g in enumerate(GROUP_ORDER)}
        return dict(sorted(groups.items(), key=lambda kv: (order.get(kv[0], 99), kv[0])))
