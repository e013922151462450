"""Fleet deploys: one image to every matching environment (a base-image security update)."""

from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.db import transaction

from clusters.models import Operation
from controlpanel.core.models import User
from controlpanel.core.permissions import Action, require
from sites import validators as v
from sites.selectors import FleetFilter, fleet_environments
from sites.services.environments import environment_deploy


@transaction.atomic
def fleet_deploy(*, actor: User, image: str, where: FleetFilter) -> tuple[str, list[Operation]]:
    """One image to every matching environment (the base-image security update): one
    operation each, which the per-cluster limit keeps from flooding an API server.
    Returns the batch id that `fleet_progress` reports on."""
    require(actor, Action.MANAGE_CLUSTERS)
    try:
        v.validate_image_reference(image)
    except ValidationError as exc:
        raise ValidationError({"image": exc.messages}) from None
    batch = uuid.uuid4().hex[:12]
    operations = []
    for environment in fleet_environments(actor=actor, where=where):
        operation = environment_deploy(
            actor=actor, environment=environment, image=image, note=f"Fleet deploy {batch}"
        )
        Operation.objects.filter(pk=operation.pk).update(batch=batch)
        operations.append(operation)
    if not operations:
        raise ValidationError({"filter": "No provisioned environment matches."})
    return batch, operations
