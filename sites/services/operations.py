"""The one way work on an environment becomes an Operation.

Every service that changes what runs on a cluster (deploys, scaling, configuration,
backups, restores, destroying) checks permission and validates first, then calls
`environment_operation` inside its transaction: the Operation is recorded, audited and
enqueued once the transaction commits.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from clusters.engine import operation_create
from clusters.models import Operation
from controlpanel.core.audit import audit_record
from controlpanel.core.models import User
from sites.models import Environment

# Actions queue behind a provisioning that is under way (operations of one environment
# run in order), but an environment that was never provisioned has nothing to act on.
PROVISIONED = (
    Environment.Status.PROVISIONING,
    Environment.Status.ACTIVE,
    Environment.Status.FAILED,
)
# Ids created for one request (a Release row) are not what the audit log should compare.
_NOT_AUDITED = frozenset({"release_id"})


def require_provisioned(environment: Environment) -> None:
    """Field-keyed error unless the environment exists (or is being created) on its cluster."""
    if environment.status not in PROVISIONED:
        raise ValidationError(
            {
                "environment": f"{environment} is {environment.get_status_display().lower()}; "
                "provision it first."
            }
        )


def environment_operation(
    *,
    kind: str,
    environment: Environment,
    actor: User | None,
    params: dict[str, Any] | None = None,
    idempotency_key: str = "",
    steps_total: int = 2,
    fingerprint_params: dict[str, Any] | None = None,
) -> tuple[Operation, bool]:
    """Record an operation of `kind` on `environment`; call inside the changing transaction.

    Returns (operation, created): with an idempotency key used before for the same request,
    the earlier operation and False. Only a new operation is audited.
    """
    params = params or {}
    operation, created = operation_create(
        kind=kind,
        cluster=environment.cluster,
        target=environment,
        lock_key=environment.lock_key,
        client=environment.site.client,
        params=params,
        requested_by=actor,
        idempotency_key=idempotency_key,
        steps_total=steps_total,
        fingerprint_params=fingerprint_params,
    )
    if created:
        audit_record(
            actor=actor,
            action=kind,
            target=environment,
            client=environment.site.client,
            changes={k: val for k, val in params.items() if k not in _NOT_AUDITED},
        )
    return operation, created
