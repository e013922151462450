"""Backups, restores, downloads and schedules."""

from __future__ import annotations

from rest_framework import serializers

from controlpanel.api.serializers.base import StrictSerializer
from sites.backups.services import SCHEDULE_FIELDS


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
        fields = list(SCHEDULE_FIELDS)
        read_only_fields = fields


class BackupScheduleWriteSerializer(StrictSerializer):
    schedule = serializers.CharField(max_length=120, required=False)
    enabled = serializers.BooleanField(required=False)
    keep_daily = serializers.IntegerField(required=False)
    keep_weekly = serializers.IntegerField(required=False)
    keep_monthly = serializers.IntegerField(required=False)
    pre_deploy = serializers.BooleanField(required=False)
    verify_restore = serializers.BooleanField(required=False)
