"""Bearer-token authentication for `Authorization: Bearer hgr_...`."""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from controlpanel.core.audit import client_ip, set_request_token
from controlpanel.integrations.tokens import PREFIX, digest, token_lookup

FAILED_ATTEMPTS_PER_MINUTE = 20


def _count_failure(key: str) -> int:
    cache.add(key, 0, timeout=60)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=60)
        return 1


class TokenAuthentication(authentication.BaseAuthentication):
    """Bearer tokens. A valid token is always served: failures are throttled per
    presented token and per client address (the trusted client-IP header behind an
    ingress), and past FAILED_ATTEMPTS_PER_MINUTE a failing request is answered 429
    instead of 401, but a CI job with a good token behind the same address is not."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        header = authentication.get_authorization_header(request).decode(errors="replace")
        if not header:
            return None
        parts = header.split()
        if len(parts) != 2 or parts[0] != self.keyword or not parts[1].startswith(PREFIX):
            return None  # not ours: let other schemes (or anonymity) decide
        token = token_lookup(parts[1])
        if token is None:
            counts = [
                _count_failure(f"hangar:api-auth-failures:token:{digest(parts[1])[:32]}"),
                _count_failure(f"hangar:api-auth-failures:ip:{client_ip(request) or 'unknown'}"),
            ]
            if max(counts) > FAILED_ATTEMPTS_PER_MINUTE:
                raise exceptions.Throttled(
                    wait=60, detail="Too many failed authentication attempts; wait a minute."
                )
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
