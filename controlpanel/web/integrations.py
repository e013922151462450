"""Parts of the UI that depend on work landing in other apps: cost figures (billing) and
backups (sites). Each hook looks the function up when called and returns None when it is
not there (or fails), so pages show "—", "cost preview unavailable", or leave a section
out, and start showing the real thing as soon as the function exists.

The functions looked for, keyword-only:

billing.estimates
    estimate_scale(actor, environment, replicas) -> Estimate
    estimate_autoscale(actor, environment, max_replicas, min_replicas) -> Estimate
        (Estimate: before, after, currency, optional after_max and assumptions)
billing.dashboards
    client_environment_costs(actor, client, month) -> [{"environment_id", "amount"}, ...]
billing.services / billing.selectors
    node_price_create(actor, size, monthly_price, effective_from)
    node_price_list(actor) -> NodePrice queryset
sites.backups.services
    backup_create(actor, environment) -> Operation
    backup_restore(actor, backup, target) -> Operation
    backup_download_url(actor, backup, what) -> str, can_download(actor, backup) -> bool
    backup_check_restore(actor, environment, backup) -> Operation (optional)
sites.models.Backup with `environment`, `taken_at`, `status`
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import models
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from controlpanel.core.permissions import Action, can

logger = logging.getLogger(__name__)


def find(modules: Iterable[str], *names: str) -> Callable[..., Any] | None:
    for module_name in modules:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        for name in names:
            function = getattr(module, name, None)
            if callable(function):
                return function
    return None


def _call(function: Callable[..., Any] | None, **kwargs: Any) -> Any:
    if function is None:
        return None
    try:
        return function(**kwargs)
    except Exception:  # a colleague's function must not take the page down
        logger.exception("web: %s failed", getattr(function, "__qualname__", function))
        return None


# --- Billing -------------------------------------------------------------------------------


def currency() -> str:
    return getattr(settings, "HANGAR_BILLING_CURRENCY", "USD")


def client_month_costs(actor: Any, client: Any) -> dict[int, Decimal] | None:
    """This month's cost so far per environment id of `client`, or None while billing has
    no such selector (or the person may not see the client's billing)."""
    if not can(actor, Action.VIEW_BILLING, client):
        return None
    function = find(["billing.dashboards", "billing.selectors"], "client_environment_costs")
    today = timezone.localdate()
    rows = _call(function, actor=actor, client=client, month=today.replace(day=1))
    if rows is None:
        return None
    costs: dict[int, Decimal] = {}
    for row in rows:
        environment_id = row.get("environment_id") if isinstance(row, dict) else None
        if environment_id is not None:
            costs[environment_id] = costs.get(environment_id, Decimal(0)) + Decimal(
                str(row.get("amount") or 0)
            )
    return costs


@dataclass(frozen=True)
class CostPreview:
    """The monthly difference a change would make, as billing estimates it."""

    before: Decimal
    after: Decimal
    currency: str
    after_max: Decimal | None = None
    assumptions: tuple[str, ...] = ()

    @property
    def difference(self) -> Decimal:
        return self.after - self.before


def _preview(result: Any) -> CostPreview | None:
    if result is None:
        return None
    try:
        after_max = getattr(result, "after_max", None)
        return CostPreview(
            before=Decimal(str(result.before)),
            after=Decimal(str(result.after)),
            currency=getattr(result, "currency", "") or currency(),
            after_max=None if after_max is None else Decimal(str(after_max)),
            assumptions=tuple(getattr(result, "assumptions", ()) or ()),
        )
    except Exception:
        logger.exception("web: unexpected estimate %r", result)
        return None


def scale_preview(actor: Any, environment: Any, replicas: int) -> CostPreview | None:
    function = find(["billing.estimates"], "estimate_scale")
    return _preview(_call(function, actor=actor, environment=environment, replicas=replicas))


def autoscale_preview(
    actor: Any, environment: Any, min_replicas: int, max_replicas: int
) -> CostPreview | None:
    function = find(["billing.estimates"], "estimate_autoscale")
    return _preview(
        _call(
            function,
            actor=actor,
            environment=environment,
            min_replicas=min_replicas,
            max_replicas=max_replicas,
        )
    )


def node_price_create() -> Callable[..., Any] | None:
    return find(["billing.services"], "node_price_create")


def billing_url() -> str | None:
    """The billing section's page when billing has one (a URL named billing:index)."""
    try:
        return reverse("billing:index")
    except NoReverseMatch:
        return None


# --- Backups -------------------------------------------------------------------------------

BACKUP_MODULES = ("sites.backups.services", "sites.backups", "sites.actions")


def backup_model() -> type[models.Model] | None:
    try:
        return apps.get_model("sites", "Backup")
    except LookupError:
        return None


def backup_actions() -> dict[str, Callable[..., Any]] | None:
    """The backup actions, when every one the UI offers exists."""
    wanted = {
        "create": ("backup_create",),
        "restore": ("backup_restore",),
        "download": ("backup_download_url",),
        "can_download": ("can_download",),
    }
    found = {key: find(BACKUP_MODULES, *names) for key, names in wanted.items()}
    if backup_model() is None or not all(found.values()):
        return None
    optional = find(BACKUP_MODULES, "backup_check_restore")
    if optional is not None:
        found["check"] = optional
    return found  # type: ignore[return-value]


def last_backup_subquery() -> Any | None:
    """A subquery of the newest verified backup's time per environment (OuterRef "pk"),
    or None without backups."""
    model = backup_model()
    if model is None:
        return None
    from django.db.models import OuterRef, Subquery

    newest = model.objects.filter(environment=OuterRef("pk"), status="succeeded").order_by(
        "-taken_at"
    )
    return Subquery(newest.values("taken_at")[:1])
