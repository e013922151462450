"""Clients, members, sites, and the single objects of an environment's configuration."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from controlpanel.api import serializers as s
from controlpanel.api.views.base import (
    TokenAwareMixin,
    accepted,
    check_if_match,
    idempotency_key,
    with_etag,
)
from controlpanel.api.views.environments import parse
from controlpanel.core import services as core_services
from controlpanel.core.models import Client, Membership, User
from sites import services
from sites.models import CronSchedule, Domain, EnvVar, Site
from sites.selectors import cron_last_runs


class ClientViewSet(
    mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet
):
    serializer_class = s.ClientSerializer
    filterset_fields = ["status", "slug"]
    search_fields = ["name", "slug"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return Client.objects.for_user(self.request.user).order_by("name", "pk")

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return with_etag(super().retrieve(request, *args, **kwargs), self.get_object())

    @extend_schema(request=s.ClientCreateSerializer, responses={201: s.ClientSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = parse(s.ClientCreateSerializer, request)
        client = core_services.client_create(actor=request.user, **data)
        return Response(s.ClientSerializer(client).data, status=201)

    @extend_schema(request=s.ClientUpdateSerializer, responses={200: s.ClientSerializer})
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        client = self.get_object()
        check_if_match(request, client)
        data = parse(s.ClientUpdateSerializer, request)
        client = core_services.client_update(actor=request.user, client=client, **data)
        return with_etag(Response(s.ClientSerializer(client).data), client)

    @extend_schema(exclude=True)
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.partial_update(request, *args, **kwargs)

    @extend_schema(methods=["get"], responses={200: s.MembershipSerializer(many=True)})
    @extend_schema(
        methods=["post"],
        request=s.MembershipCreateSerializer,
        responses={201: s.MembershipSerializer},
    )
    @action(detail=True, methods=["get", "post"])
    def members(self, request: Request, pk: str) -> Response:
        client = self.get_object()
        if request.method == "GET":
            memberships = client.memberships.select_related("user").order_by("pk")
            return Response(s.MembershipSerializer(memberships, many=True).data)
        data = parse(s.MembershipCreateSerializer, request)
        user = User.objects.filter(email__iexact=data["email"]).first()
        if user is None:
            raise ValidationError({"email": "No user with this email address; invite them first."})
        membership = core_services.membership_add(
            actor=request.user, client=client, user=user, role=data["role"]
        )
        return Response(s.MembershipSerializer(membership).data, status=201)


class MembershipViewSet(
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = s.MembershipSerializer
    http_method_names = ["get", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return Membership.objects.for_user(self.request.user).select_related("user", "client")

    @extend_schema(request=s.MembershipUpdateSerializer, responses={200: s.MembershipSerializer})
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        membership = self.get_object()
        data = parse(s.MembershipUpdateSerializer, request)
        membership = core_services.membership_set_role(
            actor=request.user, membership=membership, role=data["role"]
        )
        return Response(s.MembershipSerializer(membership).data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        core_services.membership_remove(actor=request.user, membership=self.get_object())
        return Response(status=204)


class SiteViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = s.SiteSerializer
    filterset_fields = ["client", "kind", "slug"]
    search_fields = ["name", "slug"]

    def get_queryset(self):
        return Site.objects.for_user(self.request.user).order_by("pk")

    @extend_schema(request=s.SiteCreateSerializer, responses={201: s.SiteSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = parse(s.SiteCreateSerializer, request)
        client = get_object_or_404(Client.objects.for_user(request.user), pk=data.pop("client"))
        site = services.site_create(actor=request.user, client=client, **data)
        return Response(s.SiteSerializer(site).data, status=201)


class DomainViewSet(mixins.DestroyModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = s.DomainSerializer

    def get_queryset(self):
        return Domain.objects.for_user(self.request.user).select_related(
            "environment__site__client"
        )

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.domain_remove(actor=request.user, domain=self.get_object())
        return Response(status=204)


class EnvVarViewSet(mixins.DestroyModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = s.EnvVarSerializer

    def get_queryset(self):
        return EnvVar.objects.for_user(self.request.user).select_related(
            "environment__site__client"
        )

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return with_etag(super().retrieve(request, *args, **kwargs), self.get_object())

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        variable = self.get_object()
        check_if_match(request, variable)
        services.env_var_delete(actor=request.user, variable=variable)
        return Response(status=204)


class CronViewSet(
    TokenAwareMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = s.CronScheduleSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return CronSchedule.objects.for_user(self.request.user).select_related(
            "environment__site__client"
        )

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return with_etag(super().retrieve(request, *args, **kwargs), self.get_object())

    @extend_schema(request=s.CronUpdateSerializer, responses={200: s.CronScheduleSerializer})
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        cron = self.get_object()
        check_if_match(request, cron)
        data = parse(s.CronUpdateSerializer, request)
        cron = services.cron_schedule_update(actor=request.user, cron=cron, **data)
        return with_etag(Response(s.CronScheduleSerializer(cron).data), cron)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        cron = self.get_object()
        check_if_match(request, cron)
        services.cron_schedule_delete(actor=request.user, cron=cron)
        return Response(status=204)

    @extend_schema(request=s.EmptySerializer, responses={202: s.OperationSerializer})
    @action(detail=True, methods=["post"])
    def run(self, request: Request, pk: str) -> Response:
        parse(s.EmptySerializer, request)
        return accepted(
            request,
            services.cron_run_now(
                actor=request.user, cron=self.get_object(), idempotency_key=idempotency_key(request)
            ),
        )

    @action(detail=True, methods=["get"])
    def runs(self, request: Request, pk: str) -> Response:
        runs = cron_last_runs(actor=request.user, cron=self.get_object())
        return Response(
            [
                {
                    "job": run.job,
                    "started_at": run.started_at,
                    "finished_at": run.finished_at,
                    "succeeded": run.succeeded,
                    "duration_seconds": run.duration_seconds,
                    "message": run.message,
                }
                for run in runs
            ]
        )
