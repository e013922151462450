"""A client's webhooks and their delivery log (owners and staff)."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from controlpanel.api import serializers as s
from controlpanel.api.pagination import NewestFirst
from controlpanel.api.views.environments import parse
from controlpanel.core.models import Client
from controlpanel.core.permissions import Action, require
from controlpanel.integrations.models import Webhook
from controlpanel.integrations.webhooks import (
    webhook_create,
    webhook_delete,
    webhook_ping,
    webhook_update,
)


class WebhookViewSet(
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.ReadOnlyModelViewSet,
):
    queryset = Webhook.objects.none()  # for the schema; requests use get_queryset
    serializer_class = s.WebhookSerializer
    filterset_fields = ["client", "active"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return Webhook.objects.for_user(self.request.user).select_related("client").order_by("pk")

    def get_object(self) -> Webhook:
        webhook = super().get_object()
        # Developers and viewers may not even read the endpoints their client posts to.
        require(self.request.user, Action.MANAGE_INTEGRATIONS, webhook.client)
        return webhook

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        from controlpanel.core.permissions import can

        allowed = [
            c.pk
            for c in Client.objects.for_user(request.user)
            if can(request.user, Action.MANAGE_INTEGRATIONS, c)
        ]
        queryset = self.filter_queryset(self.get_queryset().filter(client_id__in=allowed))
        return self.paginated_list(queryset)

    def paginated_list(self, queryset: Any) -> Response:
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(s.WebhookSerializer(page, many=True).data)

    @extend_schema(request=s.WebhookCreateSerializer, responses={201: s.WebhookCreatedSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = parse(s.WebhookCreateSerializer, request)
        client = get_object_or_404(Client.objects.for_user(request.user), pk=data["client"])
        webhook, secret = webhook_create(
            actor=request.user, client=client, url=data["url"], events=data["events"]
        )
        return Response(s.WebhookSerializer(webhook).data | {"secret": secret}, status=201)

    @extend_schema(request=s.WebhookUpdateSerializer, responses={200: s.WebhookSerializer})
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = parse(s.WebhookUpdateSerializer, request)
        webhook = webhook_update(actor=request.user, webhook=self.get_object(), **data)
        return Response(s.WebhookSerializer(webhook).data)

    @extend_schema(exclude=True)
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.partial_update(request, *args, **kwargs)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        webhook_delete(actor=request.user, webhook=self.get_object())
        return Response(status=204)

    @extend_schema(responses={200: s.WebhookDeliverySerializer(many=True)})
    @action(detail=True, methods=["get"], pagination_class=NewestFirst)
    def deliveries(self, request: Request, pk: str) -> Response:
        webhook = self.get_object()
        page = self.paginate_queryset(webhook.deliveries.all())
        return self.get_paginated_response(s.WebhookDeliverySerializer(page, many=True).data)

    @extend_schema(request=s.EmptySerializer, responses={202: s.WebhookDeliverySerializer})
    @action(detail=True, methods=["post"])
    def ping(self, request: Request, pk: str) -> Response:
        """Send a test event now, to check the endpoint and its signature check."""
        parse(s.EmptySerializer, request)
        delivery = webhook_ping(actor=request.user, webhook=self.get_object())
        return Response(s.WebhookDeliverySerializer(delivery).data, status=202)
