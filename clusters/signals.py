"""What clusters announces to the apps built on it, which it does not know (docs/
architecture.md, "Layers"): an app above subscribes in its AppConfig.ready.

Sent with `send`, not `send_robust`, inside the sender's transaction: a receiver that fails
rolls the change back, so a cluster change and what follows from it land together."""

from __future__ import annotations

from django.dispatch import Signal

# Sent by clusters.services.cluster_update once a change is saved and audited, with
# cluster (the Cluster), changed (a frozenset of the changed field names), actor (a User).
cluster_changed = Signal()
