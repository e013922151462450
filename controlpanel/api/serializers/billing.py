"""Invoices and estimates."""

from __future__ import annotations

from rest_framework import serializers

from controlpanel.api.serializers.base import StrictSerializer


class InvoiceSerializer(serializers.ModelSerializer):
    class Meta:
        from billing.models import Invoice

        model = Invoice
        fields = [
            "id",
            "client",
            "number",
            "period_start",
            "period_end",
            "status",
            "currency",
            "total",
            "bill_to_name",
            "bill_to_email",
            "issued_at",
            "due_on",
            "paid_at",
            "voided_at",
            "created_at",
        ]
        read_only_fields = fields


class EstimateRequestSerializer(StrictSerializer):
    environment = serializers.IntegerField()
    replicas = serializers.IntegerField(required=False)
    autoscale_min = serializers.IntegerField(required=False)
    autoscale_max = serializers.IntegerField(required=False)


class EstimateSerializer(serializers.Serializer):
    currency = serializers.CharField()
    before = serializers.DecimalField(max_digits=12, decimal_places=2)
    after = serializers.DecimalField(max_digits=12, decimal_places=2)
    difference = serializers.DecimalField(max_digits=12, decimal_places=2)
    after_max = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    difference_max = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    payer = serializers.CharField()
    basis = serializers.CharField()
    assumptions = serializers.ListField(child=serializers.CharField())
    warnings = serializers.ListField(
        child=serializers.CharField(),
        help_text="More pods than the nodes hold: those would stay Pending.",
    )
