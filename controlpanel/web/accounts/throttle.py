"""Sign-in throttling: after too many failures for one email address within a window,
further attempts for it are refused until the window has passed; after too many from one
IP address, further *failures* from it are answered "too many" (a right password still
signs in: an office shares one address).

Counters live in the Django cache (shared between web processes when CACHE_URL points
at Redis). Counting per address stops password guessing against one account; counting per
IP stops one machine from trying many accounts.
"""

from __future__ import annotations

import hashlib
import math
import time

from django.conf import settings
from django.core.cache import cache


def _key(kind: str, value: str) -> str:
    digest = hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]
    return f"hangar:login-failures:{kind}:{digest}"


def _keys(email: str, ip: str | None) -> list[str]:
    """The counters of `email` and of `ip`; either may be empty."""
    keys = [_key("email", email)] if email else []
    if ip:
        keys.append(_key("ip", ip))
    return keys


def locked_for(email: str, ip: str | None) -> int:
    """Seconds until sign-in is possible again for this address or IP; 0 when it is."""
    limit = settings.HANGAR_LOGIN_MAX_FAILURES
    window = settings.HANGAR_LOGIN_FAILURE_WINDOW
    keys = _keys(email, ip)
    values = cache.get_many([*keys, *(f"{key}:until" for key in keys)])
    now = time.time()
    waits = [
        math.ceil(values.get(f"{key}:until", now + window) - now)
        for key in keys
        if values.get(key, 0) >= limit
    ]
    return max([wait for wait in waits if wait > 0], default=0)


def record_failure(email: str, ip: str | None) -> None:
    """Count one failed attempt (atomically). The window starts at the first failure."""
    window = settings.HANGAR_LOGIN_FAILURE_WINDOW
    for key in _keys(email, ip):
        cache.add(f"{key}:until", time.time() + window, timeout=window)
        cache.add(key, 0, timeout=window)
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=window)


def reset(email: str) -> None:
    """A successful sign-in clears the address's count (not the IP's)."""
    key = _key("email", email)
    cache.delete_many([key, f"{key}:until"])
