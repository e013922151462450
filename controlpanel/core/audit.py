"""Writing the audit log. Services call `audit_record`; views never do.

The request's IP address and user agent reach services through a context variable set by
`AuditContextMiddleware`, so service signatures stay about the domain. Outside a request
(Celery beat, management commands) both stay empty and an event without an actor reads
"system".
"""

from __future__ import annotations

import contextvars
import hashlib
import ipaddress
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.http import HttpRequest, HttpResponse

from controlpanel.core.fields import EncryptedTextField
from controlpanel.core.models import AuditEvent, Client, User

# (id, name) of the API token this request authenticated with; set by the API's
# authentication, reset with the rest of the request's context.
_request_token: contextvars.ContextVar[tuple[int | None, str]] = contextvars.ContextVar(
    "hangar_request_token", default=(None, "")
)


def request_token() -> tuple[int | None, str]:
    """(id, name) of the API token acting in this request, (None, "") for none."""
    return _request_token.get()


def set_request_token(token_id: int, name: str) -> None:
    _request_token.set((token_id, name))


_request_ip: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "hangar_request_ip", default=None
)
_request_user_agent: contextvars.ContextVar[str] = contextvars.ContextVar(
    "hangar_request_user_agent", default=""
)
USER_AGENT_MAX = 255

SECRET_CHANGED = "(secret changed)"  # noqa: S105 - a label, not a secret


class _SecretDigest(str):
    """Marks a secret in a snapshot; holds only a digest, never the value."""


def snapshot(instance: models.Model, fields: Iterable[str] | None = None) -> dict[str, Any]:
    """The auditable state of `instance`: concrete field values, secrets as digests."""
    state: dict[str, Any] = {}
    for field in instance._meta.concrete_fields:
        if fields is not None and field.name not in fields:
            continue
        if field.name in {"id", "created_at", "updated_at"}:
            continue
        value = getattr(instance, field.attname)
        if isinstance(field, EncryptedTextField):
            value = _SecretDigest(hashlib.sha256((value or "").encode()).hexdigest())
        elif not isinstance(value, str | int | float | bool | type(None)):
            value = str(value)
        state[field.name if not field.is_relation else field.attname] = value
    return state


def changes_between(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Field → [old, new] for fields that differ; secret fields say only that they changed."""
    changed: dict[str, Any] = {}
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if isinstance(old, _SecretDigest) or isinstance(new, _SecretDigest):
            changed[key] = SECRET_CHANGED
        else:
            changed[key] = [old, new]
    return changed


def audit_record(
    *,
    actor: User | None,
    action: str,
    target: models.Model | None = None,
    client: Client | None = None,
    changes: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the audit log."""
    return AuditEvent.objects.create(
        actor=actor if actor is not None and actor.pk else None,
        actor_label=str(actor) if actor is not None else "system",
        client=client,
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_label=str(target)[:255] if target is not None else "",
        changes=changes or {},
        ip_address=_request_ip.get(),
        user_agent=_request_user_agent.get(),
        token_id=_request_token.get()[0],
        token_name=_request_token.get()[1],
    )


def _valid_ip(value: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address((value or "").strip()))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: the header the ingress sets (`HANGAR_CLIENT_IP_HEADER`, as in
    request.META) when one is configured and holds an address, else REMOTE_ADDR."""
    header = getattr(settings, "HANGAR_CLIENT_IP_HEADER", "")
    if header:
        forwarded = _valid_ip((request.META.get(header) or "").split(",")[0])
        if forwarded:
            return forwarded
    return _valid_ip(request.META.get("REMOTE_ADDR"))


class AuditContextMiddleware:
    """Makes the client's IP address and user agent available to `audit_record` for this
    request (UI, API and admin alike)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # REMOTE_ADDR is the proxy's address behind an ingress; a trusted proxy header
        # is honoured only when the operator configures one (HANGAR_CLIENT_IP_HEADER).
        ip_token = _request_ip.set(client_ip(request))
        agent = (request.META.get("HTTP_USER_AGENT") or "").replace("\x00", "")
        agent_token = _request_user_agent.set(agent[:USER_AGENT_MAX])
        token_token = _request_token.set((None, ""))
        try:
            return self.get_response(request)
        finally:
            _request_ip.reset(ip_token)
            _request_user_agent.reset(agent_token)
            _request_token.reset(token_token)


def save_new_audited(
    instance: models.Model, *, actor: User | None, action: str, client: Client | None
) -> models.Model:
    """Validate (field-keyed errors, nothing saved), save, and audit a new object."""
    instance.full_clean()
    instance.save()
    audit_record(
        actor=actor,
        action=action,
        target=instance,
        client=client,
        changes=changes_between({}, snapshot(instance)),
    )
    return instance


def save_changes_audited(
    instance: models.Model,
    fields: dict[str, Any],
    *,
    allowed: Iterable[str],
    actor: User | None,
    action: str,
    client: Client | None,
) -> dict[str, Any]:
    """Apply `fields` to `instance`, validate, save, and audit what changed. Only `allowed`
    fields may change; others are refused by name. Returns the recorded changes."""
    unknown = set(fields) - set(allowed)
    if unknown:
        raise ValidationError({name: "This field cannot be changed." for name in sorted(unknown)})
    before = snapshot(instance)
    for name, value in fields.items():
        setattr(instance, name, value)
    instance.full_clean()
    instance.save()
    changes = changes_between(before, snapshot(instance))
    if changes:
        audit_record(actor=actor, action=action, target=instance, client=client, changes=changes)
    return changes
