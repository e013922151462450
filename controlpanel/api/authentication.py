"""Bearer-token authentication for `Authorization: Bearer hgr_...`."""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from controlpanel.api.tokens import PREFIX, token_lookup
from controlpanel.core.audit import set_request_token

FAILED_ATTEMPTS_PER_MINUTE = 20


def _client_ip(request: Request) -> str:
    return request.META.get("REMOTE_ADDR") or "unknown"


class TokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        header = authentication.get_authorization_header(request).decode(errors="replace")
        if not header:
            return None
        parts = header.split()
        if len(parts) != 2 or parts[0] != self.keyword or not parts[1].startswith(PREFIX):
            return None  # not ours: let other schemes (or anonymity) decide
        key = f"hangar:api-auth-failures:{_client_ip(request)}"
        if (cache.get(key) or 0) >= FAILED_ATTEMPTS_PER_MINUTE:
            raise exceptions.Throttled(
                wait=60, detail="Too many failed authentication attempts from this address."
            )
        token = token_lookup(parts[1])
        if token is None:
            cache.add(key, 0, timeout=60)
            try:
                cache.incr(key)
            except ValueError:
                cache.set(key, 1, timeout=60)
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked token.")
        set_request_token(token.pk, token.name)
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="api"'


class TokenAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "controlpanel.api.authentication.TokenAuthentication"
    name = "token"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal access token or a deploy token (`hgr_...`).",
        }
