from __future__ import annotations

import time
from typing import Any

from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from controlpanel.api.permissions import token_of


class TokenRateThrottle(SimpleRateThrottle):
    """Per token (a CI token cannot starve its owner's browser), else per user or IP."""

    scope = "token"
    _wait_seconds: float = 0

    def allow_request(self, request: Request, view: Any) -> bool:
        """A fixed-window counter with one atomic increment per request (the cache's
        incr, atomic in Redis): DRF's read-then-write history lets concurrent requests
        all pass on one reading (601 of 700 passed a limit of 600)."""
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        now = time.time()
        window = int(now // self.duration)
        counter = f"{key}:{window}"
        cache.add(counter, 0, timeout=self.duration + 1)
        try:
            count = cache.incr(counter)
        except ValueError:  # expired between add and incr
            cache.set(counter, 1, timeout=self.duration + 1)
            count = 1
        if count > self.num_requests:
            self._wait_seconds = (window + 1) * self.duration - now
            return False
        return True

    def wait(self) -> float:
        return self._wait_seconds

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        token = token_of(request)
        if token is not None:
            ident = f"token:{token.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
