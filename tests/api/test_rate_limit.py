"""The per-token rate limit counts atomically (issue 13.7): of many concurrent requests,
no more than the limit pass."""

from __future__ import annotations

import threading

from django.core.cache import cache
from rest_framework.test import APIRequestFactory

from controlpanel.api.throttling import TokenRateThrottle
from controlpanel.integrations.models import ApiToken


def test_concurrent_requests_never_pass_more_than_the_limit(settings):
    cache.clear()
    token = ApiToken(pk=424242, name="ci")
    request = APIRequestFactory().get("/api/v1/clients/")
    request.auth = token
    limit, threads, each = 60, 8, 20
    passed = []
    start = threading.Barrier(threads)

    def worker():
        throttle = TokenRateThrottle()
        throttle.rate, (throttle.num_requests, throttle.duration) = "60/min", (limit, 60)
        start.wait()
        passed.append(sum(throttle.allow_request(request, None) for _ in range(each)))

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    assert sum(passed) == limit
    cache.clear()
