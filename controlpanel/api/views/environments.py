"""Environments: reading them, their configuration, and the actions that change what runs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.shortcuts import get_object_or_404
from django.views.decorators.debug import sensitive_variables
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer

from clusters.models import Cluster, Operation
from controlpanel.api import serializers as s
from controlpanel.api.permissions import token_of
from controlpanel.api.views.base import (
    TokenAwareMixin,
    accepted,
    check_if_match,
    idempotency_key,
    with_etag,
)
from controlpanel.core.permissions import Action, require
from controlpanel.integrations.models import Scope
from sites import services
from sites.models import Environment, EnvVar, Release, Site
from sites.selectors import environment_logs, release_digest_warnings

# Of an environment's site, the serializer shows the name and client id only.
UNSHOWN_SITE_COLUMNS = [
    "site__slug", "site__kind", "site__repository_url", "site__image_repository",
    "site__sanitize_sql", "site__created_at", "site__updated_at",
]  # fmt: skip


def parse(serializer_class: Any, request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def body_as_is(request: Request, environment: Environment, data: dict[str, Any]) -> dict[str, Any]:
    """The body's fields are the service's arguments."""
    return {"environment": environment, **data}


def release_of(request: Request, environment: Environment, data: dict[str, Any]) -> dict[str, Any]:
    """Rollback: to the release the body names, if the user may see it."""
    release = get_object_or_404(Release.objects.for_user(request.user), pk=data["release"])
    return {"environment": environment, "release": release}


def promotion(request: Request, environment: Environment, data: dict[str, Any]) -> dict[str, Any]:
    """Promote: from the environment the body names, if the user may see it, to this one."""
    source = get_object_or_404(Environment.objects.for_user(request.user), pk=data["source"])
    return {"source": source, "target": environment}


@dataclass(frozen=True)
class EnvironmentAction:
    """A POST on an environment that starts an operation. ``arguments`` turns the request,
    the environment and the parsed body into the service's keyword arguments besides the
    actor and the idempotency key."""

    name: str  # the view method's name, hence the URL and its name
    serializer: type[Serializer]
    service: Callable[..., Operation]
    scope: str | None = None  # None: a token needs the `write` scope (permissions.py)
    url_path: str | None = None
    arguments: Callable[[Request, Environment, dict[str, Any]], dict[str, Any]] = body_as_is

    def view_method(self) -> Callable[..., Response]:
        """The viewset method DRF's router and drf-spectacular find, as if written out."""

        def method(view: EnvironmentViewSet, request: Request, pk: str) -> Response:
            return view.run_action(self, request)

        method.__name__ = method.__qualname__ = self.name
        options: dict[str, Any] = {"url_path": self.url_path} if self.url_path else {}
        if self.scope is not None:
            options["required_scope"] = self.scope
        routed = action(detail=True, methods=["post"], **options)(method)
        return extend_schema(request=self.serializer, responses={202: s.OperationSerializer})(
            routed
        )


class EnvironmentViewSet(TokenAwareMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = s.EnvironmentSerializer
    filterset_fields = ["site", "tier", "status", "slug", "site__client"]
    search_fields = ["name", "slug", "site__name"]

    @property
    def allow_deploy_token(self) -> bool:
        return self.action in {"retrieve", "deploy"}

    def get_queryset(self):
        if self.action in ("list", "retrieve"):
            # What the serializer shows: no cluster (its kubeconfig and keys would be
            # decrypted for every row), no hash salt, and of the site its name and client id
            # (building the site's and client's whole rows was a fifth of a list's time).
            queryset = (
                Environment.objects.for_user(self.request.user)
                .select_related("site")
                .defer("hash_salt", *UNSHOWN_SITE_COLUMNS)
            )
        else:
            queryset = Environment.objects.for_user(self.request.user).select_related(
                "site__client", "cluster"
            )
        deploy_env = self.deploy_environment_id()
        if deploy_env is not None:
            queryset = queryset.filter(pk=deploy_env)
        return queryset.order_by("pk")

    @extend_schema(request=s.EnvironmentCreateSerializer, responses={201: s.EnvironmentSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = parse(s.EnvironmentCreateSerializer, request)
        site = get_object_or_404(Site.objects.for_user(request.user), pk=data.pop("site"))
        cluster_id = data.pop("cluster", None)
        if cluster_id is not None:
            require(request.user, Action.MANAGE_CLUSTERS)
            cluster = get_object_or_404(Cluster.objects.for_user(request.user), pk=cluster_id)
        else:
            sibling = site.environments.select_related("cluster").first()
            if sibling is None:
                from django.core.exceptions import ValidationError

                raise ValidationError(
                    {"cluster": "The site's first environment needs a cluster; ask the agency."}
                )
            cluster = sibling.cluster
        environment = services.environment_create(
            actor=request.user, site=site, cluster=cluster, **data
        )
        return Response(s.EnvironmentSerializer(environment).data, status=201)

    # The actions that start an operation (deploy, scale, ...) are the rows of ACTIONS,
    # below the class.

    def _environment(self) -> Environment:
        return self.get_object()

    def run_action(self, row: EnvironmentAction, request: Request) -> Response:
        """POST /environments/{id}/{action}/: the body, then the environment, then the
        service; 202 with the operation."""
        data = parse(row.serializer, request)
        environment = self._environment()
        operation = row.service(
            actor=request.user,
            idempotency_key=idempotency_key(request),
            **row.arguments(request, environment, data),
        )
        return accepted(request, operation)

    # --- reads of the live cluster -----------------------------------------------------------

    @extend_schema(
        parameters=[
            OpenApiParameter("container", str, enum=["web", "varnish"]),
            OpenApiParameter("tail", int, description="Lines per pod (1-5000)."),
            OpenApiParameter("since", int, description="Only the last N seconds."),
        ],
        responses={200: s.LogSerializer(many=True)},
    )
    @action(detail=True, methods=["get"])
    def logs(self, request: Request, pk: str) -> Response:
        def number(name: str, default: int | None) -> int | None:
            raw = request.query_params.get(name)
            if raw in (None, ""):
                return default
            try:
                return int(raw)
            except ValueError:
                from django.core.exceptions import ValidationError

                raise ValidationError({name: "A whole number is required."}) from None

        logs = environment_logs(
            actor=request.user,
            environment=self._environment(),
            container=request.query_params.get("container", "web"),
            tail_lines=number("tail", 200),
            since_seconds=number("since", None),
        )
        return Response(s.LogSerializer(logs, many=True).data)

    # --- nested configuration --------------------------------------------------------------

    @extend_schema(methods=["get"], responses={200: s.DomainSerializer(many=True)})
    @extend_schema(
        methods=["post"], request=s.DomainCreateSerializer, responses={201: s.DomainSerializer}
    )
    @action(detail=True, methods=["get", "post"])
    def domains(self, request: Request, pk: str) -> Response:
        environment = self._environment()
        if request.method == "GET":
            return self.paginated(environment.domains.all(), s.DomainSerializer)
        data = parse(s.DomainCreateSerializer, request)
        domain = services.domain_add(actor=request.user, environment=environment, **data)
        return Response(s.DomainSerializer(domain).data, status=201)

    @extend_schema(methods=["get"], responses={200: s.EnvVarSerializer(many=True)})
    @extend_schema(
        methods=["post"], request=s.EnvVarWriteSerializer, responses={201: s.EnvVarSerializer}
    )
    @action(detail=True, methods=["get", "post"])
    @sensitive_variables("data")  # a secret variable's value: masked in error reports
    def variables(self, request: Request, pk: str) -> Response:
        environment = self._environment()
        if request.method == "GET":
            return self.paginated(environment.env_vars.all(), s.EnvVarSerializer)
        data = parse(s.EnvVarWriteSerializer, request)
        existing = EnvVar.objects.filter(environment=environment, key=data["key"]).first()
        if existing is not None:
            check_if_match(request, existing)
        variable = services.env_var_set(actor=request.user, environment=environment, **data)
        response = Response(s.EnvVarSerializer(variable).data, status=200 if existing else 201)
        return with_etag(response, variable)

    @extend_schema(methods=["get"], responses={200: s.CronScheduleSerializer(many=True)})
    @extend_schema(
        methods=["post"], request=s.CronCreateSerializer, responses={201: s.CronScheduleSerializer}
    )
    @action(detail=True, methods=["get", "post"])
    def cron(self, request: Request, pk: str) -> Response:
        environment = self._environment()
        if request.method == "GET":
            return self.paginated(
                environment.cron_schedules.select_related("environment__site__client"),
                s.CronScheduleSerializer,
            )
        data = parse(s.CronCreateSerializer, request)
        cron = services.cron_schedule_create(actor=request.user, environment=environment, **data)
        return Response(s.CronScheduleSerializer(cron).data, status=201)

    @extend_schema(responses={200: s.ReleaseSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def releases(self, request: Request, pk: str) -> Response:
        environment = self._environment()
        page = self.paginate_queryset(environment.releases.select_related("created_by"))
        release_digest_warnings(page)  # one query for the page, not one per release
        return self.get_paginated_response(s.ReleaseSerializer(page, many=True).data)

    @extend_schema(request=s.DeployTokenCreateSerializer, responses={201: s.TokenCreatedSerializer})
    @action(detail=True, methods=["post"], url_path="deploy-tokens")
    def deploy_tokens(self, request: Request, pk: str) -> Response:
        from controlpanel.integrations.tokens import deploy_token_create

        data = parse(s.DeployTokenCreateSerializer, request)
        row, token = deploy_token_create(
            actor=request.user,
            environment=self._environment(),
            name=data["name"],
            expires_at=data.get("expires_at"),
            parent=token_of(request),
        )
        body = s.TokenSerializer(row).data | {"token": token}
        return Response(body, status=201)

    @extend_schema(methods=["get"], responses={200: s.BackupSerializer(many=True)})
    @extend_schema(
        methods=["post"], request=s.EmptySerializer, responses={202: s.OperationSerializer}
    )
    @action(detail=True, methods=["get", "post"])
    def backups(self, request: Request, pk: str) -> Response:
        from sites.backups.services import backup_create, backups_visible

        environment = self._environment()
        if request.method == "GET":
            return self.paginated(
                backups_visible(request.user)
                .filter(environment=environment)
                .order_by("-taken_at", "-pk"),
                s.BackupSerializer,
            )
        parse(s.EmptySerializer, request)
        return accepted(
            request,
            backup_create(
                actor=request.user,
                environment=environment,
                idempotency_key=idempotency_key(request),
            ),
        )

    @extend_schema(methods=["get"], responses={200: s.BackupScheduleSerializer})
    @extend_schema(
        methods=["put"],
        request=s.BackupScheduleWriteSerializer,
        responses={200: s.BackupScheduleSerializer},
    )
    @action(detail=True, methods=["get", "put"], url_path="backup-schedule")
    def backup_schedule(self, request: Request, pk: str) -> Response:
        from sites.backups.services import backup_schedule_set
        from sites.models import BackupSchedule

        environment = self._environment()
        if request.method == "GET":
            schedule = get_object_or_404(BackupSchedule, environment=environment)
            return Response(s.BackupScheduleSerializer(schedule).data)
        data = parse(s.BackupScheduleWriteSerializer, request)
        schedule = backup_schedule_set(actor=request.user, environment=environment, **data)
        return Response(s.BackupScheduleSerializer(schedule).data)


ACTIONS = (
    EnvironmentAction("provision", s.EmptySerializer, services.environment_provision),
    EnvironmentAction(
        "deploy", s.DeploySerializer, services.environment_deploy, scope=Scope.DEPLOY
    ),
    EnvironmentAction(
        "promote",
        s.PromoteSerializer,
        services.environment_promote,
        scope=Scope.DEPLOY,
        arguments=promotion,
    ),
    EnvironmentAction(
        "rollback",
        s.RollbackSerializer,
        services.environment_rollback,
        scope=Scope.DEPLOY,
        arguments=release_of,
    ),
    EnvironmentAction(
        "restart", s.EmptySerializer, services.environment_restart, scope=Scope.DEPLOY
    ),
    EnvironmentAction("scale", s.ScaleSerializer, services.environment_scale),
    EnvironmentAction("autoscale", s.AutoscaleSerializer, services.environment_autoscale),
    EnvironmentAction("commands", s.CommandSerializer, services.environment_run_command),
    EnvironmentAction("repair", s.EmptySerializer, services.environment_repair),
    # Not "destroy": that name is the viewset's DELETE handler.
    EnvironmentAction(
        "destroy_environment",
        s.DestroySerializer,
        services.environment_destroy,
        url_path="destroy",
    ),
)
for _row in ACTIONS:
    setattr(EnvironmentViewSet, _row.name, _row.view_method())
