"""Clusters, the node-size catalogue and node pools."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from clusters.kubeconfig import kubeconfig_server, validate_bucket_name
from controlpanel.core.fields import EncryptedTextField, optional_reference
from controlpanel.core.models import Client
from controlpanel.core.tenancy import PUBLIC, TenantManager
from controlpanel.core.validators import validate_dns_label


class Provider(models.TextChoices):
    DIGITALOCEAN = "digitalocean", "DigitalOcean"
    GENERIC = "generic", "Generic Kubernetes"


# A cluster's object storage settings, in the order forms show them.
STORAGE_FIELDS = (
    "storage_endpoint",
    "storage_region",
    "storage_bucket",
    "storage_access_key",
    "storage_secret_key",
    "storage_addressing_style",
)


class Cluster(models.Model):
    """A Kubernetes cluster Hangar deploys to, with the object storage and database server
    that environments on it use. Agency-internal: client users never see clusters."""

    name = models.CharField(max_length=120)
    slug = models.CharField(max_length=63, unique=True, validators=[validate_dns_label])
    provider = models.CharField(max_length=32, choices=Provider.choices, default=Provider.GENERIC)
    region = models.CharField(max_length=64, blank=True, help_text="e.g. ams3, nyc1")
    api_url = models.URLField(
        "API URL", blank=True, help_text="The API server's address, as in the kubeconfig."
    )
    kubeconfig = EncryptedTextField(
        multiline=True, help_text="Kubeconfig of Hangar's service account. Write-only."
    )
    ingress_class = models.CharField(max_length=63, default="nginx")
    ingress_namespace = models.CharField(
        max_length=63,
        default="ingress-nginx",
        validators=[validate_dns_label],
        help_text="Namespace of the ingress controller; network policies admit its traffic.",
    )
    cert_manager_issuer = models.CharField(
        "cert-manager ClusterIssuer",
        max_length=253,
        default="letsencrypt",
        help_text="ClusterIssuer that signs the environments' TLS certificates.",
    )

    storage_endpoint = models.URLField("object storage endpoint", blank=True)
    storage_region = models.CharField("object storage region", max_length=64, blank=True)
    storage_bucket = models.CharField("object storage bucket", max_length=63, blank=True)
    storage_access_key = EncryptedTextField("object storage access key")
    storage_secret_key = EncryptedTextField("object storage secret key")
    storage_addressing_style = models.CharField(
        "object storage addressing",
        max_length=16,
        blank=True,
        default="virtual",
        choices=[
            ("virtual", "Virtual-hosted (bucket.endpoint): AWS S3, Spaces"),
            ("path", "Path-style (endpoint/bucket): MinIO, Ceph RGW"),
        ],
        help_text="How the bucket is addressed; empty means virtual-hosted.",
    )

    db_host = models.CharField("database server host", max_length=253, blank=True)
    db_port = models.PositiveIntegerField(
        "database server port",
        default=3306,
        validators=[MinValueValidator(1), MaxValueValidator(65535)],
    )
    db_admin_user = models.CharField("database admin user", max_length=80, blank=True)
    db_admin_password = EncryptedTextField("database admin password")
    provision_data = models.BooleanField(
        "provision databases and storage",
        default=False,
        help_text=(
            "Give every environment its own database and user on the database server and its "
            "own prefix in the bucket, inject them as DB_* and S3_*, and enable backups."
        ),
    )

    mail_capture_host = models.CharField(
        "mail catcher host",
        max_length=253,
        blank=True,
        help_text=(
            "SMTP host of a mail catcher in the cluster (e.g. Mailpit) that keeps the mail of "
            "environments set to capture; empty: their mail goes nowhere."
        ),
    )
    mail_capture_port = models.PositiveIntegerField(
        "mail catcher port",
        default=1025,
        validators=[MinValueValidator(1), MaxValueValidator(65535)],
    )
    mail_capture_url = models.URLField(
        "mail catcher web address",
        blank=True,
        help_text="Where developers read captured mail; shown on the environment's mail page.",
    )

    max_concurrent_operations = models.PositiveSmallIntegerField(
        default=4,
        validators=[MinValueValidator(1), MaxValueValidator(50)],
        help_text="Operations running on this cluster at once; protects its API server.",
    )
    is_sandbox = models.BooleanField(
        default=False,
        help_text="A local Kubernetes API emulator for trying Hangar out; runs no real sites.",
    )
    # The last "test connection" report (see clusters.connection).
    connection_ok = models.BooleanField(null=True, blank=True, editable=False)
    connection_report = models.JSONField(default=dict, blank=True, editable=False)
    connection_checked_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantManager()
    tenant_path = None

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} (sandbox)" if self.is_sandbox else self.name

    def clean(self) -> None:
        errors: dict[str, ValidationError] = {}
        if self.kubeconfig:
            try:
                server = kubeconfig_server(self.kubeconfig)
            except ValidationError as exc:
                errors["kubeconfig"] = exc
            else:
                self.api_url = self.api_url or server
        if self.storage_bucket:
            try:
                validate_bucket_name(self.storage_bucket)
            except ValidationError as exc:
                errors["storage_bucket"] = exc
        if self.provision_data:
            needed = {
                "db_host": self.db_host,
                "db_admin_user": self.db_admin_user,
                "storage_bucket": self.storage_bucket,
                "storage_access_key": self.storage_access_key,
                "storage_secret_key": self.storage_secret_key,
            }
            for name, value in needed.items():
                if not value and name not in errors:
                    errors[name] = ValidationError(
                        "Needed to provision databases and storage.", code="required"
                    )
        if errors:
            raise ValidationError(errors)


class NodeSize(models.Model):
    """A machine size a provider sells (e.g. DigitalOcean's s-2vcpu-4gb)."""

    provider = models.CharField(max_length=32, choices=Provider.choices)
    slug = models.CharField(max_length=63)
    vcpu = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    memory_mib = models.PositiveIntegerField("memory (MiB)", validators=[MinValueValidator(256)])
    disk_gib = models.PositiveIntegerField("disk (GiB)", default=0)
    description = models.CharField(max_length=120, blank=True)

    objects = TenantManager()
    tenant_path = PUBLIC

    class Meta:
        ordering = ["provider", "vcpu", "memory_mib"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "slug"], name="nodesize_unique_slug"),
        ]

    def __str__(self) -> str:
        return self.slug


class NodePool(models.Model):
    """A group of identical nodes in a cluster. A pool dedicated to a client is paid by
    that client alone; a shared pool's cost is split by the clients' requested resources."""

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="node_pools")
    name = models.CharField(max_length=63, validators=[validate_dns_label])
    size = models.ForeignKey(NodeSize, on_delete=models.PROTECT, related_name="node_pools")
    count = models.PositiveIntegerField(default=1, validators=[MaxValueValidator(1000)])
    autoscale = models.BooleanField(default=False)
    min_nodes = models.PositiveIntegerField(null=True, blank=True)
    max_nodes = models.PositiveIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(1000)]
    )
    # Read from the cluster by node sync.
    allocatable_cpu_millicores = models.BigIntegerField(default=0, editable=False)
    allocatable_memory_bytes = models.BigIntegerField(default=0, editable=False)
    synced_at = models.DateTimeField(null=True, blank=True, editable=False)
    dedicated_client = models.ForeignKey(
        Client,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="dedicated_pools",
        help_text="Leave empty for a pool shared by several clients.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantManager()
    tenant_path = "dedicated_client"

    class Meta:
        ordering = ["cluster__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["cluster", "name"], name="nodepool_unique_name"),
        ]

    def __str__(self) -> str:
        return f"{self.cluster.slug}/{self.name}"

    @property
    def is_shared(self) -> bool:
        return self.dedicated_client_id is None

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.autoscale:
            if self.min_nodes is None:
                errors["min_nodes"] = "Autoscaling needs a minimum node count."
            if self.max_nodes is None:
                errors["max_nodes"] = "Autoscaling needs a maximum node count."
            if self.min_nodes is not None and self.max_nodes is not None:
                if self.min_nodes > self.max_nodes:
                    errors["max_nodes"] = (
                        f"Maximum ({self.max_nodes}) must be at least the minimum "
                        f"({self.min_nodes})."
                    )
                elif not self.min_nodes <= self.count <= self.max_nodes:
                    errors["count"] = (
                        f"Node count {self.count} must lie between the autoscaling minimum "
                        f"{self.min_nodes} and maximum {self.max_nodes}."
                    )
        elif self.min_nodes is not None or self.max_nodes is not None:
            errors["autoscale"] = "Minimum and maximum node counts apply only with autoscaling."
        if (
            self.size_id is not None
            and self.cluster_id is not None
            and self.cluster.provider != Provider.GENERIC
            and self.size.provider != self.cluster.provider
        ):
            errors["size"] = (
                f"{self.size.slug} is a {self.size.get_provider_display()} size; this cluster "
                f"runs on {self.cluster.get_provider_display()}."
            )
        if errors:
            raise ValidationError(errors)


class AppliedObject(models.Model):
    """What the API server confirmed of the last object Hangar applied, per cluster and
    object: the digest of what was sent, and the identity and versions of the live object
    the write's answer returned. A row exists only while that answer is the last word on
    the object: it is deleted before a write whose answer could be lost. A repeated deploy
    of unchanged objects then costs no writes; a drift repair forces them."""

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=512)
    namespace = models.CharField(max_length=63, blank=True, db_index=True)
    digest = models.CharField(max_length=64)
    uid = models.CharField(max_length=64, blank=True)
    resource_version = models.CharField(max_length=64, blank=True)
    # Kinds whose spec the server versions (Deployment, CronJob, ...); null for the others.
    generation = models.BigIntegerField(null=True, blank=True)
    applied_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["cluster", "key"], name="appliedobject_unique_key"),
        ]

    def __str__(self) -> str:
        return self.key

    def save(self, *args: object, **kwargs: object) -> None:
        # key is "apiVersion/kind/namespace/name"; apiVersion may hold one slash itself.
        self.namespace = self.key.rsplit("/", 2)[-2]
        super().save(*args, **kwargs)  # type: ignore[arg-type]


class Operation(models.Model):
    """One unit of work on a cluster, and the source of truth about it.

    Actions create an Operation in the same transaction as the desired-state change; the
    engine (clusters.engine) runs it. Operations with the same `lock_key` (one environment)
    run one at a time in creation order; a partial unique index guarantees it.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    FINISHED = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)

    kind = models.CharField(max_length=64, db_index=True)
    client = models.ForeignKey(
        Client, null=True, blank=True, on_delete=models.SET_NULL, related_name="operations"
    )
    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="operations")
    target_type = models.CharField(max_length=32)
    target_id = models.PositiveBigIntegerField()
    target_label = models.CharField(max_length=255, blank=True)
    lock_key = models.CharField(max_length=96)
    params = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=5)
    steps_done = models.PositiveSmallIntegerField(default=0)
    steps_total = models.PositiveSmallIntegerField(default=1)
    progress_message = models.CharField(max_length=255, blank=True)
    requested_by = optional_reference(settings.AUTH_USER_MODEL)
    idempotency_key = models.CharField(max_length=128, blank=True)
    # The API token that requested it, if one did: a deploy token reads only its own.
    api_token_id = models.PositiveBigIntegerField(null=True, blank=True, db_index=True)
    # Operations started together (a fleet deploy) share a batch id.
    batch = models.CharField(max_length=32, blank=True, db_index=True)
    request_fingerprint = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)
    result = models.JSONField(default=dict, blank=True)
    # Set when someone asked a running operation of an abortable kind to stop; the run
    # checks it at its next step or poll (OperationContext.progress) and stops there.
    abort_requested_at = models.DateTimeField(null=True, blank=True)
    # Who runs it: host:pid:process start:nonce (clusters.engine.workers), the claim's token.
    worker = models.CharField(max_length=128, blank=True)
    # When a message for this pending operation was handed to the broker (or is due, for a
    # delayed retry); cleared when it is claimed or turned away. The dispatcher sends no
    # more messages than a cluster has free slots, counting these (docs/reliability.md).
    enqueued_at = models.DateTimeField(null=True, blank=True)
    # Set while a running operation waits for its cluster to act (a rollout): it then
    # holds no slot of its cluster's concurrency limit (clusters.engine.dispatch
    # .holding_slots). Cleared when the wait ends and whenever the run ends.
    waiting_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    not_before = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = TenantManager()
    tenant_path = "client"

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["lock_key"],
                condition=models.Q(status="running"),
                name="operation_one_running_per_lock",
            ),
            models.UniqueConstraint(
                fields=["client", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="operation_idempotency_key_per_client",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "not_before"]),
            models.Index(fields=["lock_key", "status"]),
            models.Index(fields=["cluster", "status"]),
            # An environment's operations, newest first: the dashboard's last operation
            # and failed cron runs, and the API's operations of one environment.
            models.Index(
                fields=["target_type", "target_id", "-created_at", "-id"],
                name="operation_target_newest",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def progress(self) -> float:
        if self.status == self.Status.SUCCEEDED:
            return 1.0
        return min(1.0, self.steps_done / self.steps_total) if self.steps_total else 0.0


class OperationEvent(models.Model):
    """One line of an operation's log. Append-only."""

    class Level(models.TextChoices):
        INFO = "info", "Info"
        WARNING = "warning", "Warning"
        ERROR = "error", "Error"

    operation = models.ForeignKey(Operation, on_delete=models.CASCADE, related_name="events")
    level = models.CharField(max_length=8, choices=Level.choices, default=Level.INFO)
    message = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    objects = TenantManager()
    tenant_path = "operation__client"

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.message[:80]
