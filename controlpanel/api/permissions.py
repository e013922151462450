"""Token scopes. Roles decide what a person may do (core.permissions); scopes narrow what
one of their tokens may do. Session (browser) requests are not narrowed."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from controlpanel.integrations.models import ApiToken, Scope


def token_of(request: Request) -> ApiToken | None:
    auth = getattr(request, "auth", None)
    return auth if isinstance(auth, ApiToken) else None


def needed_scope(request: Request, view: Any) -> str:
    declared = getattr(view, "required_scope", None)
    if declared:
        return declared
    return Scope.READ if request.method in SAFE_METHODS else Scope.WRITE


class HasScope(BasePermission):
    """A personal token needs the view's scope (`write` and `deploy` imply `read`; `admin`
    implies all). A deploy token may only use views that declare `allow_deploy_token`, a
    site's preview token only those that declare `allow_preview_token`."""

    message = "This token's scopes do not allow this request."

    def has_permission(self, request: Request, view: Any) -> bool:
        token = token_of(request)
        if token is None:
            return True
        if token.is_deploy_token:
            return bool(getattr(view, "allow_deploy_token", False))
        if token.is_preview_token:
            return bool(getattr(view, "allow_preview_token", False))
        scopes = set(token.scopes)
        if Scope.ADMIN in scopes:
            return True
        needed = needed_scope(request, view)
        if needed == Scope.READ:
            return bool(scopes & {Scope.READ, Scope.WRITE, Scope.DEPLOY})
        # Exactly as docs/api.md says: `write` changes configuration but does not deploy,
        # `deploy` deploys but changes nothing else.
        return needed in scopes
