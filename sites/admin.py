from __future__ import annotations

from django.contrib import admin

from controlpanel.core.admin import AuditedAdminMixin
from sites.models import CronSchedule, Domain, Environment, EnvVar, Release, Site


@admin.register(Site)
class SiteAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "client", "slug", "kind", "created_at"]
    list_filter = ["kind", "client"]
    search_fields = ["name", "slug", "client__name"]
    list_select_related = ["client"]

    def audit_client(self, obj: Site):
        return obj.client


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


class EnvVarInline(admin.TabularInline):
    model = EnvVar
    extra = 0
    # Values (secret or not) are managed through the portal and API, write-only there too.
    fields = ["key", "is_secret", "updated_at"]
    readonly_fields = ["key", "is_secret", "updated_at"]
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class CronScheduleInline(admin.TabularInline):
    model = CronSchedule
    extra = 0


@admin.register(Environment)
class EnvironmentAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "tier", "cluster", "image", "replicas", "status"]
    list_filter = ["tier", "status", "cluster"]
    search_fields = ["name", "slug", "site__name", "site__client__name", "image"]
    list_select_related = ["site__client", "cluster"]
    exclude = ["hash_salt"]
    inlines = [DomainInline, EnvVarInline, CronScheduleInline]

    def audit_client(self, obj: Environment):
        return obj.site.client


@admin.register(Domain)
class DomainAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["hostname", "environment", "is_primary", "tls_enabled"]
    list_filter = ["is_primary", "tls_enabled"]
    search_fields = ["hostname"]
    list_select_related = ["environment__site__client"]

    def audit_client(self, obj: Domain):
        return obj.environment.site.client


@admin.register(Release)
class ReleaseAdmin(admin.ModelAdmin):
    list_display = ["image", "environment", "created_by", "created_at"]
    search_fields = ["image", "environment__site__name"]
    list_select_related = ["environment__site__client", "created_by"]
    date_hierarchy = "created_at"

    def has_change_permission(self, request, obj=None) -> bool:
        return False
