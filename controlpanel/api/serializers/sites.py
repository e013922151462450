"""Sites, environments, domains, variables, cron schedules and releases."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from controlpanel.api.serializers.base import StrictSerializer
from controlpanel.api.serializers.reading import FastReadModelSerializer
from sites.models import CronSchedule, Domain, Environment, EnvVar, Release, Site
from sites.selectors import release_digest_warnings


class SiteSerializer(serializers.ModelSerializer):
    class Meta:
        model = Site
        fields = [
            "id",
            "client",
            "name",
            "slug",
            "kind",
            "repository_url",
            "image_repository",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class SiteCreateSerializer(StrictSerializer):
    client = serializers.IntegerField()
    name = serializers.CharField(max_length=120)
    slug = serializers.CharField(max_length=63)
    kind = serializers.CharField(max_length=16, required=False)
    repository_url = serializers.CharField(max_length=500, required=False, allow_blank=True)
    image_repository = serializers.CharField(max_length=255, required=False, allow_blank=True)


class EnvironmentSerializer(FastReadModelSerializer):
    namespace = serializers.CharField(read_only=True)
    site_name = serializers.CharField(source="site.name", read_only=True)
    client = serializers.IntegerField(source="site.client_id", read_only=True)
    config_pending = serializers.BooleanField(read_only=True)

    class Meta:
        model = Environment
        fields = [
            "id",
            "site",
            "site_name",
            "client",
            "name",
            "slug",
            "tier",
            "namespace",
            "status",
            "image",
            "replicas",
            "autoscale_enabled",
            "autoscale_min",
            "autoscale_max",
            "autoscale_cpu_target",
            "cpu_request",
            "cpu_limit",
            "memory_request",
            "memory_limit",
            "varnish_enabled",
            "config_pending",
            "drift_report",
            "drift_checked_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class EnvironmentCreateSerializer(StrictSerializer):
    site = serializers.IntegerField()
    name = serializers.CharField(max_length=60)
    slug = serializers.CharField(max_length=63)
    tier = serializers.CharField(max_length=16, required=False)
    cluster = serializers.IntegerField(required=False)
    cpu_request = serializers.CharField(max_length=16, required=False)
    cpu_limit = serializers.CharField(max_length=16, required=False)
    memory_request = serializers.CharField(max_length=16, required=False)
    memory_limit = serializers.CharField(max_length=16, required=False)
    replicas = serializers.IntegerField(required=False)
    varnish_enabled = serializers.BooleanField(required=False)


class DomainSerializer(serializers.ModelSerializer):
    class Meta:
        model = Domain
        fields = ["id", "environment", "hostname", "is_primary", "tls_enabled", "created_at"]
        read_only_fields = fields


class DomainCreateSerializer(StrictSerializer):
    hostname = serializers.CharField(max_length=300)
    is_primary = serializers.BooleanField(required=False, default=False)
    tls_enabled = serializers.BooleanField(required=False, default=True)


class EnvVarSerializer(serializers.ModelSerializer):
    """Secret values are write-only: the API says only whether one is set."""

    value = serializers.SerializerMethodField()
    is_set = serializers.SerializerMethodField()

    class Meta:
        model = EnvVar
        fields = ["id", "key", "value", "is_secret", "is_set", "updated_at"]
        read_only_fields = fields

    def get_value(self, obj: EnvVar) -> str | None:
        return None if obj.is_secret else obj.value

    def get_is_set(self, obj: EnvVar) -> bool:
        return bool(obj.value)


class EnvVarWriteSerializer(StrictSerializer):
    key = serializers.CharField(max_length=200)
    value = serializers.CharField(allow_blank=True, trim_whitespace=False, max_length=65536)
    is_secret = serializers.BooleanField(required=False, default=False)


class CronScheduleSerializer(serializers.ModelSerializer):
    description = serializers.CharField(read_only=True)
    resolved_schedule = serializers.SerializerMethodField()

    class Meta:
        model = CronSchedule
        fields = [
            "id",
            "environment",
            "name",
            "schedule",
            "resolved_schedule",
            "description",
            "command",
            "timeout_seconds",
            "suspended",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_resolved_schedule(self, obj: CronSchedule) -> str:
        """Empty for a schedule stored before a rule of the API server was known
        (`description` says why)."""
        try:
            return obj.resolved_schedule
        except DjangoValidationError:
            return ""


class CronCreateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=100)
    schedule = serializers.CharField(max_length=200)
    command = serializers.CharField(max_length=4000)
    timeout_seconds = serializers.IntegerField(required=False, default=3600)
    suspended = serializers.BooleanField(required=False, default=False)


class CronUpdateSerializer(StrictSerializer):
    schedule = serializers.CharField(max_length=200, required=False)
    command = serializers.CharField(max_length=4000, required=False)
    timeout_seconds = serializers.IntegerField(required=False)
    suspended = serializers.BooleanField(required=False)


class ReleaseSerializer(serializers.ModelSerializer):
    """`tag` is the image as named by its tag; `digest` what its pods ran after the rollout
    (what a promote or a rollback deploys); `pod_digests` the web pods per digest as last
    seen; `digest_warnings` says when pods run another digest or the tag moved since."""

    created_by = serializers.CharField(source="created_by.email", default=None, read_only=True)
    tag = serializers.CharField(source="tag_reference", read_only=True)
    digest_warnings = serializers.SerializerMethodField()

    class Meta:
        model = Release
        fields = [
            "id",
            "environment",
            "image",
            "tag",
            "digest",
            "pod_digests",
            "digests_seen_at",
            "digest_warnings",
            "status",
            "note",
            "created_by",
            "operation",
            "created_at",
        ]
        read_only_fields = fields

    def get_digest_warnings(self, release: Release) -> list[str]:
        if not hasattr(release, "digest_warnings"):
            release_digest_warnings([release])
        return release.digest_warnings
