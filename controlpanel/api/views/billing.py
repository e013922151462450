"""Invoices (owners and staff) and cost estimates shown before a change."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from billing.estimates import estimate_autoscale, estimate_scale
from billing.exports import invoice_csv, invoice_filename, invoice_pdf
from billing.models import Invoice
from billing.selectors import invoice_list
from controlpanel.api import serializers as s
from controlpanel.api.views.environments import parse
from sites.models import Environment


class InvoiceViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Invoice.objects.none()  # for the schema; requests use get_queryset
    serializer_class = s.InvoiceSerializer
    filterset_fields = ["client", "status"]

    def get_queryset(self):
        return invoice_list(actor=self.request.user)

    def _file(self, content: bytes | str, content_type: str, extension: str) -> HttpResponse:
        invoice = self.get_object()
        response = HttpResponse(content, content_type=content_type)
        filename = invoice_filename(invoice, extension)
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

    @extend_schema(responses={(200, "text/csv"): str})
    @action(detail=True, methods=["get"])
    def csv(self, request: Request, pk: str) -> HttpResponse:
        return self._file(invoice_csv(self.get_object()), "text/csv", "csv")

    @extend_schema(responses={(200, "application/pdf"): bytes})
    @action(detail=True, methods=["get"])
    def pdf(self, request: Request, pk: str) -> HttpResponse:
        return self._file(invoice_pdf(self.get_object()), "application/pdf", "pdf")


class EstimateViewSet(viewsets.ViewSet):
    @extend_schema(request=s.EstimateRequestSerializer, responses={200: s.EstimateSerializer})
    def create(self, request: Request) -> Response:
        """What a scaling change would cost per month, before making it: send `replicas`
        for a fixed count, or `autoscale_max` (and `autoscale_min`) for autoscaling."""
        from django.core.exceptions import ValidationError
        from django.shortcuts import get_object_or_404

        data = parse(s.EstimateRequestSerializer, request)
        environment = get_object_or_404(
            Environment.objects.for_user(request.user).select_related(
                "site__client", "cluster", "node_pool"
            ),
            pk=data["environment"],
        )
        if "replicas" in data:
            estimate = estimate_scale(
                actor=request.user, environment=environment, replicas=data["replicas"]
            )
        elif "autoscale_max" in data:
            estimate = estimate_autoscale(
                actor=request.user,
                environment=environment,
                max_replicas=data["autoscale_max"],
                min_replicas=data.get("autoscale_min"),
            )
        else:
            raise ValidationError({"replicas": "Give replicas, or autoscale_max."})
        return Response(estimate.as_dict())
