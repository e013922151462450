"""Creating, finding and revoking API tokens."""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from controlpanel.core.audit import audit_record
from controlpanel.core.models import User
from controlpanel.core.permissions import Action, can, require
from controlpanel.integrations.models import ApiToken, Scope
from sites.models import Environment, Site

PREFIX = "hgr_"
MAX_LIFETIME = timedelta(days=366)
# Last-used is informative; writing it on every request would make every read a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)
# Re-authentication (admin tokens): wrong passwords allowed per user within the window.
REAUTH_MAX_FAILURES = 5
REAUTH_WINDOW_SECONDS = 15 * 60

logger = logging.getLogger(__name__)


def digest(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough (nothing to brute-force).
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def _validated_expiry(expires_at: datetime | None) -> datetime | None:
    if expires_at is None:
        return None
    now = timezone.now()
    if expires_at <= now:
        raise ValidationError({"expires_at": "The expiry must be in the future."})
    if expires_at > now + MAX_LIFETIME:
        raise ValidationError({"expires_at": "A token lives at most one year."})
    return expires_at


def _within_parent(parent: ApiToken | None, scopes: list[str], expires_at: datetime | None) -> None:
    """A token creating a token (`parent`, None for a signed-in session) gives no more than
    it has: a subset of its own scopes (write and deploy include read, admin covers all
    three; no token creates an admin token) and an expiry no later than its own. Deploy
    tokens create nothing."""
    if parent is None:
        return
    if parent.is_deploy_token:
        raise PermissionDenied("A deploy token cannot create tokens.")
    own = set(parent.scopes)
    if Scope.ADMIN in own:
        own |= {Scope.READ, Scope.WRITE, Scope.DEPLOY}
    if own & {Scope.WRITE, Scope.DEPLOY}:
        own.add(Scope.READ)  # both include read (docs/api.md)
    own.discard(Scope.ADMIN)
    wider = sorted(set(scopes) - own)
    if wider:
        raise ValidationError(
            {
                "scopes": f"This token cannot give scopes it does not have ({', '.join(wider)});"
                f" it can give: {', '.join(sorted(own)) or 'none'}."
            }
        )
    if parent.expires_at is not None and (expires_at is None or expires_at > parent.expires_at):
        raise ValidationError(
            {
                "expires_at": "A token created by a token expires no later than it: "
                f"at or before {parent.expires_at.isoformat()}."
            }
        )


def _reauth_key(user: User) -> str:
    return f"hangar:reauth-failures:{user.pk}"


@sensitive_variables("password")
def reauthenticate(*, actor: User, password: str | None) -> None:
    """Confirm that whoever holds `actor`'s session also knows the current password, before
    something a stolen session must not do on its own: creating an admin-scope token (the
    API does this; the web UI should do it too, and before destroying an environment).

    Raises ValidationError keyed by `password` when it is missing or wrong, and
    PermissionDenied after REAUTH_MAX_FAILURES wrong ones within REAUTH_WINDOW_SECONDS.
    """
    key = _reauth_key(actor)
    if (cache.get(key) or 0) >= REAUTH_MAX_FAILURES:
        raise PermissionDenied(
            "Too many wrong passwords; wait a quarter of an hour, or sign out and in again."
        )
    if not password:
        raise ValidationError({"password": "Confirm your current password to do this."})
    if not actor.check_password(password):
        cache.add(key, 0, timeout=REAUTH_WINDOW_SECONDS)
        try:
            cache.incr(key)
        except ValueError:
            cache.set(key, 1, timeout=REAUTH_WINDOW_SECONDS)
        logger.warning("re-authentication failed for user %s", actor.pk)
        raise ValidationError({"password": "That is not your current password."})
    cache.delete(key)


def _valid_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationError({"name": "Give the token a name of 1-100 characters."})
    return name


def _issue(
    actor: User, name: str, scopes: list[str], expires_at: datetime | None, **bound: Any
) -> tuple[ApiToken, str]:
    """The row of a new token (only its digest and prefix stored) and the token itself."""
    token = _new_token()
    row = ApiToken.objects.create(
        user=actor,
        name=name,
        prefix=token[: len(PREFIX) + 8],
        digest=digest(token),
        scopes=scopes,
        expires_at=_validated_expiry(expires_at),
        **bound,
    )
    return row, token


@transaction.atomic
def token_create(
    *,
    actor: User,
    name: str,
    scopes: list[str],
    expires_at: datetime | None = None,
    parent: ApiToken | None = None,
) -> tuple[ApiToken, str]:
    """A personal token for `actor`, made by a session or by `parent` (a token, which can
    give no more than it has). Returns the row and the token, shown only now."""
    name = (name or "").strip()
    errors = {}
    if not name or len(name) > 100:
        errors["name"] = "Give the token a name of 1-100 characters."
    unknown = sorted(set(scopes) - set(Scope.values))
    if not scopes or unknown:
        errors["scopes"] = (
            f"Unknown scopes: {', '.join(unknown)}."
            if unknown
            else "Choose at least one of: read, write, deploy, admin."
        )
    elif Scope.PREVIEW in scopes:
        errors["scopes"] = "The preview scope is only for a site's CI token (see docs/previews.md)."
    elif Scope.ADMIN in scopes and not actor.is_agency_staff:
        errors["scopes"] = "Only agency staff can create tokens with the admin scope."
    if errors:
        raise ValidationError(errors)
    _within_parent(parent, scopes, expires_at)
    row, token = _issue(actor, name, sorted(set(scopes)), expires_at)
    audit_record(
        actor=actor, action="token.create", target=row, changes={"scopes": [None, row.scopes]}
    )
    return row, token


@transaction.atomic
def deploy_token_create(
    *,
    actor: User,
    environment: Environment,
    name: str,
    expires_at: datetime | None = None,
    parent: ApiToken | None = None,
) -> tuple[ApiToken, str]:
    """A token that can only deploy `environment` (for a CI pipeline)."""
    require(actor, Action.DEPLOY, environment.site.client)
    _within_parent(parent, [Scope.DEPLOY], expires_at)
    row, token = _issue(
        actor, _valid_name(name), [Scope.DEPLOY], expires_at, environment=environment
    )
    audit_record(
        actor=actor,
        action="token.create_deploy",
        target=row,
        client=environment.site.client,
        changes={"environment": [None, str(environment)]},
    )
    return row, token


@transaction.atomic
def preview_token_create(
    *, actor: User, site: Site, name: str, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """A site's CI token: it can create, read and delete that site's previews, and read
    their operations; nothing else. It acts as `actor`, who must be able to create and
    destroy the site's environments."""
    require(actor, Action.MANAGE_SITES, site.client)
    require(actor, Action.DESTROY_ENVIRONMENT, site.client)
    row, token = _issue(actor, _valid_name(name), [Scope.PREVIEW], expires_at, site=site)
    audit_record(
        actor=actor,
        action="token.create_preview",
        target=row,
        client=site.client,
        changes={"site": [None, str(site)]},
    )
    return row, token


def token_revoke(*, actor: User, token: ApiToken) -> ApiToken:
    """Owners of a token revoke it; so may client owners (deploy tokens of their client)
    and staff admins."""
    allowed = token.user_id == actor.pk or can(actor, Action.MANAGE_CLIENTS)
    if token.environment_id is not None:
        allowed = allowed or can(actor, Action.MANAGE_MEMBERS, token.environment.site.client)
    if token.site_id is not None:
        allowed = allowed or can(actor, Action.MANAGE_MEMBERS, token.site.client)
    if not allowed:
        raise PermissionDenied("You cannot revoke this token.")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(
            actor=actor,
            action="token.revoke",
            target=token,
            client=(
                token.environment.site.client
                if token.environment_id
                else token.site.client
                if token.site_id
                else None
            ),
        )
    return token


def token_lookup(raw: str) -> ApiToken | None:
    """The active token for a presented secret, or None."""
    if not raw.startswith(PREFIX) or len(raw) > 100:
        return None
    # The user only: a request needs the token's environment and site ids, not their rows
    # (each join costs every API request its compilation and columns).
    token = ApiToken.objects.select_related("user").filter(digest=digest(raw)).first()
    if token is None or not token.is_active or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
