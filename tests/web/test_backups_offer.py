"""The backups page offers backups only where the environment's cluster keeps its data
(provision_data): elsewhere it says so plainly, with no button to press."""

from __future__ import annotations

from clusters.models import Cluster, Operation
from tests.web.helpers import sign_in

BUTTON = "Back up now"


def test_without_data_provisioning_the_page_says_so_and_offers_no_backup(client, owner, populated):
    Cluster.objects.filter(pk=populated.cluster_id).update(provision_data=False)
    sign_in(client, owner)
    page = client.get(f"/environments/{populated.pk}/backups/").content.decode()
    assert "has no database server or object storage set up in Hangar" in page
    assert "nothing to back up or restore" in page
    assert BUTTON not in page and "/backups/now/" not in page
    assert "nightly schedule" not in page
    # Posting anyway changes nothing and says why, naming no server.
    answer = client.post(f"/environments/{populated.pk}/backups/now/", follow=True)
    assert not Operation.objects.filter(kind="backup.create").exists()
    assert "does not provision databases and storage" in answer.content.decode()


def test_with_data_provisioning_the_button_is_there(client, owner, viewer, populated):
    Cluster.objects.filter(pk=populated.cluster_id).update(provision_data=True)
    sign_in(client, owner)
    page = client.get(f"/environments/{populated.pk}/backups/").content.decode()
    assert BUTTON in page and "nothing to back up or restore" not in page
    sign_in(client, viewer)
    assert BUTTON not in client.get(f"/environments/{populated.pk}/backups/").content.decode()


def test_the_schedule_has_a_form_and_says_its_retention_in_words(client, owner, viewer, populated):
    from sites.models import BackupSchedule

    Cluster.objects.filter(pk=populated.cluster_id).update(provision_data=True)
    sign_in(client, owner)
    page = client.get(f"/environments/{populated.pk}/backups/").content.decode()
    assert "Save schedule" in page
    assert "the newest of each of the last 7 days, 4 weeks and 12 months" in page
    assert "pre-restore and pre-destroy backups: 14 days each" in page

    answer = client.post(
        f"/environments/{populated.pk}/backups/schedule/",
        {
            "schedule": "H 3 * * *",
            "enabled": "on",
            "keep_daily": 3,
            "keep_weekly": 0,
            "keep_monthly": 2,
            "pre_deploy": "on",
        },
        follow=True,
    )
    assert answer.status_code == 200
    schedule = BackupSchedule.objects.get(environment=populated)
    assert (schedule.keep_daily, schedule.keep_weekly, schedule.keep_monthly) == (3, 0, 2)
    assert "the last 3 days and 2 months that have one" in answer.content.decode()

    # Nothing kept at all is refused, naming the field and the rule; nothing changes.
    answer = client.post(
        f"/environments/{populated.pk}/backups/schedule/",
        {"schedule": "H 3 * * *", "keep_daily": 0, "keep_weekly": 0, "keep_monthly": 0},
    )
    assert answer.status_code == 400
    assert "Keep at least one backup per day, week or month." in answer.content.decode()
    schedule.refresh_from_db()
    assert schedule.keep_daily == 3

    sign_in(client, viewer)
    assert (
        "Save schedule" not in client.get(f"/environments/{populated.pk}/backups/").content.decode()
    )


def test_the_staff_console_shows_backup_storage_per_environment_and_client(
    client, staff_admin, populated
):
    from sites.models import Backup
    from tests import factories as f

    f.BackupFactory(environment=populated, database_size=3 * 1024**2, files_size=1024**2)
    f.BackupFactory(environment=populated, database_size=1024**2, files_size=0)
    f.BackupFactory(environment=populated, status=Backup.Status.FAILED, database_size=50 * 1024**2)
    sign_in(client, staff_admin)
    page = client.get(f"/staff/clients/{populated.site.client_id}/").content.decode()
    assert "Backups stored" in page
    assert '<td id="backup-bytes">5.0 MiB</td>' in page, page[page.find("backup-bytes") - 200 :][
        :400
    ]
