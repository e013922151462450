"""What the site page shows of previews: each with its branch, image and digest, age, URL
and time left. Their cost so far is billing's (billing.selectors.previews_cost_so_far):
sites does not import billing, so the page puts the two together."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Prefetch
from django.utils import timezone

from controlpanel.core.models import User
from controlpanel.core.permissions import Action, require
from sites.models import Domain, Environment, Release, Site
from sites.previews.models import PreviewSettings
from sites.previews.services import expires_at, preview_url, previews


@dataclass
class PreviewRow:
    environment: Environment
    branch: str
    image: str
    digest: str
    url: str
    age: datetime.timedelta
    last_deployed_at: datetime.datetime
    expires_at: datetime.datetime | None


def site_previews(*, actor: User, site: Site) -> list[PreviewRow]:
    require(actor, Action.VIEW, site.client)
    preview_settings = PreviewSettings.objects.filter(site=site).first()
    rows = list(
        previews(site)
        .select_related("site__client")
        .prefetch_related(
            Prefetch("domains", queryset=Domain.objects.order_by("-is_primary", "hostname")),
            Prefetch("releases", queryset=Release.objects.order_by("-created_at", "-id")),
        )
    )
    now = timezone.now()
    result = []
    for environment in rows:
        release = next(iter(environment.releases.all()), None)
        result.append(
            PreviewRow(
                environment=environment,
                branch=environment.preview_branch,
                image=release.image if release else environment.image,
                digest=release.digest if release else "",
                url=preview_url(environment),
                age=now - environment.created_at,
                last_deployed_at=environment.last_deployed_at,
                expires_at=(
                    expires_at(environment, preview_settings) if preview_settings else None
                ),
            )
        )
    return result
