"""A site's preview settings. Imported by sites.models, so Django sees the model."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from clusters.models import Cluster, NodePool
from controlpanel.core.tenancy import TenantManager
from sites.previews.naming import PREFIX, preview_hostname
from sites.validators.hostnames import validate_hostname

MAX_ALIVE_LIMIT = 50
TTL_DAYS_LIMIT = 90


class PreviewData(models.TextChoices):
    EMPTY = "empty", "Empty (no data)"
    STAGING = "staging", "Latest verified backup of staging"
    PRODUCTION = "production", "Latest verified backup of production"


class PreviewSettings(models.Model):
    """Whether CI may make previews of a site, where they run, how many at once, how long
    they live after their last deploy, what data they start with and their host names."""

    site = models.OneToOneField(
        "sites.Site", on_delete=models.CASCADE, related_name="preview_settings"
    )
    enabled = models.BooleanField(default=False)
    cluster = models.ForeignKey(Cluster, on_delete=models.PROTECT, related_name="+")
    node_pool = models.ForeignKey(
        NodePool, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    max_alive = models.PositiveSmallIntegerField(
        default=3, validators=[MinValueValidator(1), MaxValueValidator(MAX_ALIVE_LIMIT)]
    )
    ttl_days = models.PositiveSmallIntegerField(
        "time to live (days)",
        default=7,
        validators=[MinValueValidator(1), MaxValueValidator(TTL_DAYS_LIMIT)],
        help_text="A preview is destroyed this many days after its last deploy.",
    )
    data_source = models.CharField(
        max_length=16, choices=PreviewData.choices, default=PreviewData.STAGING
    )
    host_pattern = models.CharField(
        max_length=253,
        help_text="Host name of each preview; {branch} becomes the branch's slug, "
        "e.g. {branch}.preview.example.com.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantManager()
    tenant_path = "site__client"

    class Meta:
        verbose_name_plural = "preview settings"

    def __str__(self) -> str:
        return f"Previews of {self.site}"

    def clean(self) -> None:
        errors: dict[str, ValidationError] = {}
        if self.host_pattern:
            if self.host_pattern.count("{branch}") != 1 or not self.host_pattern.startswith(
                "{branch}."
            ):
                errors["host_pattern"] = ValidationError(
                    "Start the pattern with {branch}. and name it once, e.g. "
                    "{branch}.preview.example.com.",
                    code="host_pattern",
                )
            else:
                # The longest slug a branch can get must still make a valid host name.
                sample = PREFIX + "a" * 60
                try:
                    validate_hostname(preview_hostname(self.host_pattern, sample))
                except ValidationError as exc:
                    errors["host_pattern"] = ValidationError(exc.messages, code="host_pattern")
        if self.node_pool_id is not None and self.cluster_id is not None:
            pool = self.node_pool
            if pool.cluster_id != self.cluster_id:
                errors["node_pool"] = ValidationError(
                    f"Node pool {pool.name} belongs to another cluster.", code="node_pool"
                )
            elif self.site_id and pool.dedicated_client_id not in (None, self.site.client_id):
                errors["node_pool"] = ValidationError(
                    f"Node pool {pool.name} is dedicated to another client.", code="node_pool"
                )
        if errors:
            raise ValidationError(errors)
