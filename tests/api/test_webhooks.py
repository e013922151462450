"""Webhooks: signed deliveries of a client's events to a real HTTP endpoint on loopback."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from clusters.engine import operation_create, register
from clusters.engine.runner import run_operation
from controlpanel.integrations.models import Webhook, WebhookDelivery
from controlpanel.integrations.webhooks import MAX_ATTEMPTS, deliver, webhook_create


@register("test.webhook")
def _noop(ctx):
    return {}


class Endpoint:
    """An HTTP server that records what it receives and answers `status`."""

    def __init__(self) -> None:
        self.received: list[tuple[dict, bytes]] = []
        self.status = 200
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                endpoint.received.append((dict(self.headers), body))
                self.send_response(endpoint.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/hangar"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def endpoint(settings):
    settings.HANGAR_WEBHOOK_ALLOW_HTTP = True
    settings.HANGAR_WEBHOOK_ALLOW_PRIVATE = True
    server = Endpoint()
    yield server
    server.server.shutdown()


def test_a_finished_operation_is_delivered_signed(
    endpoint, owner, client_a, cluster, django_capture_on_commit_callbacks
):
    _webhook, secret = webhook_create(
        actor=owner, client=client_a, url=endpoint.url, events=["operation.finished"]
    )
    with django_capture_on_commit_callbacks(execute=True):
        op, _ = operation_create(
            kind="test.webhook", cluster=cluster, target=cluster, lock_key="k", client=client_a
        )
    with django_capture_on_commit_callbacks(execute=True):
        run_operation(op.pk)
    delivery = WebhookDelivery.objects.get()
    assert delivery.event == "operation.finished" and delivery.payload["id"] == op.pk
    deliver(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.response_status == 200
    headers, body = endpoint.received[0]
    assert headers["X-Hangar-Event"] == "operation.finished"
    stamp, signature = (part.split("=", 1)[1] for part in headers["X-Hangar-Signature"].split(","))
    expected = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(signature, expected)
    assert json.loads(body)["data"]["status"] == "succeeded"


def test_failing_endpoints_are_retried_then_marked_failed(endpoint, owner, client_a):
    webhook, _ = webhook_create(
        actor=owner, client=client_a, url=endpoint.url, events=["operation.finished"]
    )
    endpoint.status = 503
    delivery = WebhookDelivery.objects.create(
        webhook=webhook, event="operation.finished", payload={}
    )
    for attempt in range(1, MAX_ATTEMPTS + 1):
        deliver(delivery.pk)
        delivery.refresh_from_db()
        assert delivery.attempts == attempt
    assert delivery.status == "failed" and "503" in delivery.error
    assert len(endpoint.received) == MAX_ATTEMPTS


def test_other_clients_events_are_not_sent(
    endpoint, owner, client_a, other_client, cluster, django_capture_on_commit_callbacks
):
    webhook_create(actor=owner, client=client_a, url=endpoint.url, events=["operation.finished"])
    with django_capture_on_commit_callbacks(execute=True):
        op, _ = operation_create(
            kind="test.webhook", cluster=cluster, target=cluster, lock_key="k", client=other_client
        )
    with django_capture_on_commit_callbacks(execute=True):
        run_operation(op.pk)
    assert not WebhookDelivery.objects.exists()


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("http://hooks.example.com/x", "https"),
        ("https://127.0.0.1/x", "private"),
        ("https://10.0.0.5/x", "private"),
        ("https://169.254.169.254/latest", "private"),
        ("https://user:pw@example.com/x", "credentials"),
        ("ftp://example.com", "https"),
    ],
)
def test_urls_must_be_public_https(api, owner, client_a, url, fragment):
    api.force_authenticate(owner)
    response = api.post(
        "/api/v1/webhooks/",
        {"client": client_a.pk, "url": url, "events": ["operation.finished"]},
        format="json",
    )
    assert response.status_code == 400
    assert fragment in response.json()["errors"]["url"][0]
    assert not Webhook.objects.exists()


def test_webhooks_api_is_for_owners_and_staff(
    api, endpoint, owner, developer, other_owner, staff_operator, client_a
):
    api.force_authenticate(owner)
    created = api.post(
        "/api/v1/webhooks/",
        {
            "client": client_a.pk,
            "url": endpoint.url,
            "events": ["operation.finished", "cron.failed"],
        },
        format="json",
    )
    assert created.status_code == 201 and created.json()["secret"].startswith("whsec_")
    url = f"/api/v1/webhooks/{created.json()['id']}/"
    assert "secret" not in api.get(url).json()
    api.force_authenticate(developer)
    assert api.get(url).status_code == 403
    assert api.get("/api/v1/webhooks/").json()["results"] == []
    api.force_authenticate(other_owner)
    assert api.get(url).status_code == 404
    api.force_authenticate(staff_operator)
    assert api.patch(url, {"active": False}, format="json").status_code == 200
    bad = api.patch(url, {"events": ["everything"]}, format="json")
    assert bad.status_code == 400 and "events" in bad.json()["errors"]


def test_a_deactivated_webhook_stops_retrying(endpoint, owner, client_a):
    from controlpanel.integrations.webhooks import webhook_update

    webhook, _ = webhook_create(
        actor=owner, client=client_a, url=endpoint.url, events=["operation.finished"]
    )
    endpoint.status = 503
    delivery = WebhookDelivery.objects.create(
        webhook=webhook, event="operation.finished", payload={}
    )
    deliver(delivery.pk)
    webhook_update(actor=owner, webhook=webhook, active=False)
    deliver(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == "failed" and "deactivated" in delivery.error
    assert len(endpoint.received) == 1


def test_a_delivery_connects_to_the_address_it_checked(endpoint, owner, client_a, monkeypatch):
    """DNS rebinding: the name answers a checked address once, then another one. The
    delivery goes to the checked address; it never resolves the name a second time."""
    import socket

    real = socket.getaddrinfo
    answers = []

    def rebinding(host, *args, **kwargs):
        if host != "hooks.rebind.test":
            return real(host, *args, **kwargs)
        answers.append(host)
        address = "127.0.0.1" if len(answers) == 1 else "192.0.2.1"  # TEST-NET: unroutable
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, 0))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    url = endpoint.url.replace("127.0.0.1", "hooks.rebind.test")
    webhook, _ = webhook_create(
        actor=owner, client=client_a, url=url, events=["operation.finished"]
    )
    delivery = WebhookDelivery.objects.create(
        webhook=webhook, event="operation.finished", payload={}
    )
    deliver(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == "delivered", delivery.error
    assert len(answers) == 1
    headers, _ = endpoint.received[0]
    assert headers["Host"] == url.split("/")[2]
