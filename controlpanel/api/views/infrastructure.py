"""Clusters, node pools and sizes (staff), and the audit log."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from clusters.connection import cluster_test_connection
from clusters.models import Cluster, NodePool, NodeSize
from clusters.nodes import cluster_sync_nodes
from controlpanel.api import serializers as s
from controlpanel.api.pagination import NewestFirst
from controlpanel.core.models import AuditEvent, Client
from controlpanel.core.permissions import Action, can, require
from controlpanel.core.tenancy import is_agency_staff


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
        pools = cluster_sync_nodes(cluster=cluster)
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


class AuditEventViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = AuditEvent.objects.none()  # for the schema; requests use get_queryset
    serializer_class = s.AuditEventSerializer
    pagination_class = NewestFirst
    filterset_fields = ["client", "action", "target_type"]

    def get_queryset(self):
        user = self.request.user
        queryset = AuditEvent.objects.for_user(user)
        if not is_agency_staff(user):
            # Owners read their client's log; developers and viewers do not.
            allowed = [
                client.pk
                for client in Client.objects.for_user(user)
                if can(user, Action.VIEW_AUDIT, client)
            ]
            queryset = queryset.filter(client_id__in=allowed)
        return queryset
