"""Health endpoints for the kubelet and load balancers."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from kombu import Connection

logger = logging.getLogger(__name__)


@never_cache
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """The process is up and serving requests (liveness)."""
    return JsonResponse({"status": "ok"})


def _check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        logger.warning("readiness: database unreachable: %s", exc.__class__.__name__)
        return "unreachable"
    return None


def _check_broker() -> str | None:
    if settings.HANGAR_EMBEDDED_WORKER:
        return None
    try:
        with Connection(settings.CELERY_BROKER_URL, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        logger.warning("readiness: broker unreachable: %s", exc.__class__.__name__)
        return "unreachable"
    return None


@never_cache
@require_GET
def readyz(request: HttpRequest) -> HttpResponse:
    """The database and the broker are reachable (readiness)."""
    problems = {
        name: problem
        for name, problem in (("database", _check_database()), ("broker", _check_broker()))
        if problem
    }
    checks = {
        "database": problems.get("database", "ok"),
        "broker": problems.get("broker", "embedded" if settings.HANGAR_EMBEDDED_WORKER else "ok"),
    }
    return JsonResponse(
        {"status": "unavailable" if problems else "ok", "checks": checks},
        status=503 if problems else 200,
    )
