"""Webhooks and their deliveries."""

from __future__ import annotations

from rest_framework import serializers

from controlpanel.api.serializers.base import StrictSerializer
from sites import validators as v


class WebhookSerializer(serializers.ModelSerializer):
    class Meta:
        from controlpanel.integrations.models import Webhook

        model = Webhook
        fields = ["id", "client", "url", "events", "active", "created_at", "updated_at"]
        read_only_fields = fields


class WebhookCreatedSerializer(WebhookSerializer):
    secret = serializers.CharField(read_only=True, help_text="Shown once; verify signatures.")

    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookCreateSerializer(StrictSerializer):
    client = serializers.IntegerField()
    url = serializers.CharField(max_length=500)
    events = serializers.ListField(child=serializers.CharField(max_length=64), max_length=10)


class WebhookUpdateSerializer(StrictSerializer):
    url = serializers.CharField(max_length=500, required=False)
    events = serializers.ListField(
        child=serializers.CharField(max_length=64), max_length=10, required=False
    )
    active = serializers.BooleanField(required=False)


class WebhookDeliverySerializer(serializers.ModelSerializer):
    class Meta:
        from controlpanel.integrations.models import WebhookDelivery

        model = WebhookDelivery
        fields = [
            "id",
            "event",
            "payload",
            "status",
            "attempts",
            "response_status",
            "error",
            "created_at",
            "delivered_at",
        ]
        read_only_fields = fields


class FleetDeploySerializer(StrictSerializer):
    image = serializers.CharField(max_length=v.MAX_IMAGE_REFERENCE_LENGTH)
    site_kind = serializers.CharField(max_length=16, required=False, default="", allow_blank=True)
    client = serializers.IntegerField(required=False)
    cluster = serializers.IntegerField(required=False)
    environment_slug = serializers.CharField(
        max_length=63, required=False, default="", allow_blank=True
    )


class FleetProgressSerializer(serializers.Serializer):
    batch = serializers.CharField()
    total = serializers.IntegerField()
    counts = serializers.DictField(child=serializers.IntegerField())
    progress = serializers.FloatField()
