"""Inputs of the environment actions (deploy, promote, scale, ...)."""

from __future__ import annotations

from rest_framework import serializers

from controlpanel.api.serializers.base import StrictSerializer
from sites import validators as v


class DeploySerializer(StrictSerializer):
    image = serializers.CharField(max_length=v.MAX_IMAGE_REFERENCE_LENGTH)
    note = serializers.CharField(max_length=255, required=False, default="", allow_blank=True)
    rollback_on_failure = serializers.BooleanField(required=False, default=True)


class PromoteSerializer(StrictSerializer):
    source = serializers.IntegerField(help_text="The environment whose live release to deploy.")


class RollbackSerializer(StrictSerializer):
    release = serializers.IntegerField()


class ScaleSerializer(StrictSerializer):
    replicas = serializers.IntegerField()


class AutoscaleSerializer(StrictSerializer):
    enabled = serializers.BooleanField()
    min_replicas = serializers.IntegerField(required=False)
    max_replicas = serializers.IntegerField(required=False)
    cpu_target = serializers.IntegerField(required=False)


class CommandSerializer(StrictSerializer):
    command = serializers.CharField(max_length=v.MAX_COMMAND_LENGTH, trim_whitespace=False)
    timeout = serializers.IntegerField(required=False, default=3600)


class DestroySerializer(StrictSerializer):
    confirm = serializers.CharField(max_length=100, help_text="The environment's namespace.")


class EmptySerializer(StrictSerializer):
    pass


class LogSerializer(serializers.Serializer):
    pod = serializers.CharField()
    container = serializers.CharField()
    text = serializers.CharField()
    unavailable = serializers.CharField(
        help_text='Why the log could not be read ("log unavailable: ..."); empty when it was.'
    )
