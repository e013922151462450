"""Django admin: the interim staff UI. Secrets are write-only here, and every change made
through it lands in the audit log like a change made through a service."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpRequest

# Imported before the admin's autodiscovery reaches it, so the unregister below sticks:
# nobody reads a TOTP key in the admin (docs/security.md, staff roles in the admin).
from django_otp.plugins.otp_totp import admin as _totp_admin  # noqa: F401
from django_otp.plugins.otp_totp.models import TOTPDevice

from controlpanel.core.audit import SECRET_CHANGED, audit_record, changes_between, snapshot
from controlpanel.core.fields import EncryptedTextField
from controlpanel.core.models import AuditEvent, Client, Membership, User
from controlpanel.core.services import reset_two_factor

if admin.site.is_registered(TOTPDevice):
    admin.site.unregister(TOTPDevice)


class WriteOnlyTextarea(forms.Textarea):
    def format_value(self, value: Any) -> None:
        return None


class AuditedAdminMixin:
    """Write-only secret fields (blank keeps the stored value) and audited saves.

    Subclasses say how to reach the client of an object with `audit_client(obj)`."""

    def formfield_for_dbfield(self, db_field: models.Field, request: HttpRequest, **kwargs: Any):
        if isinstance(db_field, EncryptedTextField):
            widget = (
                WriteOnlyTextarea(attrs={"rows": 8})
                if db_field.multiline
                else forms.PasswordInput(render_value=False)
            )
            return forms.CharField(
                label=db_field.verbose_name.capitalize(),
                required=False,
                widget=widget,
                help_text="Write-only. Leave blank to keep the current value.",
                strip=not db_field.multiline,
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)  # type: ignore[misc]

    def save_model(
        self, request: HttpRequest, obj: Any, form: forms.ModelForm, change: bool
    ) -> None:
        before: dict[str, Any] = {}
        if change:
            stored = type(obj)._default_manager.get(pk=obj.pk)
            before = snapshot(stored)
            for field in obj._meta.concrete_fields:
                if isinstance(field, EncryptedTextField) and not form.cleaned_data.get(field.name):
                    setattr(obj, field.attname, getattr(stored, field.attname))
        super().save_model(request, obj, form, change)  # type: ignore[misc]
        changes = changes_between(before, snapshot(obj))
        if changes:
            audit_record(
                actor=request.user,  # type: ignore[arg-type]
                action=f"{obj._meta.model_name}.{'update' if change else 'create'}",
                target=obj,
                client=self.audit_client(obj),
                changes=changes,
            )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        audit_record(
            actor=request.user,  # type: ignore[arg-type]
            action=f"{obj._meta.model_name}.delete",
            target=obj,
            client=self.audit_client(obj),
        )
        super().delete_model(request, obj)  # type: ignore[misc]

    def audit_client(self, obj: Any) -> Client | None:
        return None


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """People. Only administrators change them (controlpanel.core.roles.staff_admin_may);
    only a superuser makes a superuser; every change is audited like the staff console's,
    and a person's two-factor is reset here, never shown."""

    ordering = ["email"]
    list_display = ["email", "full_name", "staff_role", "is_active", "last_login"]
    list_filter = ["staff_role", "is_active"]
    search_fields = ["email", "full_name"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Person", {"fields": ["full_name"]}),
        ("Access", {"fields": ["staff_role", "is_active", "is_superuser"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "password1", "password2", "staff_role"]}),
    ]
    filter_horizontal: list[str] = []
    readonly_fields = ["last_login", "date_joined"]
    inlines = [MembershipInline]
    actions = ["reset_two_factor"]

    def get_readonly_fields(self, request: HttpRequest, obj: User | None = None) -> list[str]:
        fields = list(self.readonly_fields)
        if not request.user.is_superuser:  # type: ignore[union-attr]
            fields.append("is_superuser")
        return fields

    def save_model(
        self, request: HttpRequest, obj: User, form: forms.ModelForm, change: bool
    ) -> None:
        before = snapshot(type(obj)._default_manager.get(pk=obj.pk)) if change else {}
        super().save_model(request, obj, form, change)
        changes = changes_between(before, snapshot(obj))
        if "password" in changes:
            changes["password"] = SECRET_CHANGED
        if changes:
            audit_record(
                actor=request.user,  # type: ignore[arg-type]
                action=f"user.{'update' if change else 'create'}",
                target=obj,
                changes=changes,
            )

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        audit_formset(request, formset, lambda membership: membership.client)

    def delete_model(self, request: HttpRequest, obj: User) -> None:
        audit_record(actor=request.user, action="user.delete", target=obj)  # type: ignore[arg-type]
        super().delete_model(request, obj)

    @admin.action(description="Reset two-factor (they enrol again at their next sign-in)")
    def reset_two_factor(self, request: HttpRequest, queryset: models.QuerySet[User]) -> None:
        if not self.has_change_permission(request):
            raise PermissionDenied
        for person in queryset:
            if reset_two_factor(actor=request.user, user=person):  # type: ignore[arg-type]
                self.message_user(request, f"Two-factor of {person.email} reset.")


def audit_formset(request: HttpRequest, formset: Any, client_of: Any) -> None:
    """Save an inline formset, auditing each row created, changed or deleted."""
    befores = {
        f.instance.pk: snapshot(type(f.instance)._default_manager.get(pk=f.instance.pk))
        for f in formset.forms
        if f.instance.pk and f.has_changed()
    }
    instances = formset.save(commit=False)
    for obj in formset.deleted_objects:
        audit_record(
            actor=request.user,  # type: ignore[arg-type]
            action=f"{obj._meta.model_name}.delete",
            target=obj,
            client=client_of(obj),
        )
        obj.delete()
    for obj in instances:
        before = befores.get(obj.pk, {})
        obj.save()
        changes = changes_between(before, snapshot(obj))
        if changes:
            audit_record(
                actor=request.user,  # type: ignore[arg-type]
                action=f"{obj._meta.model_name}.{'update' if before else 'create'}",
                target=obj,
                client=client_of(obj),
                changes=changes,
            )
    formset.save_m2m()


@admin.register(Client)
class ClientAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "slug", "status", "markup_percent", "billing_email", "created_at"]
    list_filter = ["status"]
    search_fields = ["name", "slug", "billing_email"]
    inlines = [MembershipInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Client | None = None) -> list[str]:
        # The slug is part of every namespace name; renaming would orphan them.
        return ["slug"] if obj is not None else []

    def audit_client(self, obj: Client) -> Client:
        return obj

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        audit_formset(request, formset, lambda membership: membership.client)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records Hangar writes itself: for looking at, never for editing."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "actor_label", "client", "action", "target_label", "ip_address"]
    list_filter = ["action", "client"]
    search_fields = ["actor_label", "target_label", "action"]
    date_hierarchy = "created_at"
    list_select_related = ["client"]
