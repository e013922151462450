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
    """Bounded well under the probe's timeout: one try, no connect loop."""
    if settings.HANGAR_EMBEDDED_WORKER:
        return None
    bound = min(settings.HANGAR_BROKER_TIMEOUT, 1.0)
    options = {"socket_connect_timeout": bound, "socket_timeout": bound, "max_retries": 0}
    try:
        with Connection(
            settings.CELERY_BROKER_URL, connect_timeout=bound, transport_options=options
        ) as conn:
            conn.ensure_connection(max_retries=0, timeout=bound)
    except Exception as exc:
        logger.warning("readiness: broker unreachable: %s", exc.__class__.__name__)
        return "unreachable"
    return None


@never_cache
@require_GET
def readyz(request: HttpRequest) -> HttpResponse:
    """Ready when what this web process needs to serve is there: its database. The broker's
    state is shown but does not take the pod out of service: an action accepted while the
    broker is down is recorded as a pending operation, which the sweeper delivers later
    (docs/reliability.md)."""
    database = _check_database()
    broker = _check_broker()
    checks = {
        "database": database or "ok",
        "broker": broker or ("embedded" if settings.HANGAR_EMBEDDED_WORKER else "ok"),
    }
    return JsonResponse(
        {"status": "unavailable" if database else "ok", "checks": checks},
        status=503 if database else 200,
    )
