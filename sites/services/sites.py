"""Creating sites and environments. Provisioning an environment on its cluster is an
operation of its own (sites.services.environments)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from clusters.models import Cluster, NodePool
from controlpanel.core.audit import save_new_audited
from controlpanel.core.models import Client, User
from controlpanel.core.permissions import Action, require
from sites.manifests.workload import max_web_pods
from sites.models import Environment, Site, SiteKind, Tier
from sites.services.capacity import environment_capacity_check


@transaction.atomic
def site_create(
    *,
    actor: User,
    client: Client,
    name: str,
    slug: str,
    kind: str = SiteKind.DRUPAL,
    repository_url: str = "",
    image_repository: str = "",
) -> Site:
    require(actor, Action.MANAGE_SITES, client)
    site = Site(
        client=client,
        name=name,
        slug=slug,
        kind=kind,
        repository_url=repository_url,
        image_repository=image_repository,
    )
    return save_new_audited(site, actor=actor, action="site.create", client=client)


@transaction.atomic
def environment_create(
    *,
    actor: User,
    site: Site,
    name: str,
    slug: str,
    cluster: Cluster,
    tier: str = Tier.DEVELOPMENT,
    node_pool: NodePool | None = None,
    **settings: Any,
) -> Environment:
    """Record a new environment. Provisioning it on the cluster is an operation of its own."""
    require(actor, Action.MANAGE_SITES, site.client)
    settings.setdefault("varnish_enabled", site.kind == SiteKind.DRUPAL)
    environment = Environment(
        site=site,
        name=name,
        slug=slug,
        cluster=cluster,
        tier=tier,
        node_pool=node_pool,
        **settings,
    )
    environment.full_clean()
    environment_capacity_check(environment, pods=max_web_pods(environment))
    return save_new_audited(
        environment, actor=actor, action="environment.create", client=site.client
    )
