"""Operations and their events."""

from __future__ import annotations

from rest_framework import serializers

from clusters.models import Operation, OperationEvent
from controlpanel.api.serializers.reading import FastReadModelSerializer


class OperationEventSerializer(FastReadModelSerializer):
    class Meta:
        model = OperationEvent
        fields = ["created_at", "level", "message"]
        read_only_fields = fields


class OperationSerializer(FastReadModelSerializer):
    progress = serializers.FloatField(read_only=True)
    requested_by = serializers.CharField(source="requested_by.email", default=None, read_only=True)

    class Meta:
        model = Operation
        fields = [
            "id",
            "kind",
            "status",
            "client",
            "target_type",
            "target_id",
            "target_label",
            "params",
            "attempts",
            "max_attempts",
            "steps_done",
            "steps_total",
            "progress",
            "progress_message",
            "error",
            "result",
            "requested_by",
            "idempotency_key",
            "batch",
            "created_at",
            "started_at",
            "finished_at",
            "abort_requested_at",
        ]
        read_only_fields = fields


class OperationDetailSerializer(OperationSerializer):
    events = OperationEventSerializer(many=True, read_only=True)

    class Meta(OperationSerializer.Meta):
        fields = [*OperationSerializer.Meta.fields, "events"]
        read_only_fields = fields
