"""Backups: list, take, restore (into any environment of the site), download links."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse

from controlpanel.api import serializers as s
from controlpanel.api.views.base import accepted, idempotency_key
from controlpanel.api.views.environments import parse
from controlpanel.api.views.local import SanitizedDumpOutput, SanitizedLinkOutput
from controlpanel.integrations.models import Scope
from sites.backups.services import backup_download_url, backup_restore, backups_visible
from sites.local.services import backup_sanitize, sanitized_download
from sites.models import Backup, Environment, Tier


class BackupViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Backup.objects.none()  # for the schema; requests use get_queryset
    serializer_class = s.BackupSerializer
    filterset_fields = ["site", "environment", "status", "kind"]
    required_scope: str | None = None  # set per action (HasScope)

    def get_queryset(self):
        return backups_visible(self.request.user).order_by("-taken_at", "-pk")

    @extend_schema(request=s.RestoreSerializer, responses={202: s.OperationSerializer})
    @action(detail=True, methods=["post"])
    def restore(self, request: Request, pk: str) -> Response:
        backup = self.get_object()
        data = parse(s.RestoreSerializer, request)
        target = get_object_or_404(Environment.objects.for_user(request.user), pk=data["target"])
        if target.tier == Tier.PRODUCTION and data["confirm"] != target.namespace:
            raise ValidationError(
                {"confirm": f"Restoring over production: type its namespace, {target.namespace}."}
            )
        return accepted(
            request,
            backup_restore(
                actor=request.user,
                backup=backup,
                target=target,
                restore_files=data["restore_files"],
                confirm_empty=data["confirm_empty"],
                idempotency_key=idempotency_key(request),
            ),
        )

    @extend_schema(request=s.DownloadSerializer, responses={200: s.DownloadLinkSerializer})
    @action(detail=True, methods=["post"])
    def download(self, request: Request, pk: str) -> Response:
        data = parse(s.DownloadSerializer, request)
        url = backup_download_url(actor=request.user, backup=self.get_object(), what=data["what"])
        return Response({"url": url, "expires_in": settings.HANGAR_BACKUP_DOWNLOAD_SECONDS})

    @extend_schema(request=None, responses={202: SanitizedDumpOutput})
    @action(detail=True, methods=["post"], required_scope=Scope.DEPLOY)
    def sanitize(self, request: Request, pk: str) -> Response:
        """Make a sanitized copy of this backup's database for local development (an
        operation in the cluster); poll `operation`, then GET `sanitized/`."""
        dump = backup_sanitize(
            actor=request.user, backup=self.get_object(), idempotency_key=idempotency_key(request)
        )
        location = reverse("api:operation-detail", args=[dump.operation_id], request=request)
        return Response(SanitizedDumpOutput(dump).data, status=202, headers={"Location": location})

    @extend_schema(responses={200: SanitizedLinkOutput})
    @action(detail=True, methods=["get"])
    def sanitized(self, request: Request, pk: str) -> Response:
        """A short-lived download link to the newest sanitized dump of this backup."""
        dump, url = sanitized_download(actor=request.user, backup=self.get_object())
        return Response(
            {
                "url": url,
                "expires_in": settings.HANGAR_BACKUP_DOWNLOAD_SECONDS,
                "dump": SanitizedDumpOutput(dump).data,
            }
        )
