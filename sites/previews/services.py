"""What CI and a site's owner do with previews: set a site's preview settings, create or
redeploy a branch's preview, destroy it; and the TTL sweep that destroys expired ones.

A preview is made by the environment services (environment_create, domain_add,
environment_provision, backup_restore, environment_deploy), queued in one transaction:
operations of one environment run in order, so the deploy runs after the data is in, and
queued as one batch, so it does not run at all if the data could not be loaded.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from clusters.models import Cluster, Operation
from controlpanel.core.audit import save_changes_audited, save_new_audited
from controlpanel.core.models import User
from controlpanel.core.permissions import Action, require
from sites import validators as v
from sites.models import Backup, Environment, Site, Tier
from sites.previews.models import PreviewData, PreviewSettings
from sites.previews.naming import branch_slug, preview_hostname, validate_branch

SETTINGS_FIELDS = (
    "enabled",
    "cluster",
    "node_pool",
    "max_alive",
    "ttl_days",
    "data_source",
    "host_pattern",
)


class PreviewLimitReached(Exception):
    """The site has its maximum of previews alive; `oldest` is the one to delete first."""

    def __init__(self, oldest: Environment, max_alive: int) -> None:
        self.oldest = oldest
        self.max_alive = max_alive
        super().__init__(
            f"This site may have {max_alive} preview(s) alive at once and has them. "
            f"The oldest is {oldest.preview_branch} (last deployed "
            f"{oldest.last_deployed_at:%Y-%m-%d %H:%M} UTC); delete it or another first."
        )


class PreviewBusy(Exception):
    """The branch's preview is being destroyed; ask again once it is gone."""


def previews(site: Site) -> QuerySet[Environment]:
    """The site's previews with `last_deployed_at` (their TTL runs from it), oldest first."""
    return (
        Environment.objects.filter(site=site, is_preview=True)
        .annotate(last_deployed_at=Coalesce(Max("releases__created_at"), "created_at"))
        .order_by("last_deployed_at", "pk")
    )


def expires_at(environment: Environment, preview_settings: PreviewSettings) -> datetime.datetime:
    return environment.last_deployed_at + datetime.timedelta(days=preview_settings.ttl_days)


def preview_url(environment: Environment) -> str:
    domain = next(iter(environment.domains.all()), None)
    if domain is None:
        return ""
    return f"{'https' if domain.tls_enabled else 'http'}://{domain.hostname}/"


def _default_cluster(site: Site) -> Cluster | None:
    sibling = site.environments.filter(is_preview=False).select_related("cluster").first()
    return sibling.cluster if sibling is not None else None


@transaction.atomic
def preview_settings_set(*, actor: User, site: Site, **fields: Any) -> PreviewSettings:
    """Create or change the site's preview settings. Owners pick the pool among the
    cluster's; choosing another cluster than the site's is for agency staff."""
    require(actor, Action.MANAGE_SITES, site.client)
    unknown = set(fields) - set(SETTINGS_FIELDS)
    if unknown:
        raise ValidationError({name: "Not a preview setting." for name in sorted(unknown)})
    current = PreviewSettings.objects.select_for_update().filter(site=site).first()
    cluster = fields.get("cluster") or (current.cluster if current else _default_cluster(site))
    if cluster is None:
        raise ValidationError(
            {"cluster": "The site has no environment yet, so no cluster; ask the agency."}
        )
    if cluster != _default_cluster(site) and "cluster" in fields:
        require(actor, Action.MANAGE_CLUSTERS)
    fields["cluster"] = cluster
    data_source = fields.get("data_source", current.data_source if current else None)
    if data_source not in (None, PreviewData.EMPTY) and not cluster.provision_data:
        raise ValidationError(
            {
                "data_source": f"{cluster} does not provision databases and storage, so "
                "previews there can only start empty."
            }
        )
    if current is None:
        candidate = PreviewSettings(site=site, **fields)
        candidate.full_clean()
        return save_new_audited(
            candidate, actor=actor, action="previews.settings", client=site.client
        )
    save_changes_audited(
        current,
        fields,
        allowed=SETTINGS_FIELDS,
        actor=actor,
        action="previews.settings",
        client=site.client,
    )
    return current


def _enabled_settings(site: Site) -> PreviewSettings:
    found = (
        PreviewSettings.objects.select_for_update(of=("self",))
        .select_related("cluster", "node_pool")
        .filter(site=site)
        .first()
    )
    if found is None or not found.enabled:
        raise ValidationError(
            {"site": f"Previews are not enabled for {site}; its owner enables them first."}
        )
    return found


def _data_backup(site: Site, preview_settings: PreviewSettings) -> Backup | None:
    """The latest verified backup of the environment the settings name, or None (empty)."""
    source = preview_settings.data_source
    if source == PreviewData.EMPTY:
        return None
    tier = Tier.STAGING if source == PreviewData.STAGING else Tier.PRODUCTION
    backup = (
        Backup.objects.filter(
            site=site,
            status=Backup.Status.SUCCEEDED,
            environment__tier=tier,
            environment__is_preview=False,
        )
        .select_related("cluster")
        .order_by("-taken_at", "-pk")
        .first()
    )
    if backup is None:
        raise ValidationError(
            {
                "data_source": f"Previews start from the latest verified backup of {source}, "
                f"and {site} has none yet: take one, or let previews start empty."
            }
        )
    return backup


@transaction.atomic
def preview_deploy(
    *, actor: User, site: Site, branch: str, image: str, idempotency_key: str = ""
) -> tuple[Environment, Operation, bool]:
    """Create `branch`'s preview and deploy `image` to it, or deploy `image` again to the
    one it has. Returns (preview, the operation to follow, created)."""
    from sites.backups.services import backup_restore
    from sites.services.config import domain_add
    from sites.services.environments import environment_deploy, environment_provision
    from sites.services.sites import environment_create

    require(actor, Action.DEPLOY, site.client)
    branch = validate_branch(branch)
    try:
        v.parse_image_reference((image or "").strip())
    except ValidationError as exc:
        raise ValidationError({"image": exc.messages}) from None
    preview_settings = _enabled_settings(site)  # locked: one create at a time per site
    existing = previews(site).filter(preview_branch=branch).first()
    if existing is not None:
        if existing.status == Environment.Status.DESTROYING:
            raise PreviewBusy(f"The preview of {branch} is being destroyed; deploy again after.")
        operation = environment_deploy(
            actor=actor,
            environment=existing,
            image=image,
            idempotency_key=idempotency_key,
            note=f"Preview of {branch}",
        )
        return existing, operation, False

    slug = branch_slug(branch, client_slug=site.client.slug, site_slug=site.slug)
    taken = site.environments.filter(slug=slug).first()
    if taken is not None:
        raise ValidationError(
            {
                "branch": f"{branch} becomes the environment slug {slug}, which "
                f"{taken.preview_branch or taken.name} already has; rename the branch."
            }
        )
    alive = list(previews(site))
    if len(alive) >= preview_settings.max_alive:
        raise PreviewLimitReached(alive[0], preview_settings.max_alive)
    backup = _data_backup(site, preview_settings)
    require(actor, Action.MANAGE_SITES, site.client)
    environment = environment_create(
        actor=actor,
        site=site,
        name=f"Preview {branch}"[:60],
        slug=slug,
        cluster=preview_settings.cluster,
        tier=Tier.DEVELOPMENT,
        node_pool=preview_settings.node_pool,
        is_preview=True,
        preview_branch=branch,
    )
    domain_add(
        actor=actor,
        environment=environment,
        hostname=preview_hostname(preview_settings.host_pattern, slug),
        is_primary=True,
    )
    environment_provision(actor=actor, environment=environment)
    if backup is not None:
        # Nothing to keep in a new preview: no safety backup before the restore. When the
        # site's owner has set sanitize rules, the copy is sanitized with them (a kind's
        # defaults name tables a given site may not have, so they are not run unasked).
        restore = backup_restore(
            actor=actor,
            backup=backup,
            target=environment,
            safety_backup=False,
            sanitize_sql=site.sanitize_sql,
        )
    operation = environment_deploy(
        actor=actor,
        environment=environment,
        image=image,
        idempotency_key=idempotency_key,
        note=f"Preview of {branch}",
    )
    if backup is not None:
        # One batch: if the copy fails, the restore's failure hook cancels the deploy
        # (operations_after_cancel) rather than serve an empty database as if all were well.
        Operation.objects.filter(pk__in=[restore.pk, operation.pk]).update(
            batch=f"preview-{restore.pk}"
        )
    return environment, operation, True


def preview_get(*, actor: User, site: Site, branch: str) -> Environment:
    require(actor, Action.VIEW, site.client)
    found = previews(site).filter(preview_branch=validate_branch(branch)).first()
    if found is None:
        raise Environment.DoesNotExist(f"{site} has no preview of {branch}.")
    return found


@transaction.atomic
def preview_destroy(*, actor: User, site: Site, branch: str) -> Operation:
    """Destroy `branch`'s preview, with no final backup (its data is a copy)."""
    from sites.services.environments import environment_destroy

    environment = preview_get(actor=actor, site=site, branch=branch)
    if environment.status == Environment.Status.DESTROYING:
        # A pipeline's retry: the destroy under way is the answer.
        under_way = (
            Operation.objects.filter(
                target_type="environment", target_id=environment.pk, kind="environment.destroy"
            )
            .order_by("-pk")
            .first()
        )
        if under_way is not None:
            require(actor, Action.DESTROY_ENVIRONMENT, site.client)
            return under_way
    return environment_destroy(
        actor=actor,
        environment=environment,
        confirm=environment.namespace,
        final_backup=False,
    )


def previews_expire(now: datetime.datetime | None = None) -> list[Operation]:
    """Destroy every preview whose TTL passed since its last deploy (the periodic task)."""
    from sites.services.environments import environment_destroy_expired

    now = now or timezone.now()
    started = []
    for preview_settings in PreviewSettings.objects.select_related("site"):
        cutoff = now - datetime.timedelta(days=preview_settings.ttl_days)
        expired = (
            previews(preview_settings.site)
            .filter(last_deployed_at__lt=cutoff)
            .exclude(status=Environment.Status.DESTROYING)
        )
        for environment in expired:
            started.append(environment_destroy_expired(environment=environment))
    return started
