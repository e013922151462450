"""Where an environment's mail goes. Imported by sites.models, so Django sees the model."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, validate_email
from django.db import models

from controlpanel.core.fields import EncryptedTextField
from controlpanel.core.models import Client
from controlpanel.core.tenancy import TenantManager
from sites.mail.validators import validate_smtp_host


class MailMode(models.TextChoices):
    DEFAULT = "default", "Default for the tier (production delivers, others capture)"
    DELIVER = "deliver", "Deliver through the SMTP relay"
    CAPTURE = "capture", "Capture: never deliver (the cluster's mail catcher keeps it)"


class MailTls(models.TextChoices):
    STARTTLS = "starttls", "STARTTLS (usually port 587)"
    TLS = "tls", "TLS from the start (usually port 465)"
    NONE = "none", "None (only for a relay inside a private network)"


class MailSettings(models.Model):
    """A client's SMTP relay (``environment`` empty), or one environment's override of it.

    An override may only change the mode (deliver or capture), or name a relay of its own;
    an empty host means "the client's relay"."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="mail_settings")
    environment = models.OneToOneField(
        "sites.Environment",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="mail_settings",
    )
    mode = models.CharField(max_length=16, choices=MailMode.choices, default=MailMode.DEFAULT)
    host = models.CharField("SMTP host", max_length=253, blank=True)
    port = models.PositiveIntegerField(
        "SMTP port", default=587, validators=[MinValueValidator(1), MaxValueValidator(65535)]
    )
    tls = models.CharField(
        "encryption", max_length=16, choices=MailTls.choices, default=MailTls.STARTTLS
    )
    tls_verify = models.BooleanField(
        "verify the server's certificate",
        default=True,
        help_text="Turn off only for a relay with a self-signed certificate you trust.",
    )
    username = models.CharField("SMTP user", max_length=255, blank=True)
    password = EncryptedTextField("SMTP password")
    from_address = models.CharField("from address", max_length=254, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantManager()
    tenant_path = "client"

    class Meta:
        verbose_name = "mail settings"
        verbose_name_plural = "mail settings"
        constraints = [
            models.UniqueConstraint(
                fields=["client"],
                condition=models.Q(environment__isnull=True),
                name="mailsettings_one_relay_per_client",
                violation_error_message="This client already has mail settings.",
            ),
        ]

    def __str__(self) -> str:
        where = self.environment or self.client
        return f"Mail of {where}"

    def clean(self) -> None:
        errors: dict[str, ValidationError] = {}
        if self.host:
            try:
                self.host = validate_smtp_host(self.host)
            except ValidationError as exc:
                errors["host"] = exc
        elif self.environment_id is None:
            errors["host"] = ValidationError("The client's relay needs a host.", code="required")
        if self.from_address:
            try:
                validate_email(self.from_address)
            except ValidationError:
                errors["from_address"] = ValidationError(
                    "Give one e-mail address, e.g. noreply@example.com.", code="invalid"
                )
        if self.password and not self.username:
            errors["username"] = ValidationError(
                "A password needs the user it belongs to.", code="required"
            )
        if self.environment_id is None and self.mode != MailMode.DEFAULT:
            errors["mode"] = ValidationError(
                "The mode is chosen per environment; the client's relay has none.", code="mode"
            )
        if self.environment_id is not None and self.environment.site.client_id != self.client_id:
            errors["environment"] = ValidationError("That environment belongs to another client.")
        if errors:
            raise ValidationError(errors)
