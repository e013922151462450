"""API tokens: personal access tokens with scopes, and per-environment deploy tokens."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from controlpanel.core.fields import EncryptedTextField, optional_reference
from controlpanel.core.tenancy import TenantManager


class Scope(models.TextChoices):
    READ = "read", "Read"
    WRITE = "write", "Write"
    DEPLOY = "deploy", "Deploy"
    ADMIN = "admin", "Admin"
    # Only on a site's CI token (ApiToken.site): previews of that site, nothing else.
    PREVIEW = "preview", "Preview"


class ApiToken(models.Model):
    """A bearer token. Only its SHA-256 is stored; the token is shown once, at creation.

    A personal token acts as its user, limited to its scopes. A deploy token (with an
    environment) can do one thing: deploy that environment, and read what it started.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    # "hgr_" + 8 characters: shown in lists and logs to tell tokens apart; not secret.
    prefix = models.CharField(max_length=16, unique=True)
    digest = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    environment = models.ForeignKey(
        "sites.Environment",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="deploy_tokens",
    )
    # A site's CI token (scope `preview`): creates, reads and deletes that site's previews.
    site = models.ForeignKey(
        "sites.Site",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="preview_tokens",
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantManager()
    # Tokens are personal: see api.selectors.tokens_for_user. Staff see all (audit).
    tenant_path = None

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_deploy_token(self) -> bool:
        return self.environment_id is not None

    @property
    def is_preview_token(self) -> bool:
        return self.site_id is not None

    @property
    def is_active(self) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > timezone.now()


class Webhook(models.Model):
    """Where a client wants to hear about its events (JSON POST, HMAC-SHA256 signed)."""

    client = models.ForeignKey("core.Client", on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=500)
    secret = EncryptedTextField(help_text="Signs deliveries. Write-only.")
    events = models.JSONField(default=list)
    active = models.BooleanField(default=True)
    created_by = optional_reference(settings.AUTH_USER_MODEL)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantManager()
    tenant_path = "client"

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    """One event sent (or being sent) to one webhook: the delivery log users read."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=64)
    payload = models.JSONField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    objects = TenantManager()
    tenant_path = "webhook__client"

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.event} → {self.webhook}"
