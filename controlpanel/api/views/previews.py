"""Previews of a site: what CI calls with the site's CI token (scope `preview`) to create
or redeploy a branch's preview, follow it and delete it; and the owner's preview settings
and CI tokens. See docs/previews.md."""

from __future__ import annotations

import time
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import OuterRef, Prefetch, Q, Subquery
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import get_object_or_404
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from billing.estimates import estimate_previews
from clusters.models import Cluster, NodePool, Operation
from controlpanel.api import serializers as s
from controlpanel.api.errors import problem
from controlpanel.api.permissions import token_of
from controlpanel.api.serializers import OperationSerializer, StrictSerializer
from controlpanel.api.views.base import idempotency_key
from controlpanel.api.views.operations import MAX_WAIT_SECONDS, POLL_SECONDS
from controlpanel.core.permissions import Action, require
from controlpanel.integrations.models import Scope
from controlpanel.integrations.tokens import preview_token_create
from sites.models import Environment, Release, Site
from sites.previews import services
from sites.previews.models import PreviewData, PreviewSettings


def site_for(request: Request, pk: str) -> Site:
    """The site, if the caller may see it; a site's CI token sees only its own site."""
    sites = Site.objects.for_user(request.user).select_related("client")
    token = token_of(request)
    if token is not None and token.is_preview_token:
        sites = sites.filter(pk=token.site_id)
    return get_object_or_404(sites, pk=pk)


def last_operation(environment: Environment) -> Operation | None:
    return (
        Operation.objects.filter(target_type="environment", target_id=environment.pk)
        .order_by("-created_at", "-id")
        .first()
    )


def preview_state(environment: Environment, operation: Operation | None) -> str:
    """One word for a pipeline to test: pending, deploying, ready, failed or destroying."""
    if environment.status == Environment.Status.DESTROYING:
        return "destroying"
    if operation is None:
        return "pending"
    if not operation.is_finished:
        return "deploying"
    if operation.status != Operation.Status.SUCCEEDED:
        return "failed"
    return "ready" if environment.status == Environment.Status.ACTIVE else "failed"


_UNREAD = object()


def preview_data(
    request: Request,
    environment: Environment,
    operation: Operation | None,
    preview_settings: Any = _UNREAD,
) -> dict[str, Any]:
    if preview_settings is _UNREAD:
        preview_settings = PreviewSettings.objects.filter(site_id=environment.site_id).first()
    # Prefetched by the list (newest first), else one query.
    release = next(iter(environment.releases.all()), None)
    return {
        "branch": environment.preview_branch,
        "environment": environment.pk,
        "slug": environment.slug,
        "namespace": environment.namespace,
        "status": environment.status,
        "state": preview_state(environment, operation),
        "url": services.preview_url(environment),
        "image": release.image if release else "",
        "digest": release.digest if release else "",
        "created_at": environment.created_at,
        "last_deployed_at": environment.last_deployed_at,
        "expires_at": (
            services.expires_at(environment, preview_settings) if preview_settings else None
        ),
        "operation": OperationSerializer(operation).data if operation else None,
        "operation_url": (
            reverse("api:operation-detail", args=[operation.pk], request=request)
            if operation
            else None
        ),
    }


class PreviewSerializer(serializers.Serializer):
    """What the API says about a preview (schema only; preview_data builds it)."""

    branch = serializers.CharField()
    environment = serializers.IntegerField()
    slug = serializers.CharField()
    namespace = serializers.CharField()
    status = serializers.CharField()
    state = serializers.ChoiceField(
        choices=["pending", "deploying", "ready", "failed", "destroying"],
        help_text="ready: the last operation succeeded and the preview runs.",
    )
    url = serializers.CharField()
    image = serializers.CharField()
    digest = serializers.CharField()
    created_at = serializers.DateTimeField()
    last_deployed_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)
    operation = OperationSerializer(allow_null=True)
    operation_url = serializers.CharField(allow_null=True)


class PreviewDeployedSerializer(PreviewSerializer):
    created = serializers.BooleanField(help_text="False: the branch's preview was deployed again.")


class PreviewDeploySerializer(StrictSerializer):
    image = serializers.CharField(max_length=1000)


class PreviewView(APIView):
    """PUT: create the branch's preview or deploy the image to it again (202). GET: its
    status, URL and latest operation. DELETE: destroy it, with no backup (202)."""

    allow_preview_token = True

    @property
    def required_scope(self) -> str:
        return Scope.READ if self.request.method in ("GET", "HEAD", "OPTIONS") else Scope.DEPLOY

    @extend_schema(request=PreviewDeploySerializer, responses={202: PreviewDeployedSerializer})
    def put(self, request: Request, pk: str, branch: str) -> Response:
        site = site_for(request, pk)
        serializer = PreviewDeploySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            environment, operation, created = services.preview_deploy(
                actor=request.user,
                site=site,
                branch=branch,
                image=serializer.validated_data["image"],
                idempotency_key=idempotency_key(request),
            )
        except services.PreviewLimitReached as exc:
            return problem(
                409,
                "Preview limit reached",
                str(exc),
                errors={"oldest": [exc.oldest.preview_branch]},
            )
        except services.PreviewBusy as exc:
            return problem(409, "Preview being destroyed", str(exc))
        environment = services.previews(site).get(pk=environment.pk)
        body = preview_data(request, environment, operation) | {"created": created}
        return Response(
            body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["operation_url"]}
        )

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "wait",
                int,
                description=f"Long-poll up to this many seconds (≤ {MAX_WAIT_SECONDS}) until "
                "the preview's latest operation has finished.",
            )
        ],
        responses={200: PreviewSerializer},
    )
    def get(self, request: Request, pk: str, branch: str) -> Response:
        site = site_for(request, pk)
        try:
            wait = min(max(int(request.query_params.get("wait", 0)), 0), MAX_WAIT_SECONDS)
        except ValueError:
            raise ValidationError({"wait": "A whole number of seconds, 0-60."}) from None
        deadline = time.monotonic() + wait
        environment = self._preview(site, request, branch)
        operation = last_operation(environment)
        while operation is not None and not operation.is_finished:
            if time.monotonic() >= deadline:
                break
            time.sleep(POLL_SECONDS)
            environment = self._preview(site, request, branch)
            operation = last_operation(environment)
        return Response(preview_data(request, environment, operation))

    @extend_schema(responses={202: s.OperationSerializer})
    def delete(self, request: Request, pk: str, branch: str) -> Response:
        site = site_for(request, pk)
        self._preview(site, request, branch)
        operation = services.preview_destroy(actor=request.user, site=site, branch=branch)
        return Response(OperationSerializer(operation).data, status=status.HTTP_202_ACCEPTED)

    @staticmethod
    def _preview(site: Site, request: Request, branch: str) -> Environment:
        try:
            return services.preview_get(actor=request.user, site=site, branch=branch)
        except Environment.DoesNotExist:
            from django.http import Http404

            raise Http404 from None


class PreviewListView(APIView):
    """The site's previews, oldest deploy first."""

    allow_preview_token = True

    @extend_schema(responses={200: PreviewSerializer(many=True)})
    def get(self, request: Request, pk: str) -> Response:
        site = site_for(request, pk)
        require(request.user, Action.VIEW, site.client)
        found = PreviewSettings.objects.filter(site=site).first()
        latest = Operation.objects.filter(
            target_type="environment", target_id=OuterRef("pk")
        ).order_by("-created_at", "-id")
        rows = list(
            services.previews(site)
            .annotate(last_operation_id=Subquery(latest.values("pk")[:1]))
            .prefetch_related(
                Prefetch("releases", queryset=Release.objects.order_by("-created_at", "-id")),
                "domains",
            )
        )
        operations = Operation.objects.in_bulk([e.last_operation_id for e in rows])
        return Response(
            [preview_data(request, e, operations.get(e.last_operation_id), found) for e in rows]
        )


class PreviewSettingsInput(StrictSerializer):
    enabled = serializers.BooleanField(required=False)
    cluster = serializers.IntegerField(required=False)
    node_pool = serializers.IntegerField(required=False, allow_null=True)
    max_alive = serializers.IntegerField(required=False)
    ttl_days = serializers.IntegerField(required=False)
    data_source = serializers.ChoiceField(choices=PreviewData.choices, required=False)
    host_pattern = serializers.CharField(required=False, max_length=253)


class PreviewEstimateSerializer(serializers.Serializer):
    currency = serializers.CharField()
    per_preview = serializers.CharField(help_text="One preview's month, as a decimal string.")
    max_alive = serializers.IntegerField()
    most = serializers.CharField(help_text="max_alive previews all month: the most they add.")
    payer = serializers.CharField()
    assumptions = serializers.ListField(child=serializers.CharField())
    warnings = serializers.ListField(child=serializers.CharField())


class PreviewSettingsOutput(serializers.Serializer):
    enabled = serializers.BooleanField()
    cluster = serializers.IntegerField(required=False)
    node_pool = serializers.IntegerField(required=False, allow_null=True)
    max_alive = serializers.IntegerField(required=False)
    ttl_days = serializers.IntegerField(required=False)
    data_source = serializers.CharField(required=False)
    host_pattern = serializers.CharField(required=False)
    estimate = PreviewEstimateSerializer(required=False)


def settings_data(request: Request, site: Site, found: PreviewSettings | None) -> dict[str, Any]:
    if found is None:
        return {"enabled": False}
    estimate = estimate_previews(
        actor=request.user,
        site=site,
        cluster=found.cluster,
        node_pool=found.node_pool,
        max_alive=found.max_alive,
    )
    return {
        "enabled": found.enabled,
        "cluster": found.cluster_id,
        "node_pool": found.node_pool_id,
        "max_alive": found.max_alive,
        "ttl_days": found.ttl_days,
        "data_source": found.data_source,
        "host_pattern": found.host_pattern,
        "estimate": {
            k: str(val) if k in ("per_preview", "most") else val for k, val in estimate.items()
        },
    }


class PreviewSettingsView(APIView):
    """A site's preview settings, with what max_alive previews would cost a month."""

    @extend_schema(responses={200: PreviewSettingsOutput})
    def get(self, request: Request, pk: str) -> Response:
        site = site_for(request, pk)
        require(request.user, Action.MANAGE_SITES, site.client)
        return Response(
            settings_data(request, site, PreviewSettings.objects.filter(site=site).first())
        )

    @extend_schema(request=PreviewSettingsInput, responses={200: PreviewSettingsOutput})
    def put(self, request: Request, pk: str) -> Response:
        site = site_for(request, pk)
        serializer = PreviewSettingsInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if "cluster" in data:
            data["cluster"] = get_object_or_404(
                Cluster.objects.for_user(request.user), pk=data["cluster"]
            )
        if data.get("node_pool") is not None:
            # Shared pools and the client's own: another client's pool is "not found".
            pools = NodePool.objects.filter(
                Q(dedicated_client__isnull=True) | Q(dedicated_client=site.client)
            )
            data["node_pool"] = get_object_or_404(pools, pk=data["node_pool"])
        found = services.preview_settings_set(actor=request.user, site=site, **data)
        return Response(settings_data(request, site, found))


class PreviewTokenInput(StrictSerializer):
    name = serializers.CharField(max_length=100)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)


class PreviewTokenView(APIView):
    """POST: a new CI token of the site (scope `preview`), shown once."""

    @extend_schema(request=PreviewTokenInput, responses={201: s.TokenCreatedSerializer})
    def post(self, request: Request, pk: str) -> Response:
        site = site_for(request, pk)
        serializer = PreviewTokenInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        row, token = preview_token_create(
            actor=request.user,
            site=site,
            name=serializer.validated_data["name"],
            expires_at=serializer.validated_data.get("expires_at"),
        )
        return Response(s.TokenSerializer(row).data | {"token": token}, status=201)
