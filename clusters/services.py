"""Writes on clusters and the node-size catalogue. Each checks permission, validates
(field-keyed errors; nothing saved on error), saves and audits in one transaction."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from clusters.models import Cluster, NodeSize
from clusters.signals import cluster_changed
from controlpanel.core.audit import save_changes_audited, save_new_audited
from controlpanel.core.fields import EncryptedTextField
from controlpanel.core.models import User
from controlpanel.core.permissions import Action, require

CLUSTER_EDITABLE_FIELDS = frozenset(
    field.name
    for field in Cluster._meta.concrete_fields
    if field.editable and field.name not in {"id", "created_at", "updated_at", "slug"}
)
SECRET_FIELDS = frozenset(
    field.name for field in Cluster._meta.concrete_fields if isinstance(field, EncryptedTextField)
)


@transaction.atomic
def cluster_create(*, actor: User, **fields: Any) -> Cluster:
    """Register a cluster (its kubeconfig, object storage and database server)."""
    require(actor, Action.MANAGE_CLUSTERS)
    cluster = Cluster(**fields)
    return save_new_audited(cluster, actor=actor, action="cluster.create", client=None)


@transaction.atomic
def cluster_update(*, actor: User, cluster: Cluster, **fields: Any) -> Cluster:
    """Change a cluster. Secrets are write-only: an empty value keeps the stored one. The
    slug is fixed (operations and objects refer to it). A change is announced
    (clusters.signals.cluster_changed) in this transaction: sites, which clusters does not
    know, re-applies every environment on the cluster when its object storage or database
    server changed, so their Secrets, and the backup Jobs that read them, never keep the
    old key."""
    require(actor, Action.MANAGE_CLUSTERS)
    fields = {
        name: value for name, value in fields.items() if not (name in SECRET_FIELDS and not value)
    }
    changes = save_changes_audited(
        cluster,
        fields,
        allowed=CLUSTER_EDITABLE_FIELDS,
        actor=actor,
        action="cluster.update",
        client=None,
    )
    if changes:
        cluster_changed.send(
            sender=Cluster, cluster=cluster, changed=frozenset(changes), actor=actor
        )
    return cluster


@transaction.atomic
def node_size_create(
    *,
    actor: User,
    provider: str,
    slug: str,
    vcpu: int,
    memory_mib: int,
    disk_gib: int = 0,
    description: str = "",
) -> NodeSize:
    """Add a machine size to the catalogue (its prices are billing's)."""
    require(actor, Action.MANAGE_CLUSTERS)
    size = NodeSize(
        provider=provider,
        slug=slug,
        vcpu=vcpu,
        memory_mib=memory_mib,
        disk_gib=disk_gib,
        description=description,
    )
    return save_new_audited(size, actor=actor, action="nodesize.create", client=None)
