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
