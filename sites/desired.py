"""What an environment's namespace must contain: the one answer deploys, configuration
applies, repairs and drift checks share.

`desired_state(environment)` is what `sites.manifests` renders, with the variables Hangar
adds to its Secret (the database and storage of sites.backups.data, the SMTP settings of
sites.mail) and the backup tool objects. The
kinds it names are the ones Hangar owns in the namespace: an object of those kinds that
Hangar applied once and no longer wants is pruned.
"""

from __future__ import annotations

from dataclasses import dataclass

from sites.backups.data import environment_secret_env, tool_objects
from sites.mail.selectors import mail_env
from sites.manifests import MANAGED_KINDS, render_environment, render_foundation
from sites.manifests.common import Manifest
from sites.models import Environment


@dataclass(frozen=True)
class DesiredState:
    objects: list[Manifest]
    # (apiVersion, kind) of every namespaced kind Hangar applies; the pruning scope.
    kinds: frozenset[tuple[str, str]]

    def keys(self) -> set[tuple[str, str, str]]:
        """(apiVersion, kind, name) of each desired object."""
        return {(o["apiVersion"], o["kind"], o["metadata"]["name"]) for o in self.objects}


def desired_state(environment: Environment) -> DesiredState:
    secret_env = environment_secret_env(environment) | mail_env(environment)
    if environment.image:
        objects = render_environment(environment, secret_env=secret_env)
    else:
        objects = render_foundation(environment, secret_env=secret_env)
    return DesiredState(objects + tool_objects(environment), MANAGED_KINDS)


def desired_objects(environment: Environment) -> list[Manifest]:
    return desired_state(environment).objects
