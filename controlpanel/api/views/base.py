"""What every API view shares: tenant-scoped querysets, ETags, idempotency keys, and the
202 answer of an action."""

from __future__ import annotations

import hashlib
from typing import Any

from django.db import models
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse

from clusters.models import Operation
from controlpanel.api.errors import PreconditionFailed
from controlpanel.api.permissions import token_of
from controlpanel.api.serializers import OperationSerializer

IDEMPOTENCY_HEADER = "Idempotency-Key"


def etag_of(obj: models.Model) -> str:
    stamp = getattr(obj, "updated_at", None) or getattr(obj, "created_at", None)
    raw = f"{obj._meta.label}:{obj.pk}:{stamp.isoformat() if stamp else ''}"
    return '"' + hashlib.sha256(raw.encode()).hexdigest()[:32] + '"'


def check_if_match(request: Request, obj: models.Model) -> None:
    """Optimistic concurrency for PATCH/PUT: a stale If-Match is refused with 412."""
    wanted = request.headers.get("If-Match")
    if wanted is None or wanted.strip() == "*":
        return
    current = etag_of(obj)
    if current not in [tag.strip() for tag in wanted.split(",")]:
        raise PreconditionFailed()


def with_etag(response: Response, obj: models.Model) -> Response:
    response["ETag"] = etag_of(obj)
    return response


def idempotency_key(request: Request) -> str:
    return (request.headers.get(IDEMPOTENCY_HEADER) or "").strip()


def accepted(request: Request, operation: Operation) -> Response:
    """202 Accepted with the operation and where to poll it."""
    location = reverse("api:operation-detail", args=[operation.pk], request=request)
    return Response(
        OperationSerializer(operation).data,
        status=status.HTTP_202_ACCEPTED,
        headers={"Location": location},
    )


class TokenAwareMixin:
    """Querysets for a deploy token shrink to its one environment."""

    request: Request
    # An action may declare the scope it needs (see permissions.HasScope).
    required_scope: str | None = None

    def deploy_environment_id(self) -> int | None:
        token = token_of(self.request)
        return token.environment_id if token is not None and token.is_deploy_token else None

    def paginated(self, queryset: Any, serializer_class: Any) -> Response:
        page = self.paginate_queryset(queryset)  # type: ignore[attr-defined]
        if page is not None:
            data = serializer_class(page, many=True).data
            return self.get_paginated_response(data)  # type: ignore[attr-defined]
        return Response(serializer_class(queryset, many=True).data)
