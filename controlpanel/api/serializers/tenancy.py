"""Clients and their members."""

from __future__ import annotations

from rest_framework import serializers

from controlpanel.api.serializers.base import StrictSerializer
from controlpanel.core.models import Client, Membership


class ClientSerializer(serializers.ModelSerializer):
    class Meta:
        model = Client
        fields = [
            "id",
            "name",
            "slug",
            "billing_email",
            "status",
            "markup_percent",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ClientCreateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=120)
    slug = serializers.CharField(max_length=63)
    billing_email = serializers.CharField(max_length=254)
    markup_percent = serializers.DecimalField(max_digits=6, decimal_places=2, required=False)


class ClientUpdateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=120, required=False)
    billing_email = serializers.CharField(max_length=254, required=False)
    status = serializers.ChoiceField(choices=Client.Status.choices, required=False)
    markup_percent = serializers.DecimalField(max_digits=6, decimal_places=2, required=False)


class MembershipSerializer(serializers.ModelSerializer):
    email = serializers.EmailField(source="user.email", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "client", "email", "role", "created_at"]
        read_only_fields = fields


class MembershipCreateSerializer(StrictSerializer):
    email = serializers.EmailField()
    role = serializers.CharField(max_length=16)


class MembershipUpdateSerializer(StrictSerializer):
    role = serializers.CharField(max_length=16)
