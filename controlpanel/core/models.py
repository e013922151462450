"""Users, clients (tenants), memberships and the audit log."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from controlpanel.core.fields import optional_reference
from controlpanel.core.roles import ADMIN_HIDDEN_APPS, ClientRole, StaffRole, staff_admin_may
from controlpanel.core.tenancy import TenantManager, TenantQuerySet, is_agency_staff
from controlpanel.core.validators import validate_dns_label


class UserManager(BaseUserManager.from_queryset(TenantQuerySet)):  # type: ignore[misc]
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("Users need an email address.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("staff_role", StaffRole.ADMIN)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in with an email address.

    `staff_role` makes the user agency staff (sees every client); client users have no
    staff role and reach clients through Memberships.
    """

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    staff_role = models.CharField(
        max_length=16,
        choices=StaffRole.choices,
        blank=True,
        default="",
        help_text="Agency staff role. Leave empty for client users.",
    )
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    # Users are visible to staff; a client user sees only themself.
    tenant_path = None

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email

    @property
    def is_staff(self) -> bool:
        """Django admin access: agency staff only."""
        return is_agency_staff(self)

    @property
    def is_agency_staff(self) -> bool:
        return is_agency_staff(self)

    def has_perm(self, perm: str, obj: object = None) -> bool:
        """Django admin permissions follow the staff role (the admin is an interim UI)."""
        if not self.is_active:
            return False
        return staff_admin_may(self, perm)

    def has_module_perms(self, app_label: str) -> bool:
        if not self.is_active or not (self.is_superuser or self.staff_role):
            return False
        return app_label not in ADMIN_HIDDEN_APPS

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email


class Client(models.Model):
    """A tenant: one of the agency's customers. Everything a client user sees hangs here."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"

    name = models.CharField(max_length=120)
    slug = models.CharField(
        max_length=63,
        unique=True,
        validators=[validate_dns_label],
        help_text="Lower-case letters, digits and hyphens; part of every namespace name.",
    )
    billing_email = models.EmailField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    markup_percent = models.DecimalField(
        max_digits=6,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1000"))],
        help_text="Agency markup on this client's infrastructure cost, in percent.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantManager()
    tenant_path = "pk"

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class Membership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=ClientRole.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantManager()
    tenant_path = "client"

    class Meta:
        ordering = ["client__name", "user__email"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "client"],
                name="membership_one_role_per_client",
                violation_error_message="This person is already a member of this client.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()} of {self.client})"


class AuditLogIsAppendOnly(Exception):
    """Raised when the application tries to change or delete an audit event."""


class AuditEventQuerySet(TenantQuerySet):
    """The audit log's queries: reads and inserts only. Bulk updates and deletes are
    refused, so no code path of the application can rewrite history. (Deleting a user or a
    client still clears the event's foreign key: Django does that through the model's base
    manager, and the copied labels keep the event readable.)"""

    def update(self, **kwargs: Any) -> int:
        raise AuditLogIsAppendOnly("Audit events cannot be changed.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AuditLogIsAppendOnly("Audit events cannot be deleted.")

    def bulk_update(self, objs: Any, fields: Any, batch_size: int | None = None) -> int:
        raise AuditLogIsAppendOnly("Audit events cannot be changed.")

    def update_or_create(self, *args: Any, **kwargs: Any) -> Any:
        raise AuditLogIsAppendOnly("Audit events cannot be changed.")


class AuditEventManager(models.Manager.from_queryset(AuditEventQuerySet)):  # type: ignore[misc]
    pass


class AuditEvent(models.Model):
    """Who did what to which object, for which client, and which fields changed; from
    which IP address and user agent. Append-only: `save()` of a stored event, `delete()`,
    and the queryset's `update()`/`delete()` raise `AuditLogIsAppendOnly`.

    Secret values never reach this table: changes of secret fields are recorded by name.
    Labels are copied so the log stays readable after users or objects are deleted.
    """

    actor = optional_reference(settings.AUTH_USER_MODEL)
    actor_label = models.CharField(max_length=254, blank=True)
    client = models.ForeignKey(
        Client, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_events"
    )
    action = models.CharField(max_length=64, db_index=True)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=255, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=255, blank=True, default="")
    # The API token the request authenticated with (its id and name), if any: which of a
    # person's tokens acted. Not a foreign key: tokens live in the API app, above core.
    token_id = models.PositiveBigIntegerField(null=True, blank=True)
    token_name = models.CharField(max_length=100, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = AuditEventManager()
    tenant_path = "client"

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["client", "-created_at"])]

    def __str__(self) -> str:
        return (
            f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.target_label}"
        )

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditLogIsAppendOnly("Audit events cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AuditLogIsAppendOnly("Audit events cannot be deleted.")
