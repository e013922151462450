"""The per-token rate limit counts atomically (issue 13.7): of many concurrent requests,
no more than the limit pass. Counted in Redis, the shared cache several web pods use
(docs/security.md): a read-then-write counter lets them all through on one reading."""

from __future__ import annotations

import os
import random
import threading

from django.test import override_settings
from rest_framework.test import APIRequestFactory

from controlpanel.api.throttling import TokenRateThrottle
from controlpanel.integrations.models import ApiToken

REDIS = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0"),
        "KEY_PREFIX": "rate-limit-test",
    }
}


@override_settings(CACHES=REDIS)
def test_concurrent_requests_never_pass_more_than_the_limit():
    # A token id no other run uses: its counter is fresh without clearing the database.
    token = ApiToken(pk=random.randrange(10**9, 10**12), name="ci")
    request = APIRequestFactory().get("/api/v1/clients/")
    request.auth = token
    limit, threads, each = 60, 8, 20
    passed = []
    start = threading.Barrier(threads)

    def worker():
        throttle = TokenRateThrottle()
        # An hour's window: the run (well under a second) almost never spans two.
        throttle.rate, (throttle.num_requests, throttle.duration) = "60/hour", (limit, 3600)
        start.wait()
        passed.append(sum(throttle.allow_request(request, None) for _ in range(each)))

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    assert sum(passed) == limit  # DRF's own counter let all 160 through
