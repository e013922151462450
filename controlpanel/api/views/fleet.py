"""Fleet deploys: one image to many environments (staff), and their aggregate progress."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from clusters.models import Cluster, Operation
from controlpanel.api import serializers as s
from controlpanel.api.views.environments import parse
from controlpanel.core.models import Client
from controlpanel.core.permissions import Action, require
from sites.selectors import FleetFilter, fleet_progress
from sites.services import fleet_deploy


class FleetDeployViewSet(viewsets.ViewSet):
    lookup_field = "batch"
    lookup_value_regex = "[0-9a-f]{12}"

    @extend_schema(request=s.FleetDeploySerializer, responses={202: s.FleetProgressSerializer})
    def create(self, request: Request) -> Response:
        data = parse(s.FleetDeploySerializer, request)
        require(request.user, Action.MANAGE_CLUSTERS)
        where = FleetFilter(
            site_kind=data["site_kind"],
            client=get_object_or_404(Client.objects.for_user(request.user), pk=data["client"])
            if "client" in data
            else None,
            cluster=get_object_or_404(Cluster.objects.for_user(request.user), pk=data["cluster"])
            if "cluster" in data
            else None,
            environment_slug=data["environment_slug"],
        )
        batch, _ = fleet_deploy(actor=request.user, image=data["image"], where=where)
        return Response(
            {"batch": batch, **fleet_progress(batch)},
            status=202,
            headers={"Location": f"{request.path}{batch}/"},
        )

    @extend_schema(responses={200: s.FleetProgressSerializer})
    def retrieve(self, request: Request, batch: str, **kwargs: Any) -> Response:
        require(request.user, Action.MANAGE_CLUSTERS)
        if not Operation.objects.filter(batch=batch).exists():
            from django.http import Http404

            raise Http404
        return Response({"batch": batch, **fleet_progress(batch)})
