"""The REST verbs with upstream semantics, over one store: the class ``Api`` gathers them
from the modules named for what they do.

- reads.py: get, list; writes.py: create, update, patch, apply; deletion.py: delete,
  delete a collection, terminate a namespace; subresources.py: scale, log.
- commit.py: the one way objects are stored (``_create``, ``_commit``, ``_remove``) and the
  ``system_*`` helpers controllers call; admission.py: the checks before a write;
  scheduling.py: a pod's node, IPs and start.
"""

from __future__ import annotations

from .access import AccessPolicy
from .defaults import Allocator
from .deletion import Deletion
from .resources import Registry
from .store import Store
from .workloads import ImageTags
from .writes import Writes


class Api(Writes, Deletion):
    """The verbs, over one store. Controllers call the ``system_*`` helpers."""

    def __init__(
        self,
        store: Store,
        registry: Registry,
        access: AccessPolicy,
        *,
        namespace_defaults: bool = True,
    ) -> None:
        self.store = store
        self.registry = registry
        self.access = access
        self.allocator = Allocator()
        self.tags = ImageTags()
        self.namespace_defaults = namespace_defaults
        # Namespace uid -> monotonic time its deletion started; the namespace
        # controller removes the namespace a little after that.
        self.terminating: dict[str, float] = {}
        self.custom_logs: dict[tuple[str, str, str], str] = {}
        self._node_turn = 0
