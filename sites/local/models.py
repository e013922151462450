"""Sanitized dumps: a backup's database with personal data replaced, for a developer's
laptop. Imported by sites.models, so Django sees the model."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from controlpanel.core.fields import optional_reference
from controlpanel.core.tenancy import TenantManager


class SanitizedDump(models.Model):
    """One run of sanitize.sh on a backup: made in the cluster (the raw dump never leaves
    it), stored beside the backup under ``{backup}/sanitized/``, and removed with it."""

    class Status(models.TextChoices):
        PENDING = "pending", "Queued"
        RUNNING = "running", "Sanitizing"
        SUCCEEDED = "succeeded", "Ready"
        FAILED = "failed", "Failed"

    backup = models.ForeignKey(
        "sites.Backup", on_delete=models.CASCADE, related_name="sanitized_dumps"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    key = models.CharField(max_length=600, blank=True)
    size = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    tables = models.PositiveIntegerField(default=0)
    # The rules as they were run: the site's may change later.
    sanitize_sql = models.TextField(blank=True)
    error = models.TextField(blank=True)
    operation = optional_reference("clusters.Operation")
    created_by = optional_reference(settings.AUTH_USER_MODEL)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = TenantManager()
    tenant_path = "backup__site__client"

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Sanitized dump of backup #{self.backup_id}"
