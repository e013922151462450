"""Output and input shapes of the API. Outputs list what a person may see; inputs only
parse and type-check — the services validate the rules and report field errors."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from clusters.models import Cluster, NodePool, NodeSize, Operation, OperationEvent
from controlpanel.core.models import AuditEvent, Client, Membership
from controlpanel.integrations.models import ApiToken, Scope
from sites import validators as v
from sites.models import CronSchedule, Domain, Environment, EnvVar, Release, Site
from sites.selectors import release_digest_warnings


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know, so a typo is an error rather than a no-op."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


# --- tenancy -----------------------------------------------------------------------------


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


# --- sites -------------------------------------------------------------------------------


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


class EnvironmentSerializer(serializers.ModelSerializer):
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


# --- operations ----------------------------------------------------------------------------


class OperationEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = OperationEvent
        fields = ["created_at", "level", "message"]
        read_only_fields = fields


class OperationSerializer(serializers.ModelSerializer):
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


# --- actions ---------------------------------------------------------------------------------


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


# --- infrastructure ------------------------------------------------------------------------


class ClusterSerializer(serializers.ModelSerializer):
    """Secrets (kubeconfig, keys, passwords) are never returned; `*_set` says if they are."""

    kubeconfig_set = serializers.SerializerMethodField()

    class Meta:
        model = Cluster
        fields = [
            "id",
            "name",
            "slug",
            "provider",
            "region",
            "api_url",
            "ingress_class",
            "ingress_namespace",
            "cert_manager_issuer",
            "storage_endpoint",
            "storage_region",
            "storage_bucket",
            "db_host",
            "db_port",
            "db_admin_user",
            "is_sandbox",
            "max_concurrent_operations",
            "kubeconfig_set",
            "connection_ok",
            "connection_report",
            "connection_checked_at",
            "created_at",
        ]
        read_only_fields = fields

    def get_kubeconfig_set(self, obj: Cluster) -> bool:
        return bool(obj.kubeconfig)


class NodeSizeSerializer(serializers.ModelSerializer):
    class Meta:
        model = NodeSize
        fields = ["id", "provider", "slug", "vcpu", "memory_mib", "disk_gib", "description"]
        read_only_fields = fields


class NodePoolSerializer(serializers.ModelSerializer):
    size = serializers.CharField(source="size.slug", read_only=True)

    class Meta:
        model = NodePool
        fields = [
            "id",
            "cluster",
            "name",
            "size",
            "count",
            "autoscale",
            "min_nodes",
            "max_nodes",
            "dedicated_client",
            "allocatable_cpu_millicores",
            "allocatable_memory_bytes",
            "synced_at",
        ]
        read_only_fields = fields


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "created_at",
            "actor_label",
            "client",
            "action",
            "target_type",
            "target_id",
            "target_label",
            "changes",
            "ip_address",
            "user_agent",
        ]
        read_only_fields = fields


# --- tokens --------------------------------------------------------------------------------


class TokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = [
            "id",
            "name",
            "prefix",
            "scopes",
            "environment",
            "expires_at",
            "last_used_at",
            "revoked_at",
            "created_at",
        ]
        read_only_fields = fields


class TokenCreatedSerializer(TokenSerializer):
    token = serializers.CharField(read_only=True, help_text="Shown once; store it now.")

    class Meta(TokenSerializer.Meta):
        fields = [*TokenSerializer.Meta.fields, "token"]
        read_only_fields = fields


class TokenCreateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=100)
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=Scope.choices), allow_empty=False, max_length=4
    )
    expires_at = serializers.DateTimeField(required=False, allow_null=True)
    # Re-authentication: an admin-scope token needs the current password (session only).
    password = serializers.CharField(
        required=False,
        write_only=True,
        trim_whitespace=False,
        style={"input_type": "password"},
        help_text="Your current password; required for a token with the admin scope.",
    )


class DeployTokenCreateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=100)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)


# --- webhooks ------------------------------------------------------------------------------


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


# --- backups ---------------------------------------------------------------------------------


class BackupSerializer(serializers.ModelSerializer):
    empty_database = serializers.BooleanField(
        read_only=True, help_text="The dump creates no tables; restoring it needs confirm_empty."
    )

    class Meta:
        from sites.models import Backup

        model = Backup
        fields = [
            "id",
            "site",
            "environment",
            "environment_slug",
            "kind",
            "status",
            "taken_at",
            "finished_at",
            "verified_at",
            "database_size",
            "database_sha256",
            "database_tables",
            "empty_database",
            "files_count",
            "files_size",
            "manifest_sha256",
            "error",
            "restore_check",
            "restore_checked_at",
            "operation",
            "created_at",
        ]
        read_only_fields = fields


class RestoreSerializer(StrictSerializer):
    target = serializers.IntegerField(help_text="The environment to restore into (same site).")
    restore_files = serializers.BooleanField(required=False, default=True)
    confirm_empty = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Restore a backup of an empty database over one with tables (empties it).",
    )
    confirm = serializers.CharField(
        max_length=100,
        required=False,
        default="",
        allow_blank=True,
        help_text="The target's namespace; required when the target is production.",
    )


class DownloadSerializer(StrictSerializer):
    what = serializers.ChoiceField(
        choices=["database", "manifest"], required=False, default="database"
    )


class DownloadLinkSerializer(serializers.Serializer):
    url = serializers.URLField()
    expires_in = serializers.IntegerField()


class BackupScheduleSerializer(serializers.ModelSerializer):
    class Meta:
        from sites.models import BackupSchedule

        model = BackupSchedule
        fields = [
            "schedule",
            "enabled",
            "keep_daily",
            "keep_weekly",
            "keep_monthly",
            "pre_deploy",
            "verify_restore",
        ]
        read_only_fields = fields


class BackupScheduleWriteSerializer(StrictSerializer):
    schedule = serializers.CharField(max_length=120, required=False)
    enabled = serializers.BooleanField(required=False)
    keep_daily = serializers.IntegerField(required=False)
    keep_weekly = serializers.IntegerField(required=False)
    keep_monthly = serializers.IntegerField(required=False)
    pre_deploy = serializers.BooleanField(required=False)
    verify_restore = serializers.BooleanField(required=False)


# --- billing ---------------------------------------------------------------------------------


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
