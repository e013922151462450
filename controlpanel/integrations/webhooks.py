"""Outbound webhooks: signed JSON POSTs of a client's events, retried, with a delivery log.

Signature header (like Stripe's, so a replayed body is detectable):
    X-Hangar-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import socket
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone
from requests.adapters import HTTPAdapter

from controlpanel.core.audit import audit_record
from controlpanel.core.events import EVENTS, event_published
from controlpanel.core.models import Client, User
from controlpanel.core.permissions import Action, require
from controlpanel.integrations.models import Webhook, WebhookDelivery

logger = logging.getLogger(__name__)

TIMEOUT = (3.0, 5.0)
MAX_ATTEMPTS = 5
BACKOFF = (5, 30, 120, 600)
USER_AGENT = "Hangar-Webhooks/1"


def _check_address(host: str) -> str:
    """Refuse hosts that resolve to internal addresses: a tenant must not be able to make
    the panel call its own network (cloud metadata, the cluster, the database). Returns
    the checked address a delivery connects to (never resolved again: DNS rebinding)."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror:
        raise ValidationError({"url": f"The host {host} does not resolve."}) from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global and not settings.HANGAR_WEBHOOK_ALLOW_PRIVATE:
            raise ValidationError(
                {"url": "The URL points at a private or local address; use a public one."}
            )
    return str(infos[0][4][0])


class _PinnedAdapter(HTTPAdapter):
    """Connects to `address`, the one `_check_address` approved, while TLS still checks
    the certificate of the URL's host name (SNI and hostname verification)."""

    def __init__(self, host: str, address: str) -> None:
        self.host, self.address = host, address
        super().__init__(max_retries=0)

    def build_connection_pool_key_attributes(
        self, request: Any, verify: Any, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        host_params["host"] = self.address
        if host_params.get("scheme") == "https":
            pool_kwargs["server_hostname"] = self.host
            pool_kwargs["assert_hostname"] = self.host
        return host_params, pool_kwargs


def _post_pinned(url: str, address: str, **kwargs: Any) -> requests.Response:
    parts = urlsplit(url)
    headers = {**kwargs.pop("headers", {}), "Host": parts.netloc}
    with requests.Session() as session:
        session.trust_env = False  # no proxy: the connection goes to the checked address
        session.mount(f"{parts.scheme}://", _PinnedAdapter(parts.hostname or "", address))
        return session.post(url, headers=headers, **kwargs)


def validate_url(url: str) -> str:
    parts = urlsplit(url.strip())
    allowed = {"https", "http"} if settings.HANGAR_WEBHOOK_ALLOW_HTTP else {"https"}
    if parts.scheme not in allowed or not parts.hostname:
        raise ValidationError({"url": "Give an https:// URL."})
    if parts.username or parts.password:
        raise ValidationError({"url": "Put no credentials in the URL; deliveries are signed."})
    if not settings.HANGAR_WEBHOOK_ALLOW_PRIVATE:  # development: any host, resolved later
        _check_address(parts.hostname)
    return url.strip()


def _validate_events(events: list[str]) -> list[str]:
    unknown = sorted(set(events) - set(EVENTS))
    if not events or unknown:
        raise ValidationError(
            {
                "events": f"Choose from: {', '.join(EVENTS)}."
                + (f" Unknown: {', '.join(unknown)}." if unknown else "")
            }
        )
    return sorted(set(events))


@transaction.atomic
def webhook_create(
    *, actor: User, client: Client, url: str, events: list[str]
) -> tuple[Webhook, str]:
    """Returns the webhook and its signing secret, shown once."""
    require(actor, Action.MANAGE_INTEGRATIONS, client)
    secret = "whsec_" + secrets.token_urlsafe(32)
    webhook = Webhook.objects.create(
        client=client,
        url=validate_url(url),
        events=_validate_events(events),
        secret=secret,
        created_by=actor,
    )
    audit_record(
        actor=actor,
        action="webhook.create",
        target=webhook,
        client=client,
        changes={"url": [None, webhook.url], "events": [None, webhook.events]},
    )
    return webhook, secret


@transaction.atomic
def webhook_update(*, actor: User, webhook: Webhook, **fields: Any) -> Webhook:
    require(actor, Action.MANAGE_INTEGRATIONS, webhook.client)
    unknown = set(fields) - {"url", "events", "active"}
    if unknown:
        raise ValidationError({name: "This field cannot be changed." for name in unknown})
    if "url" in fields:
        fields["url"] = validate_url(fields["url"])
    if "events" in fields:
        fields["events"] = _validate_events(fields["events"])
    before = {name: getattr(webhook, name) for name in fields}
    for name, value in fields.items():
        setattr(webhook, name, value)
    webhook.save()
    audit_record(
        actor=actor,
        action="webhook.update",
        target=webhook,
        client=webhook.client,
        changes={n: [before[n], v] for n, v in fields.items() if before[n] != v},
    )
    return webhook


@transaction.atomic
def webhook_delete(*, actor: User, webhook: Webhook) -> None:
    require(actor, Action.MANAGE_INTEGRATIONS, webhook.client)
    audit_record(actor=actor, action="webhook.delete", target=webhook, client=webhook.client)
    webhook.delete()


@transaction.atomic
def webhook_ping(*, actor: User, webhook: Webhook) -> WebhookDelivery:
    """A test delivery to one webhook, to check the endpoint and its signature check."""
    require(actor, Action.MANAGE_INTEGRATIONS, webhook.client)
    delivery = WebhookDelivery.objects.create(
        webhook=webhook, event="ping", payload={"webhook": webhook.pk}
    )
    # The panel calls out on a person's request: who made it call where is audited.
    audit_record(
        actor=actor,
        action="webhook.ping",
        target=webhook,
        client=webhook.client,
        changes={"delivery": delivery.pk},
    )
    transaction.on_commit(lambda: _send_later(delivery.pk))
    return delivery


def sign(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def deliver(delivery_id: int) -> WebhookDelivery:
    """One attempt. Leaves the delivery delivered, pending (to retry) or failed."""
    delivery = WebhookDelivery.objects.select_related("webhook").get(pk=delivery_id)
    if delivery.status != WebhookDelivery.Status.PENDING:
        return delivery
    webhook = delivery.webhook
    if not webhook.active:
        # Turned off since the event: the owner asked for no more calls, retries included.
        delivery.status = WebhookDelivery.Status.FAILED
        delivery.error = "The webhook was deactivated; not sent."
        delivery.save(update_fields=["status", "error"])
        return delivery
    body = json.dumps(
        {
            "id": delivery.pk,
            "event": delivery.event,
            "created_at": delivery.created_at.isoformat(),
            "data": delivery.payload,
        },
        sort_keys=True,
    ).encode()
    delivery.attempts += 1
    try:
        # Again at each delivery (DNS may have changed), and the connection goes to the
        # address checked now, not to whatever a second resolution would answer.
        address = _check_address(urlsplit(webhook.url).hostname or "")
        response = _post_pinned(
            webhook.url,
            address,
            data=body,
            timeout=TIMEOUT,
            allow_redirects=False,
            headers={
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                "X-Hangar-Event": delivery.event,
                "X-Hangar-Delivery": str(delivery.pk),
                "X-Hangar-Signature": sign(webhook.secret, body, int(time.time())),
            },
        )
        delivery.response_status = response.status_code
        ok = 200 <= response.status_code < 300
        delivery.error = "" if ok else f"The endpoint answered {response.status_code}."
    except (requests.RequestException, ValidationError) as exc:
        ok = False
        delivery.error = (
            "; ".join(exc.messages)
            if isinstance(exc, ValidationError)
            else f"Could not reach the endpoint ({exc.__class__.__name__})."
        )[:500]
    if ok:
        delivery.status = WebhookDelivery.Status.DELIVERED
        delivery.delivered_at = timezone.now()
    elif delivery.attempts >= MAX_ATTEMPTS:
        delivery.status = WebhookDelivery.Status.FAILED
    delivery.save()
    return delivery


def _send_later(delivery_id: int, countdown: float = 0) -> None:
    mode = settings.HANGAR_OPERATION_DISPATCH
    if mode == "celery":
        from controlpanel.integrations.tasks import deliver_webhook_task

        try:
            deliver_webhook_task.apply_async((delivery_id,), countdown=countdown, retry=False)
        except Exception as exc:
            logger.warning(
                "could not enqueue webhook delivery %s: %s", delivery_id, exc.__class__.__name__
            )
    elif mode == "thread":
        threading.Thread(target=deliver_with_retries, args=(delivery_id,), daemon=True).start()


def deliver_with_retries(delivery_id: int) -> WebhookDelivery:
    """The embedded default's loop; with Celery, the task retries instead."""
    from django.db import connection

    try:
        while True:
            delivery = deliver(delivery_id)
            if delivery.status != WebhookDelivery.Status.PENDING:
                return delivery
            time.sleep(BACKOFF[min(delivery.attempts, len(BACKOFF)) - 1])
    finally:
        connection.close()


def queue_event(*, client: Client, event: str, data: dict[str, Any]) -> list[WebhookDelivery]:
    deliveries = [
        WebhookDelivery.objects.create(webhook=webhook, event=event, payload=data)
        for webhook in Webhook.objects.filter(client=client, active=True)
        if event in webhook.events
    ]
    for delivery in deliveries:
        transaction.on_commit(lambda pk=delivery.pk: _send_later(pk))
    return deliveries


@receiver(event_published)
def _on_event(
    sender: Any, *, client: Client, event: str, data: dict[str, Any], **kwargs: Any
) -> None:
    queue_event(client=client, event=event, data=data)
