"""Run an environment locally: its compose project as JSON, or as a zip to unpack; the
script that fetches its files; the site's sanitize rules. The sanitized dumps themselves
are actions of the backups (views/backups.py)."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.generics import get_object_or_404
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from controlpanel.api.views.environments import parse
from sites.local.rules import MAX_SANITIZE_SQL_LENGTH
from sites.local.selectors import environment_local_project, live_image, local_project_zip
from sites.local.services import (
    environment_files_script,
    site_sanitize_rules,
    site_sanitize_rules_set,
)
from sites.models import Environment, Site


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


class SanitizedDumpOutput(serializers.Serializer):
    id = serializers.IntegerField()
    backup = serializers.IntegerField(source="backup_id")
    status = serializers.CharField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField()
    tables = serializers.IntegerField()
    sanitize_sql = serializers.CharField(help_text="The rules this dump was made with.")
    operation = serializers.IntegerField(source="operation_id", allow_null=True)
    error = serializers.CharField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


class SanitizedLinkOutput(serializers.Serializer):
    url = serializers.URLField(help_text="A short-lived link to the sanitized dump (gzip).")
    expires_in = serializers.IntegerField()
    dump = SanitizedDumpOutput()


class SanitizeRules(serializers.Serializer):
    sanitize_sql = serializers.CharField(
        allow_blank=True,
        max_length=MAX_SANITIZE_SQL_LENGTH,
        help_text="SQL run on a scratch copy of a backup; empty: the defaults of the site's kind.",
    )
    is_default = serializers.BooleanField(read_only=True)


class SiteSanitizeRulesView(APIView):
    """GET the rules a sanitized dump of the site runs; PUT the owner's own."""

    def _site(self, request: Request, pk: str) -> Site:
        return get_object_or_404(Site.objects.for_user(request.user), pk=pk)

    def _body(self, site: Site) -> dict:
        return {"sanitize_sql": site_sanitize_rules(site), "is_default": not site.sanitize_sql}

    @extend_schema(responses={200: SanitizeRules})
    def get(self, request: Request, pk: str) -> Response:
        return Response(self._body(self._site(request, pk)))

    @extend_schema(request=SanitizeRules, responses={200: SanitizeRules})
    def put(self, request: Request, pk: str) -> Response:
        site = self._site(request, pk)
        data = parse(SanitizeRules, request)
        site = site_sanitize_rules_set(
            actor=request.user, site=site, sanitize_sql=data["sanitize_sql"]
        )
        return Response(self._body(site))


class EnvironmentFilesScriptView(EnvironmentLocalView):
    """GET a shell script that downloads the environment's files (presigned links)."""

    @extend_schema(responses={(200, "text/x-shellscript"): OpenApiResponse(description="files.sh")})
    def get(self, request: Request, pk: str) -> HttpResponse:  # type: ignore[override]
        environment = self._environment(request, pk)
        script = environment_files_script(actor=request.user, environment=environment)
        response = HttpResponse(script, content_type="text/x-shellscript; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="files.sh"'
        response["Cache-Control"] = "no-store"
        return response
