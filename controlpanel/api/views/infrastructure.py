"""Clusters, node pools and sizes (staff), and the audit log."""

from __future__ import annotations

import json
from typing import Any

from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from clusters.connection import cluster_test_connection
from clusters.models import Cluster, NodePool, NodeSize
from clusters.nodes import cluster_sync_nodes
from controlpanel.api import serializers as s
from controlpanel.api.pagination import NewestFirst
from controlpanel.core.audit_export import audit_events_csv, audit_events_for_user
from controlpanel.core.models import AuditEvent
from controlpanel.core.permissions import Action, require


class ClusterViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = s.ClusterSerializer
    filterset_fields = ["provider", "region", "is_sandbox"]

    def get_queryset(self):
        return Cluster.objects.for_user(self.request.user).order_by("pk")

    @extend_schema(request=s.EmptySerializer, responses={200: s.ClusterSerializer})
    @action(detail=True, methods=["post"], url_path="test-connection")
    def test_connection(self, request: Request, pk: str) -> Response:
        cluster = self.get_object()
        require(request.user, Action.MANAGE_CLUSTERS)
        cluster_test_connection(cluster=cluster)
        return Response(s.ClusterSerializer(cluster).data)

    @extend_schema(request=s.EmptySerializer, responses={200: s.NodePoolSerializer(many=True)})
    @action(detail=True, methods=["post"], url_path="sync-nodes")
    def sync_nodes(self, request: Request, pk: str) -> Response:
        cluster = self.get_object()
        require(request.user, Action.MANAGE_CLUSTERS)
        pools = cluster_sync_nodes(cluster=cluster).pools
        return Response(s.NodePoolSerializer(pools, many=True).data)


class NodePoolViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = s.NodePoolSerializer
    filterset_fields = ["cluster", "dedicated_client"]

    def get_queryset(self):
        return NodePool.objects.for_user(self.request.user).select_related("size").order_by("pk")


class NodeSizeViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = s.NodeSizeSerializer
    filterset_fields = ["provider"]

    def get_queryset(self):
        return NodeSize.objects.for_user(self.request.user).order_by("pk")


class CSVRenderer(BaseRenderer):
    """Lets a client ask for `Accept: text/csv`; the export streams its own body, and
    errors (problem details) are written as JSON."""

    media_type = "text/csv"
    format = "csv"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context=None):
        return json.dumps(data).encode() if data is not None else b""


class AuditEventViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = AuditEvent.objects.none()  # for the schema; requests use get_queryset
    serializer_class = s.AuditEventSerializer
    pagination_class = NewestFirst
    filterset_fields = ["client", "action", "target_type"]

    def get_renderers(self):
        if getattr(self, "action", None) == "export":
            return [JSONRenderer(), CSVRenderer()]
        return super().get_renderers()

    def get_queryset(self):
        # Staff read every event; owners their client's; developers and viewers none.
        return audit_events_for_user(self.request.user)

    @extend_schema(
        summary="Export the audit log as CSV",
        description=(
            "The events the list shows (same scoping and filters), oldest first, as CSV: "
            "id, created_at, actor, actor_id, client, client_id, action, target_type, "
            "target_id, target, changes (JSON), ip_address, user_agent."
        ),
        parameters=[
            OpenApiParameter("client", int, description="Only this client's events."),
            OpenApiParameter("action", str, description="Only this action."),
            OpenApiParameter("target_type", str, description="Only this kind of object."),
        ],
        responses={(200, "text/csv"): str},
    )
    def export(self, request: Request) -> StreamingHttpResponse:
        """GET /api/v1/audit-events/export.csv (routed in urls.py, beside the router)."""
        events = self.filter_queryset(self.get_queryset())
        response = StreamingHttpResponse(
            audit_events_csv(events), content_type="text/csv; charset=utf-8"
        )
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        response["Content-Disposition"] = f'attachment; filename="hangar-audit-{stamp}.csv"'
        response["Cache-Control"] = "no-store"
        return response
