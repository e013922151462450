"""What the site page shows of previews: each with its branch, image and digest, age, URL,
time left and cost so far (billed like any environment, billing.selectors)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Prefetch
from django.utils import timezone

from controlpanel.core.models import User
from controlpanel.core.permissions import Action, can, require
from sites.models import Domain, Environment, Release, Site
from sites.previews.models import PreviewSettings
from sites.previews.services import expires_at, preview_url, previews

# Cost so far adds up the months a preview lived; previews live days, so a few months.
MONTHS_BACK = 12


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
    cost_so_far: Decimal | None  # None: the person does not see the client's billing


def _months(since: datetime.date, today: datetime.date) -> list[datetime.date]:
    months, month = [], since.replace(day=1)
    while month <= today and len(months) < MONTHS_BACK:
        months.append(month)
        month = (month + datetime.timedelta(days=32)).replace(day=1)
    return months


def _costs(actor: User, site: Site, rows: list[Environment]) -> dict[int, Decimal] | None:
    if not can(actor, Action.VIEW_BILLING, site.client):
        return None
    from billing.periods import local_date
    from billing.selectors import client_month_costs

    if not rows:
        return {}
    today = local_date(timezone.now())
    first = min(local_date(e.created_at) for e in rows)
    totals: dict[int, Decimal] = {}
    for month in _months(first, today):
        by_environment = client_month_costs(actor=actor, client=site.client, month=month)
        for pk, amount in by_environment.by_environment().items():
            totals[pk] = totals.get(pk, Decimal(0)) + amount
    return totals


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
    costs = _costs(actor, site, rows)
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
                cost_so_far=None if costs is None else costs.get(environment.pk, Decimal(0)),
            )
        )
    return result
