"""Liveness and readiness, as the kubelet and a load balancer see them."""

from __future__ import annotations

import socket

import pytest
from django.test import override_settings


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_healthz_answers_without_touching_the_database(client):
    # No django_db mark: any query here would raise.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


@pytest.mark.django_db
def test_readyz_checks_the_real_database_and_broker(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}


@pytest.mark.django_db
def test_readyz_shows_a_broker_outage_but_stays_ready(client):
    """Actions are still accepted without a broker (the sweeper delivers them later), so
    a broker outage must not take every web pod out of service."""
    with override_settings(CELERY_BROKER_URL=f"redis://127.0.0.1:{closed_port()}/0"):
        response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "broker": "unreachable"},
    }


@pytest.mark.django_db
def test_readyz_is_503_when_its_database_is_unreachable(client):
    from django.db import connection

    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict["PORT"] = closed_port()
    try:
        response = client.get("/readyz")
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["checks"]["database"] == "unreachable"


@pytest.mark.django_db
def test_readyz_reports_the_embedded_worker(client):
    with override_settings(HANGAR_EMBEDDED_WORKER=True):
        response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["broker"] == "embedded"


def test_health_endpoints_refuse_writes(client):
    assert client.post("/healthz").status_code == 405


@override_settings(SECURE_SSL_REDIRECT=True)
def test_probes_are_not_redirected_to_https(client):
    assert client.get("/healthz").status_code == 200
    assert client.get("/login/").status_code == 301
