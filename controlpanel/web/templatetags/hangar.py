"""Template helpers of the web UI."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template

from controlpanel.core.permissions import Action, can
from sites import selectors

register = template.Library()

_STATUS_CLASSES = {
    "succeeded": "success",
    "active": "success",
    "delivered": "success",
    "running": "primary",
    "provisioning": "primary",
    "deploying": "primary",
    "pending": "secondary",
    "new": "secondary",
    "failed": "danger",
    "destroying": "warning",
    "cancelled": "dark",
    "suspended": "warning",
    "healthy": "success",
    "degraded": "danger",
    "changing": "primary",
    "unknown": "secondary",
    "draft": "secondary",
    "issued": "primary",
    "paid": "success",
    "void": "dark",
    "estimate": "light",
}


@register.filter
def status_class(status: str) -> str:
    """The Bootstrap colour of a status badge."""
    return _STATUS_CLASSES.get(str(status), "secondary")


@register.filter
def percent(fraction: float | None) -> int:
    return round((fraction or 0) * 100)


@register.simple_tag
def may(user: Any, action: str, client: Any = None) -> bool:
    """{% may user "deploy" client as allowed %}: the permission matrix, for showing or
    hiding controls. The services check again."""
    return can(user, Action(action), client)


@register.filter
def money(amount: Decimal | None, currency: str = "") -> str:
    if amount is None:
        return "—"
    sign = "-" if amount < 0 else ""
    return f"{sign}{abs(amount):,.2f} {currency}".strip()


@register.filter
def signed_money(amount: Decimal | None, currency: str = "") -> str:
    if amount is None:
        return "—"
    sign = "+" if amount > 0 else ("-" if amount < 0 else "±")
    return f"{sign}{abs(amount):,.2f} {currency}".strip()


@register.filter
def short_image(image: str) -> str:
    """registry/acme/web:1.2@sha256:abcd... → registry/acme/web:1.2@sha256:abcd1234…"""
    if "@sha256:" in (image or ""):
        name, digest = image.split("@sha256:", 1)
        return f"{name}@sha256:{digest[:12]}…"
    return image or ""


@register.filter
def short_digest(digest: str) -> str:
    """sha256:<64 hex> → sha256:0123456789ab…"""
    return selectors.short_digest(digest or "")


@register.filter
def bytes_label(value: int | None) -> str:
    if value is None:
        return "—"
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{value} B"


@register.filter
def operation_label(operation: Any) -> str:
    """What an operation does, as people say it ("Promote from Staging", "Restart")."""
    from clusters.engine.describe import operation_label as label

    return label(operation)


@register.filter
def took(operation: Any) -> str:
    """How long a finished operation ran: "0.4 s", "3 min 5 s"."""
    from clusters.engine.describe import duration

    if not (operation.started_at and operation.finished_at):
        return ""
    return duration(operation.finished_at - operation.started_at)


@register.simple_tag
def stands(operation: Any) -> str:
    """{% stands operation %}: a pending operation's place in line, else its progress."""
    from clusters.engine.describe import where_it_stands

    return where_it_stands(operation)
