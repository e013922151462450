from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from controlpanel.api.permissions import token_of


class TokenRateThrottle(SimpleRateThrottle):
    """Per token (a CI token cannot starve its owner's browser), else per user or IP."""

    scope = "token"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        token = token_of(request)
        if token is not None:
            ident = f"token:{token.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
