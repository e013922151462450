"""Who may back up, restore and download; tenancy of the backup models."""

from __future__ import annotations

import gzip
import urllib.request

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from clusters.models import Operation
from controlpanel.core.models import AuditEvent
from sites.backups import services
from sites.models import Backup, BackupSchedule, EnvironmentDatabase
from tests import factories as f
from tests.backups.helpers import seed
from tests.backups.test_round_trip import backed_up, provisioned


@pytest.fixture
def verified(data_env, owner):
    seed(provisioned(data_env, owner))
    return backed_up(data_env, owner)


def test_viewers_cannot_back_up_restore_schedule_or_download(data_env, viewer, verified):
    before = Operation.objects.count()
    with pytest.raises(PermissionDenied):
        services.backup_create(actor=viewer, environment=data_env)
    with pytest.raises(PermissionDenied):
        services.backup_restore(actor=viewer, backup=verified, target=data_env)
    with pytest.raises(PermissionDenied):
        services.backup_schedule_set(actor=viewer, environment=data_env, enabled=True)
    with pytest.raises(PermissionDenied):
        services.backup_download_url(actor=viewer, backup=verified)
    with pytest.raises(PermissionDenied):
        services.backup_check_restore(actor=viewer, environment=data_env)
    with pytest.raises(PermissionDenied):
        services.environment_rotate_database_password(actor=viewer, environment=data_env)
    assert Operation.objects.count() == before
    # Viewers do see that backups exist.
    assert verified in services.backups_visible(viewer)


def test_another_clients_owner_finds_nothing(data_env, other_owner, verified):
    assert not services.backups_visible(other_owner).exists()
    assert not EnvironmentDatabase.objects.for_user(other_owner).exists()
    with pytest.raises(PermissionDenied):
        services.backup_download_url(actor=other_owner, backup=verified)
    with pytest.raises(PermissionDenied):
        services.backup_create(actor=other_owner, environment=data_env)
    with pytest.raises(PermissionDenied):
        services.backup_restore(actor=other_owner, backup=verified, target=data_env)


def test_developers_back_up_and_restore_but_do_not_download(data_env, developer, verified):
    services.backup_create(actor=developer, environment=data_env)
    services.backup_restore(actor=developer, backup=verified, target=data_env)
    with pytest.raises(PermissionDenied, match="owners and agency staff"):
        services.backup_download_url(actor=developer, backup=verified)


def test_billing_staff_do_not_download(staff_billing, verified):
    with pytest.raises(PermissionDenied):
        services.backup_download_url(actor=staff_billing, backup=verified)


def test_owners_and_operators_download_through_a_short_link_that_is_audited(
    owner, staff_operator, verified
):
    url = services.backup_download_url(actor=owner, backup=verified)
    assert "X-Amz-Expires=300" in url
    with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 - the test's S3
        dump = gzip.decompress(answer.read())
    assert b"-- MariaDB dump" in dump[:4096] and b"CREATE TABLE `node`" in dump
    event = AuditEvent.objects.get(action="backup.download", actor=owner)
    assert event.target_id == str(verified.pk)
    assert event.changes == {"object": verified.database_key}
    manifest_url = services.backup_download_url(
        actor=staff_operator, backup=verified, what="manifest"
    )
    assert "manifest.json" in manifest_url
    with pytest.raises(ValidationError):
        services.backup_download_url(actor=owner, backup=verified, what="../../etc")


def test_only_verified_backups_are_restored_or_downloaded(data_env, owner, verified):
    failed = f.BackupFactory(environment=data_env, status=Backup.Status.FAILED)
    with pytest.raises(ValidationError):
        services.backup_restore(actor=owner, backup=failed, target=data_env)
    with pytest.raises(ValidationError):
        services.backup_download_url(actor=owner, backup=failed)


def test_clusters_without_data_provisioning_offer_no_backups(environment, owner):
    environment.status = "active"
    environment.save()
    with pytest.raises(ValidationError, match="does not provision databases"):
        services.backup_create(actor=owner, environment=environment)
    with pytest.raises(ValidationError):
        services.backup_schedule_set(actor=owner, environment=environment)
    assert not BackupSchedule.objects.exists()
