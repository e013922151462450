"""Creating and cancelling operations."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from clusters.engine.context import log_event
from clusters.engine.dispatch import enqueue_on_commit
from clusters.engine.registry import find_kind, get_kind, run_cancel_hook
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


def may_cancel(actor: User, operation: Operation) -> bool:
    """Whether `actor` may cancel or stop `operation`: the permission of the action it
    carries out (its kind's, see register), on its client; cluster work needs the
    cluster's managers."""
    if operation.client is None:
        return can(actor, Action.MANAGE_CLUSTERS)
    kind = find_kind(operation.kind)
    permission = Action(kind.permission) if kind is not None and kind.permission else Action.DEPLOY
    return can(actor, permission, operation.client)


def cancellable(operation: Operation) -> bool:
    """Whether a Cancel (pending) or Stop (running) can work for this operation now."""
    if operation.status == Operation.Status.PENDING:
        return True
    kind = find_kind(operation.kind)
    return (
        operation.status == Operation.Status.RUNNING
        and kind is not None
        and kind.abortable
        and operation.abort_requested_at is None
    )


@transaction.atomic
def operation_cancel(*, actor: User, operation: Operation) -> Operation:
    """Cancel an operation that has not started: nothing of it reaches the cluster, and
    what it marked as under way (an environment "destroying") is put back. A running
    operation of an abortable kind is asked to stop: it stops at its next step or poll
    and undoes what it started (see OperationContext and the kind's handler)."""
    if not may_cancel(actor, operation):
        raise PermissionDenied("You are not allowed to cancel this operation.")
    updated = Operation.objects.filter(pk=operation.pk, status=Operation.Status.PENDING).update(
        status=Operation.Status.CANCELLED,
        error=f"Cancelled by {actor}.",
        finished_at=timezone.now(),
    )
    operation.refresh_from_db()
    kind = find_kind(operation.kind)
    if updated:
        log_event(operation, f"Cancelled by {actor}.")
        if kind is not None:
            run_cancel_hook(kind, operation)
        audit_record(
            actor=actor, action="operation.cancel", target=operation, client=operation.client
        )
        return operation
    if operation.status != Operation.Status.RUNNING:
        raise ValidationError(
            {"status": f"This operation has already {FINISHED_AS[operation.status]}."}
        )
    if kind is None or not kind.abortable:
        raise ValidationError(
            {
                "status": "This operation is running and cannot be stopped safely part-way; "
                "it finishes on its own."
            }
        )
    asked = Operation.objects.filter(
        pk=operation.pk, status=Operation.Status.RUNNING, abort_requested_at__isnull=True
    ).update(abort_requested_at=timezone.now())
    if asked:
        log_event(operation, f"Stop requested by {actor}.", "warning")
        audit_record(
            actor=actor, action="operation.abort", target=operation, client=operation.client
        )
    operation.refresh_from_db()
    return operation


def operations_after_cancel(operation: Operation, *, reason: str) -> list[Operation]:
    """Cancel what was queued after `operation` in its batch under its lock key, for a
    failure hook of a kind whose followers need it to have succeeded (a preview's deploy
    needs its data; operations queued together share a batch id): each pending follower
    ends cancelled with `reason`, and its kind's cancel hook runs. A follower a dispatcher
    already started (in the moment between the failure and its hook) is asked to stop if
    its kind can stop, as a person's Stop would. Work queued later, on its own (a destroy),
    is not the batch's and runs."""
    if not operation.batch:
        return []
    followers = Operation.objects.filter(
        lock_key=operation.lock_key,
        batch=operation.batch,
        pk__gt=operation.pk,
        status__in=[Operation.Status.PENDING, Operation.Status.RUNNING],
    ).order_by("pk")
    cancelled = []
    for follower in followers:
        kind = find_kind(follower.kind)
        if Operation.objects.filter(pk=follower.pk, status=Operation.Status.PENDING).update(
            status=Operation.Status.CANCELLED, error=reason[:4000], finished_at=timezone.now()
        ):
            follower.refresh_from_db()
            log_event(follower, reason, "warning")
            if kind is not None:
                run_cancel_hook(kind, follower)
            cancelled.append(follower)
            continue
        stoppable = Operation.objects.filter(
            pk=follower.pk, status=Operation.Status.RUNNING, abort_requested_at__isnull=True
        )
        if (
            kind is not None
            and kind.abortable
            and stoppable.update(abort_requested_at=timezone.now())
        ):
            log_event(follower, f"Stop requested by the system: {reason}", "warning")
            cancelled.append(follower)
    return cancelled


FINISHED_AS = {
    Operation.Status.SUCCEEDED: "succeeded",
    Operation.Status.FAILED: "failed",
    Operation.Status.CANCELLED: "been cancelled",
}
