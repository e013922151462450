"""Sites and their environments, domains, configuration, cron schedules and releases."""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from clusters.models import Cluster, NodePool
from controlpanel.core.fields import EncryptedTextField, optional_reference
from controlpanel.core.models import Client
from controlpanel.core.tenancy import TenantManager
from controlpanel.core.validators import validate_dns_label
from sites import validators as v
from sites.local.rules import validate_sanitize_sql
from sites.namespaces import namespace_available

_GIT_URL = re.compile(r"^(https://[^\s/]+/\S+|ssh://\S+|git@[^\s:]+:\S+)$")


def _collect(errors: dict[str, ValidationError], field: str, check, *args, **kwargs):
    """Run one validator, filing its error under `field`; returns the validator's value."""
    try:
        return check(*args, **kwargs)
    except ValidationError as exc:
        errors[field] = exc
        return None


class SiteKind(models.TextChoices):
    DRUPAL = "drupal", "Drupal"
    WORDPRESS = "wordpress", "WordPress"
    PHP = "php", "PHP"
    STATIC = "static", "Static"


class Site(models.Model):
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="sites")
    name = models.CharField(max_length=120)
    slug = models.CharField(max_length=63, validators=[validate_dns_label])
    kind = models.CharField(max_length=16, choices=SiteKind.choices, default=SiteKind.DRUPAL)
    repository_url = models.CharField(
        max_length=500, blank=True, help_text="Git repository, https:// or git@host:path."
    )
    image_repository = models.CharField(
        max_length=255,
        blank=True,
        help_text="Where this site's images are pushed, e.g. registry.example.com/acme/web.",
    )
    sanitize_sql = models.TextField(
        "sanitize rules",
        blank=True,
        help_text="SQL run on a copy of a backup before developers get it; empty: the "
        "default for the site's kind (Drupal and WordPress users' e-mails, names, passwords).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantManager()
    tenant_path = "client"

    class Meta:
        ordering = ["client__name", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["client", "slug"],
                name="site_unique_slug_per_client",
                violation_error_message="This client already has a site with this slug.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, ValidationError] = {}
        if self.sanitize_sql:
            _collect(errors, "sanitize_sql", validate_sanitize_sql, self.sanitize_sql)
        if self.repository_url and not _GIT_URL.match(self.repository_url):
            errors["repository_url"] = ValidationError(
                "Give a Git repository URL: https://host/path, ssh://... or git@host:path.",
                code="repository_url",
            )
        if self.image_repository:
            last = self.image_repository.rsplit("/", 1)[-1]
            if "@" in self.image_repository or ":" in last:
                errors["image_repository"] = ValidationError(
                    "Give the repository only, without a tag or digest.", code="image_repository"
                )
            else:
                _collect(
                    errors,
                    "image_repository",
                    v.parse_image_reference,
                    f"{self.image_repository}:latest",
                )
        if self.client_id and self.slug:
            # The shortest possible environment slug is one character.
            longest = len(self.client.slug) + len(self.slug) + 3
            if longest > v.DNS_LABEL_MAX:
                errors["slug"] = ValidationError(
                    f"Namespace names are '{{client}}-{{site}}-{{environment}}' and at most "
                    f"{v.DNS_LABEL_MAX} characters; with client '{self.client.slug}' this slug "
                    f"must be at most {v.DNS_LABEL_MAX - len(self.client.slug) - 3} characters.",
                    code="namespace_too_long",
                )
        if errors:
            raise ValidationError(errors)


class Tier(models.TextChoices):
    DEVELOPMENT = "development", "Development"
    STAGING = "staging", "Staging"
    PRODUCTION = "production", "Production"


def _new_hash_salt() -> str:
    return secrets.token_urlsafe(48)


class Environment(models.Model):
    """One deployment of a site (dev, staging, production) in its own namespace.

    Every environment runs the same image as its siblings; only configuration differs.
    """

    class Status(models.TextChoices):
        NEW = "new", "Not provisioned"
        PROVISIONING = "provisioning", "Provisioning"
        ACTIVE = "active", "Active"
        FAILED = "failed", "Failed"
        DESTROYING = "destroying", "Destroying"

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="environments")
    name = models.CharField(max_length=60)
    slug = models.CharField(max_length=63, validators=[validate_dns_label])
    tier = models.CharField(max_length=16, choices=Tier.choices, default=Tier.DEVELOPMENT)
    cluster = models.ForeignKey(Cluster, on_delete=models.PROTECT, related_name="environments")
    node_pool = models.ForeignKey(
        NodePool,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="environments",
        help_text="Pool the pods run on; empty lets the scheduler choose.",
    )
    image = models.CharField(
        max_length=v.MAX_IMAGE_REFERENCE_LENGTH,
        blank=True,
        help_text="Image reference currently deployed.",
    )
    replicas = models.PositiveSmallIntegerField(default=1)
    autoscale_enabled = models.BooleanField(default=False)
    autoscale_min = models.PositiveSmallIntegerField(default=2)
    autoscale_max = models.PositiveSmallIntegerField(default=4)
    autoscale_cpu_target = models.PositiveSmallIntegerField(
        default=70, help_text="Average CPU use, in percent of the request, to scale at."
    )
    cpu_request = models.CharField(max_length=16, default="250m")
    cpu_limit = models.CharField(max_length=16, default="1")
    memory_request = models.CharField(max_length=16, default="256Mi")
    memory_limit = models.CharField(max_length=16, default="512Mi")
    varnish_enabled = models.BooleanField(
        default=False, help_text="Put a Varnish cache in front of the web container."
    )
    hash_salt = EncryptedTextField(default=_new_hash_salt)
    # The namespace, fixed when the environment is first saved and unique across every
    # client: "{client}-{site}-{env}" alone can collide (acme + www + shop-prod and
    # acme-www + shop + prod), and two environments in one namespace overwrite and destroy
    # each other's objects (sites.namespaces).
    namespace_name = models.CharField(max_length=63, unique=True, editable=False)
    # Bumped by every change of domains, variables or cron schedules; the cluster has the
    # change once an operation applied that version. Differing means "not applied yet".
    config_version = models.PositiveIntegerField(default=0)
    applied_config_version = models.PositiveIntegerField(default=0)
    # The last reconcile's findings: objects that differ from what Hangar would apply.
    drift_report = models.JSONField(default=list, blank=True, editable=False)
    drift_checked_at = models.DateTimeField(null=True, blank=True, editable=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEW)
    # A preview (sites.previews): made by CI for a branch, destroyed after its TTL.
    is_preview = models.BooleanField(default=False, editable=False)
    preview_branch = models.CharField(max_length=200, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantManager()
    tenant_path = "site__client"

    class Meta:
        ordering = ["site__name", "created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["site", "slug"],
                name="environment_unique_slug_per_site",
                violation_error_message="This site already has an environment with this slug.",
            ),
            models.UniqueConstraint(
                fields=["site", "preview_branch"],
                condition=models.Q(is_preview=True),
                name="environment_one_preview_per_branch",
                violation_error_message="This site already has a preview of this branch.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.site} / {self.name}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self.namespace_name:
            self.namespace_name = self.namespace
        super().save(*args, **kwargs)

    @property
    def namespace(self) -> str:
        return self.namespace_name or v.namespace_name(
            self.site.client.slug, self.site.slug, self.slug
        )

    @property
    def lock_key(self) -> str:
        """Operations on one environment run one at a time."""
        return f"environment:{self.pk}"

    @property
    def config_pending(self) -> bool:
        return self.config_version != self.applied_config_version

    def clean(self) -> None:
        errors: dict[str, ValidationError] = {}
        if self.site_id and self.slug and "slug" not in errors:
            _collect(errors, "slug", namespace_available, self)
        if self.image:
            _collect(errors, "image", v.validate_image_reference, self.image)
        _collect(errors, "replicas", v.validate_replicas, self.replicas)
        if self.autoscale_enabled:
            try:
                v.validate_autoscale(
                    min_replicas=self.autoscale_min,
                    max_replicas=self.autoscale_max,
                    cpu_target=self.autoscale_cpu_target,
                )
            except ValidationError as exc:
                errors.update(exc.error_dict)
        for field in ("cpu_request", "cpu_limit"):
            value = _collect(errors, field, v.validate_cpu, getattr(self, field))
            if value is not None:
                setattr(self, field, value)
        for field in ("memory_request", "memory_limit"):
            value = _collect(errors, field, v.validate_memory, getattr(self, field))
            if value is not None:
                setattr(self, field, value)
        if not {"cpu_request", "cpu_limit", "memory_request", "memory_limit"} & set(errors):
            try:
                v.validate_request_within_limit(
                    request_cpu=self.cpu_request,
                    limit_cpu=self.cpu_limit,
                    request_memory=self.memory_request,
                    limit_memory=self.memory_limit,
                )
            except ValidationError as exc:
                errors.update(exc.error_dict)
        if self.node_pool_id is not None and self.cluster_id is not None:
            pool = self.node_pool
            if pool.cluster_id != self.cluster_id:
                errors["node_pool"] = ValidationError(
                    f"Node pool {pool.name} belongs to another cluster.", code="node_pool"
                )
            elif pool.dedicated_client_id not in (None, self.site.client_id):
                errors["node_pool"] = ValidationError(
                    f"Node pool {pool.name} is dedicated to another client.", code="node_pool"
                )
        if errors:
            raise ValidationError(errors)


class Domain(models.Model):
    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="domains")
    hostname = models.CharField(
        max_length=253,
        unique=True,
        error_messages={"unique": "This hostname is already in use by another environment."},
    )
    is_primary = models.BooleanField(default=False)
    tls_enabled = models.BooleanField("TLS", default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantManager()
    tenant_path = "environment__site__client"

    class Meta:
        ordering = ["-is_primary", "hostname"]
        constraints = [
            models.UniqueConstraint(
                fields=["environment"],
                condition=models.Q(is_primary=True),
                name="domain_one_primary_per_environment",
                violation_error_message="This environment already has a primary domain.",
            ),
        ]

    def __str__(self) -> str:
        return self.hostname

    def clean_fields(self, exclude: list[str] | None = None) -> None:
        # Normalise before the uniqueness check, so BÜCHER.example and xn--bcher-kva.example
        # are the same hostname.
        if self.hostname:
            try:
                self.hostname = v.validate_hostname(self.hostname)
            except ValidationError as exc:
                raise ValidationError({"hostname": exc}) from None
        super().clean_fields(exclude=exclude)


class EnvVar(models.Model):
    """A configuration variable of an environment. Values are encrypted at rest whether
    secret or not; secret ones are write-only in the UI and API."""

    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="env_vars")
    key = models.CharField(max_length=128)
    value = EncryptedTextField()
    is_secret = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantManager()
    tenant_path = "environment__site__client"

    class Meta:
        ordering = ["key"]
        constraints = [
            models.UniqueConstraint(
                fields=["environment", "key"],
                name="envvar_unique_key_per_environment",
                violation_error_message="This environment already has a variable with this key.",
            ),
        ]

    def __str__(self) -> str:
        return self.key

    def clean(self) -> None:
        errors: dict[str, ValidationError] = {}
        _collect(errors, "key", v.validate_env_key, self.key)
        _collect(errors, "value", v.validate_env_value, self.value or "")
        if errors:
            raise ValidationError(errors)


class CronScheduled:
    """A row with a `schedule` in the five cron fields, where H is spread by its `seed`."""

    schedule: str

    @property
    def seed(self) -> str:
        raise NotImplementedError

    @property
    def resolved_schedule(self) -> str:
        return v.resolve_cron_schedule(self.schedule, seed=self.seed)

    @property
    def description(self) -> str:
        try:
            return v.describe_cron_schedule(self.schedule, seed=self.seed)
        except ValidationError as exc:
            # A schedule stored before a rule of the API server was known: say so, and
            # let the page (or API listing) that shows it still work.
            return "Not accepted by Kubernetes: " + " ".join(exc.messages)

    def clean_schedule(self, errors: dict[str, ValidationError]) -> None:
        """Check and normalise the schedule, filing an error under `schedule`."""
        if self.schedule:
            value = _collect(errors, "schedule", v.validate_cron_schedule, self.schedule)
            if value is not None:
                self.schedule = value


class CronSchedule(CronScheduled, models.Model):
    """A command run on a schedule with the environment's own image (a CronJob)."""

    environment = models.ForeignKey(
        Environment, on_delete=models.CASCADE, related_name="cron_schedules"
    )
    # The CronJob is named "cron-{name}" and Kubernetes caps CronJob names at 52 characters.
    name = models.CharField(max_length=v.CRON_NAME_MAX, validators=[v.validate_cron_name])
    schedule = models.CharField(
        max_length=120, help_text="Five cron fields; H picks a spread minute or hour."
    )
    command = models.TextField(max_length=v.MAX_COMMAND_LENGTH, help_text="Run with /bin/sh -c.")
    timeout_seconds = models.PositiveIntegerField(
        default=3600,
        validators=[
            MinValueValidator(v.TIMEOUT_MIN_SECONDS),
            MaxValueValidator(v.TIMEOUT_MAX_SECONDS),
        ],
    )
    suspended = models.BooleanField(default=False)
    # Scheduled runs that failed up to this time have been announced (cron.failed).
    failures_reported_until = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantManager()
    tenant_path = "environment__site__client"

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["environment", "name"],
                name="cron_unique_name_per_environment",
                violation_error_message=(
                    "This environment already has a cron schedule with this name."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def seed(self) -> str:
        # H spreads per environment and schedule, stable across renames of nothing else.
        return f"{self.environment.namespace}/{self.name}"

    def next_runs(self, count: int = 5) -> list[datetime]:
        return v.next_cron_runs(self.schedule, seed=self.seed, count=count, tz=settings.TIME_ZONE)

    def clean(self) -> None:
        errors: dict[str, ValidationError] = {}
        self.clean_schedule(errors)
        command = _collect(errors, "command", v.validate_command, self.command)
        if command is not None:
            self.command = command
        if errors:
            raise ValidationError(errors)


class Release(models.Model):
    """One deploy of an image to an environment: the deploy history.

    `image` is the reference as deployed (a tag, or a tag pinned by digest); `digest` is
    what the pods really ran once the rollout finished (containerStatuses[].imageID), so a
    promote or a rollback deploys that digest even after the tag moved. `pod_digests`
    counts the web pods per digest as last seen (after the rollout, a restart, a scale or
    a drift check): another digest there means pods pulled a tag that moved."""

    class Status(models.TextChoices):
        PENDING = "pending", "Deploying"
        # Went live once; only the newest of these is live now (Environment.live_release).
        SUCCEEDED = "succeeded", "Deployed"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="releases")
    image = models.CharField(max_length=v.MAX_IMAGE_REFERENCE_LENGTH)
    digest = models.CharField(max_length=v.MAX_DIGEST_LENGTH, blank=True)
    pod_digests = models.JSONField(default=dict, blank=True)
    digests_seen_at = models.DateTimeField(null=True, blank=True)
    created_by = optional_reference(settings.AUTH_USER_MODEL)
    note = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SUCCEEDED)
    operation = optional_reference("clusters.Operation")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = TenantManager()
    tenant_path = "environment__site__client"

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.image

    @property
    def tag_reference(self) -> str:
        """The image as named by its tag, without a digest (``registry/web:1.4``)."""
        return self.image.partition("@")[0]

    @property
    def other_pod_digests(self) -> dict[str, int]:
        """Digests some web pods run that are not the release's, with their pod counts."""
        if not self.digest:
            return {}
        return {d: n for d, n in (self.pod_digests or {}).items() if d != self.digest}

    def clean(self) -> None:
        errors: dict[str, ValidationError] = {}
        _collect(errors, "image", v.validate_image_reference, self.image)
        if self.digest:
            _collect(errors, "digest", v.validate_digest, self.digest)
        if errors:
            raise ValidationError(errors)


# --- Databases, files and backups (sites.backups) ------------------------------------------


class EnvironmentDatabase(models.Model):
    """The database, database user and files prefix Hangar made for an environment on its
    cluster's database server and object storage. Injected as DB_* and S3_* variables."""

    environment = models.OneToOneField(
        Environment, on_delete=models.CASCADE, related_name="database"
    )
    name = models.CharField(max_length=64)
    user = models.CharField(max_length=32)
    password = EncryptedTextField()
    files_prefix = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)
    rotated_at = models.DateTimeField(null=True, blank=True)

    objects = TenantManager()
    tenant_path = "environment__site__client"

    class Meta:
        verbose_name = "environment database"

    def __str__(self) -> str:
        return self.name


class BackupSchedule(CronScheduled, models.Model):
    """How an environment is backed up: the nightly `backup` CronJob, the retention policy
    (grandfather-father-son), backups before deploys, and the weekly restore check."""

    environment = models.OneToOneField(
        Environment, on_delete=models.CASCADE, related_name="backup_schedule"
    )
    schedule = models.CharField(
        max_length=120,
        default="H H(1-4) * * *",
        help_text="Five cron fields in the agency's time zone; H spreads a minute or hour.",
    )
    enabled = models.BooleanField(default=True, help_text="Off: the CronJob is suspended.")
    keep_daily = models.PositiveSmallIntegerField(default=7, validators=[MaxValueValidator(366)])
    keep_weekly = models.PositiveSmallIntegerField(default=4, validators=[MaxValueValidator(520)])
    keep_monthly = models.PositiveSmallIntegerField(default=12, validators=[MaxValueValidator(240)])
    pre_deploy = models.BooleanField(
        "back up before deploys",
        default=True,
        help_text="Production environments are backed up before every deploy.",
    )
    verify_restore = models.BooleanField(
        "weekly restore check",
        default=False,
        help_text="Weekly: restore the newest backup into a scratch database and check it.",
    )
    # The last missing-backup alert, so one missed run alerts once.
    last_alert = models.CharField(max_length=120, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantManager()
    tenant_path = "environment__site__client"

    def __str__(self) -> str:
        return f"Backups of {self.environment}"

    @property
    def seed(self) -> str:
        return f"{self.environment.namespace}/backup"

    def clean(self) -> None:
        errors: dict[str, ValidationError] = {}
        self.clean_schedule(errors)
        if self.keep_daily + self.keep_weekly + self.keep_monthly == 0:
            errors["keep_daily"] = ValidationError(
                "Keep at least one backup per day, week or month.", code="retention"
            )
        if errors:
            raise ValidationError(errors)


class Backup(models.Model):
    """One backup: a folder in the cluster's bucket with db.sql.gz, files/ and manifest.json.
    Succeeded means verified: every object of the manifest exists with its size, and the
    dump is a complete dump with the recorded checksum."""

    class Kind(models.TextChoices):
        MANUAL = "manual", "Manual"
        SCHEDULED = "scheduled", "Scheduled"
        PRE_DEPLOY = "pre-deploy", "Before a deploy"
        PRE_RESTORE = "pre-restore", "Before a restore"
        PRE_DESTROY = "pre-destroy", "Before destroying"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Verified"
        FAILED = "failed", "Failed"
        # Verified once, then found changed or missing (before a restore, or by the scrub).
        CORRUPT = "corrupt", "Corrupt or missing"

    class Check(models.TextChoices):
        NONE = "", "Not checked"
        PASSED = "passed", "Restores"
        FAILED = "failed", "Does not restore"

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="backups")
    # Backups outlive their environment (the one taken before destroying it above all).
    environment = models.ForeignKey(
        Environment, null=True, blank=True, on_delete=models.SET_NULL, related_name="backups"
    )
    environment_slug = models.CharField(max_length=63)
    # The cluster whose bucket holds the objects.
    cluster = models.ForeignKey(Cluster, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.MANUAL)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    key_prefix = models.CharField(max_length=512, unique=True)
    taken_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    database_size = models.BigIntegerField(default=0)
    database_sha256 = models.CharField(max_length=64, blank=True)
    files_count = models.PositiveIntegerField(default=0)
    files_size = models.BigIntegerField(default=0)
    # Tables the dump creates (counted when verified); 0 is an empty database, None unknown.
    database_tables = models.PositiveIntegerField(null=True, blank=True)
    manifest_sha256 = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)
    restore_check = models.CharField(
        max_length=8, choices=Check.choices, default=Check.NONE, blank=True
    )
    restore_checked_at = models.DateTimeField(null=True, blank=True)
    restore_check_detail = models.TextField(blank=True)
    operation = optional_reference("clusters.Operation")
    created_by = optional_reference(settings.AUTH_USER_MODEL)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantManager()
    tenant_path = "site__client"

    class Meta:
        ordering = ["-taken_at", "-id"]
        indexes = [models.Index(fields=["environment", "status", "taken_at"])]

    def __str__(self) -> str:
        return f"{self.site} / {self.environment_slug} {self.taken_at:%Y-%m-%d %H:%M} UTC"

    @property
    def size(self) -> int:
        return self.database_size + self.files_size

    @property
    def duration(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.taken_at).total_seconds()

    @property
    def empty_database(self) -> bool:
        return self.database_tables == 0

    @property
    def manifest_key(self) -> str:
        return f"{self.key_prefix}manifest.json"

    @property
    def database_key(self) -> str:
        return f"{self.key_prefix}db.sql.gz"


# Mail settings live with their code (sites.mail); imported here so Django sees the model.
from sites.local.models import SanitizedDump  # noqa: E402, F401
from sites.mail.models import MailSettings  # noqa: E402, F401
from sites.previews.models import PreviewSettings  # noqa: E402, F401
