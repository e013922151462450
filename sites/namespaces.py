"""Who owns a namespace: one environment, and Hangar acts only on that one.

Two guards, one per side:

- In the database an environment's namespace is stored when it is first saved and is
  unique across every client (`Environment.namespace_name`); a slug whose namespace another
  environment already has is a field error on that slug (`namespace_available`).
- On the cluster the Namespace carries the annotation OWNER_ANNOTATION with the id of the
  environment that made it. Before anything is written to or deleted from the namespace,
  provision, apply and destroy check it (`require_owned`): a namespace that exists
  without this environment's id (another tenant's, one made by hand) fails the operation
  with a message for staff; Hangar never adopts, overwrites or deletes it. System
  namespaces are refused before any request.

The check reads the Namespace once per operation (`KubeClient.observed` keeps what this
operation read or wrote). An apply that writes nothing does not check at all
(sites.handlers.converge): it touched nothing, and the Deployment read that allowed
skipping its write proves the namespace is the one Hangar wrote it into (the same uid; a
namespace deleted and made again by someone else cannot hold an object made before).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError

from clusters.engine import OperationFailed
from clusters.kube.client import path_key
from sites import validators as v

if TYPE_CHECKING:
    from clusters.kube.client import KubeClient
    from sites.models import Environment

OWNER_ANNOTATION = "hangar.dev/environment-id"
# The labels Hangar put on an environment's namespace before the annotation existed.
_LEGACY_LABELS = ("hangar.dev/client", "hangar.dev/site", "hangar.dev/environment")
_SYSTEM_PREFIXES = ("kube-",)
_SYSTEM_NAMES = frozenset({"default"})


def is_system_namespace(name: str) -> bool:
    """Kubernetes' own namespaces and the one Hangar itself runs in."""
    own = settings.HANGAR_SERVICE_ACCOUNT.partition(":")[0]
    return name in _SYSTEM_NAMES or name == own or name.startswith(_SYSTEM_PREFIXES)


def namespace_available(environment: Environment) -> str:
    """The environment's namespace when it is valid and no other environment has it;
    otherwise a ValidationError for the slug (it does not say whose it is)."""
    name = v.validate_namespace_name(environment.namespace)
    if is_system_namespace(name):
        raise ValidationError(
            f'The namespace "{name}" is reserved for the cluster itself; choose another slug.',
            code="namespace_reserved",
        )
    # The same slug on the same site is the per-site unique constraint's to report.
    others = (
        type(environment)
        ._default_manager.filter(namespace_name=name)
        .exclude(site_id=environment.site_id, slug=environment.slug)
    )
    if environment.pk:
        others = others.exclude(pk=environment.pk)
    if others.exists():
        raise ValidationError(
            f'The namespace "{name}" ({{client}}-{{site}}-{{environment}}) is already used by '
            "another environment; choose another slug.",
            code="namespace_taken",
        )
    return name


def owner_annotations(environment: Environment) -> dict[str, str]:
    return {OWNER_ANNOTATION: str(environment.pk)}


def _legacy_match(environment: Environment, labels: dict[str, Any]) -> bool:
    """A namespace provisioned before the annotation existed: Hangar's own labels naming
    exactly this client, site and environment (two colliding environments differ in
    them)."""
    wanted = (environment.site.client.slug, environment.site.slug, environment.slug)
    return labels.get("app.kubernetes.io/managed-by") == "hangar" and wanted == tuple(
        labels.get(key) for key in _LEGACY_LABELS
    )


class NamespaceNotOwned(OperationFailed):
    """The namespace is the cluster's or someone else's: nothing was written to it."""


def refuse_system_namespace(environment: Environment) -> None:
    """Fail, before any request, when the environment's namespace is the cluster's."""
    name = environment.namespace
    if is_system_namespace(name):
        raise NamespaceNotOwned(
            f"Namespace {name} belongs to the cluster; Hangar never touches it."
        )


def require_owned(kube: KubeClient, environment: Environment) -> bool:
    """Fail unless the environment's namespace is missing or this environment's; True
    when it exists. Called before anything is written to or deleted from it; the
    Namespace is read once per operation (this operation's own write of it counts)."""
    refuse_system_namespace(environment)
    name = environment.namespace
    key = path_key("v1", "Namespace", name, None)
    live = kube.observed.get(key)
    if live is None:
        live = kube.get_or_none("v1", "Namespace", name)
        if live is None:
            return False
        kube.observed[key] = live
    meta = live.get("metadata") or {}
    owner = (meta.get("annotations") or {}).get(OWNER_ANNOTATION)
    if owner == str(environment.pk):
        return True
    if owner is None and _legacy_match(environment, meta.get("labels") or {}):
        return True
    # Not which environment: the message reaches this environment's client.
    whose = "another environment" if owner else "nobody in Hangar (made by hand or another tool)"
    raise NamespaceNotOwned(
        f"Namespace {name} exists on the cluster and belongs to {whose}, not to this "
        f"environment (#{environment.pk}): Hangar neither adopts nor deletes it. Remove or "
        "rename it on the cluster, or give this environment another slug."
    )
