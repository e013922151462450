"""Run an environment locally: its compose project as JSON, or as a zip to unpack."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.generics import get_object_or_404
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from sites.local.selectors import environment_local_project, live_image, local_project_zip
from sites.models import Environment


class LocalProjectOutput(serializers.Serializer):
    image = serializers.CharField(help_text="The image that runs, by digest when known.")
    mariadb = serializers.CharField(help_text="The MariaDB image tag (the server's version).")
    files = serializers.DictField(child=serializers.CharField())


class EnvironmentLocalView(APIView):
    """GET the compose project (compose.yaml, .env.example, the Varnish VCL)."""

    def _environment(self, request: Request, pk: str) -> Environment:
        return get_object_or_404(
            Environment.objects.for_user(request.user).select_related("site__client", "cluster"),
            pk=pk,
        )

    @extend_schema(responses={200: LocalProjectOutput})
    def get(self, request: Request, pk: str) -> Response:
        environment = self._environment(request, pk)
        project = environment_local_project(actor=request.user, environment=environment)
        return Response(
            {"image": live_image(environment), "mariadb": project.mariadb, "files": project.files()}
        )


class EnvironmentLocalZipView(EnvironmentLocalView):
    """GET the same files as a zip whose folder is the environment's namespace."""

    @extend_schema(
        responses={(200, "application/zip"): OpenApiResponse(description="The project files.")}
    )
    def get(self, request: Request, pk: str) -> HttpResponse:  # type: ignore[override]
        environment = self._environment(request, pk)
        project = environment_local_project(actor=request.user, environment=environment)
        response = HttpResponse(
            local_project_zip(project, folder=environment.namespace),
            content_type="application/zip",
        )
        response["Content-Disposition"] = f'attachment; filename="{environment.namespace}.zip"'
        return response
