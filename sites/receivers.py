"""What sites does when an app below it announces a change (connected in
SitesConfig.ready). The lower app sends a signal rather than calling sites, because
imports point downward only (docs/architecture.md, "Layers"); the receiver runs inside the
sender's transaction, so the change and its consequences land, or fail, together."""

from __future__ import annotations

from typing import Any

from clusters.models import STORAGE_FIELDS, Cluster
from controlpanel.core.models import User
from sites.models import Environment
from sites.services.config import configurations_changed

# What environments carry of their cluster in Secret app-env and the backup CronJob
# (sites.backups.data): whether Hangar provisions data, the database server, the object
# storage and its keys.
ENVIRONMENT_FIELDS = frozenset({"provision_data", *STORAGE_FIELDS, "db_host", "db_port"})


def cluster_changed_reapply(
    sender: type[Cluster],
    *,
    cluster: Cluster,
    changed: frozenset[str],
    actor: User,
    **kwargs: Any,
) -> None:
    """A cluster's object storage or database server changed (clusters.signals.
    cluster_changed): re-apply every environment on it (visible operations), so their
    Secrets, and the backup Jobs that read them, never keep the old key."""
    if changed & ENVIRONMENT_FIELDS:
        configurations_changed(
            actor=actor,
            environments=Environment.objects.filter(cluster=cluster).order_by("pk"),
        )
