"""Creating and cancelling operations."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from clusters.engine.context import log_event
from clusters.engine.dispatch import enqueue_on_commit
from clusters.engine.registry import get_kind
from clusters.models import Cluster, Operation
from controlpanel.core.audit import audit_record, request_token
from controlpanel.core.models import Client, User
from controlpanel.core.permissions import Action, can


class IdempotencyConflict(ValidationError):
    """The idempotency key was used before with a different request."""


def fingerprint(kind: str, target_type: str, target_id: int, params: dict[str, Any]) -> str:
    payload = json.dumps([kind, target_type, target_id, params], sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def operation_create(
    *,
    kind: str,
    cluster: Cluster,
    target: Any,
    lock_key: str,
    client: Client | None = None,
    params: dict[str, Any] | None = None,
    requested_by: User | None = None,
    idempotency_key: str = "",
    steps_total: int = 1,
    fingerprint_params: dict[str, Any] | None = None,
) -> tuple[Operation, bool]:
    """Record an operation and enqueue it once the surrounding transaction commits.

    Call inside the transaction that changes desired state. With an idempotency key that
    was used before for the same request, returns the earlier operation and False.
    `fingerprint_params` says what makes two requests the same, when `params` also holds
    ids created for this request.
    """
    get_kind(kind)  # an unknown kind is a programming error; fail before writing
    params = params or {}
    key = idempotency_key.strip()
    if len(key) > 128:
        raise ValidationError({"idempotency_key": "At most 128 characters."})
    print_ = fingerprint(
        kind,
        target._meta.model_name,
        target.pk,
        params if fingerprint_params is None else fingerprint_params,
    )
    if key:
        earlier = Operation.objects.filter(client=client, idempotency_key=key).first()
        if earlier is not None:
            if earlier.request_fingerprint != print_:
                raise IdempotencyConflict(
                    {"idempotency_key": "This key was already used for a different request."}
                )
            return earlier, False
    try:
        with transaction.atomic():
            op = Operation.objects.create(
                kind=kind,
                cluster=cluster,
                client=client,
                target_type=target._meta.model_name,
                target_id=target.pk,
                target_label=str(target)[:255],
                lock_key=lock_key,
                params=params,
                requested_by=requested_by if requested_by and requested_by.pk else None,
                idempotency_key=key,
                api_token_id=request_token()[0],
                request_fingerprint=print_,
                steps_total=max(1, steps_total),
            )
    except IntegrityError:
        # The same key arrived twice at once; the other request's row won. Its answer is
        # this request's only if the two requests are the same.
        earlier = Operation.objects.get(client=client, idempotency_key=key)
        if earlier.request_fingerprint != print_:
            raise IdempotencyConflict(
                {"idempotency_key": "This key was already used for a different request."}
            ) from None
        return earlier, False
    log_event(op, f"Requested by {requested_by or 'the system'}.")
    enqueue_on_commit(op)
    return op, True


@transaction.atomic
def operation_cancel(*, actor: User, operation: Operation) -> Operation:
    """Cancel an operation that has not started. A running one finishes its run."""
    if operation.client is not None:
        allowed = can(actor, Action.DEPLOY, operation.client)
    else:
        allowed = can(actor, Action.MANAGE_CLUSTERS)
    if not allowed:
        raise PermissionDenied("You are not allowed to cancel this operation.")
    updated = Operation.objects.filter(pk=operation.pk, status=Operation.Status.PENDING).update(
        status=Operation.Status.CANCELLED,
        error=f"Cancelled by {actor}.",
    )
    operation.refresh_from_db()
    if not updated:
        raise ValidationError(
            {"status": f"Only pending operations can be cancelled; this one is {operation.status}."}
        )
    log_event(operation, f"Cancelled by {actor}.")
    audit_record(actor=actor, action="operation.cancel", target=operation, client=operation.client)
    return operation
