"""Operations: the status, progress and log of everything Hangar does on clusters."""

from __future__ import annotations

import time
from typing import Any

from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from clusters.engine import operation_cancel
from clusters.models import Operation, OperationEvent
from controlpanel.api import serializers as s
from controlpanel.api.pagination import NewestFirst
from controlpanel.api.permissions import token_of
from controlpanel.api.views.base import TokenAwareMixin
from sites.models import Environment

MAX_WAIT_SECONDS = 60
POLL_SECONDS = 0.5


class OperationViewSet(TokenAwareMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = s.OperationSerializer
    pagination_class = NewestFirst
    filterset_fields = ["status", "kind", "target_type", "target_id", "client", "batch"]

    @property
    def allow_deploy_token(self) -> bool:
        # A deploy token reads the operations it started, and does nothing else with them.
        return self.action in {"list", "retrieve"}

    @property
    def allow_preview_token(self) -> bool:
        # A site's preview token reads its previews' operations, and nothing more.
        return self.action in {"list", "retrieve"}

    def get_queryset(self):
        queryset = Operation.objects.for_user(self.request.user).select_related("requested_by")
        deploy_env = self.deploy_environment_id()
        if deploy_env is not None:
            queryset = queryset.filter(
                target_type="environment",
                target_id=deploy_env,
                api_token_id=token_of(self.request).pk,  # type: ignore[union-attr]
            )
        token = token_of(self.request)
        if token is not None and token.is_preview_token:
            # The operations of the site's previews that exist (a destroyed one's are gone
            # with it: GET on the preview answers 404 then).
            previews = Environment.objects.filter(site_id=token.site_id, is_preview=True)
            queryset = queryset.filter(
                target_type="environment", target_id__in=previews.values("pk")
            )
        if self.action == "retrieve":
            queryset = queryset.prefetch_related(
                Prefetch("events", queryset=OperationEvent.objects.order_by("created_at", "id"))
            )
        return queryset

    def get_serializer_class(self):
        return s.OperationDetailSerializer if self.action == "retrieve" else s.OperationSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "wait",
                int,
                description=f"Long-poll up to this many seconds (≤ {MAX_WAIT_SECONDS}) "
                "until the operation has finished.",
            )
        ]
    )
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        operation = self.get_object()
        try:
            wait = min(max(int(request.query_params.get("wait", 0)), 0), MAX_WAIT_SECONDS)
        except ValueError:
            from django.core.exceptions import ValidationError

            raise ValidationError({"wait": "A whole number of seconds, 0-60."}) from None
        deadline = time.monotonic() + wait
        while not operation.is_finished and time.monotonic() < deadline:
            time.sleep(POLL_SECONDS)
            operation = self.get_object()
        return Response(self.get_serializer(operation).data)

    @extend_schema(request=s.EmptySerializer, responses={200: s.OperationSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        operation = operation_cancel(actor=request.user, operation=self.get_object())
        return Response(s.OperationSerializer(operation).data)
