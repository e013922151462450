"""`manage.py seed_demo`: the demo a newcomer signs in to."""

from __future__ import annotations

import io
import shutil

import pytest
import yaml
from django.core.management import call_command

from billing.models import NodePrice
from clusters.models import Cluster, NodePool, Operation
from controlpanel.core.models import Client, Membership, User
from sites.models import Environment, Site
from tests.backups.conftest import s3, s3_server  # noqa: F401 - the S3 API server


def seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_seed_demo_is_complete_and_idempotent(client):
    output = seed()
    counts = [Model.objects.count() for Model in (Client, User, Site, Environment, NodePrice)]
    seed()
    assert [
        Model.objects.count() for Model in (Client, User, Site, Environment, NodePrice)
    ] == counts

    assert Client.objects.count() == 3
    # Every environment is queued for provisioning on the sandbox, once.
    assert (
        Operation.objects.filter(kind="environment.provision").count()
        == Environment.objects.count()
    )
    assert set(Site.objects.values_list("kind", flat=True)) == {
        "drupal",
        "wordpress",
        "php",
        "static",
    }
    assert set(Environment.objects.values_list("slug", flat=True)) == {
        "dev",
        "staging",
        "production",
    }
    assert Cluster.objects.get(slug="sandbox").is_sandbox
    assert {str(p.monthly_price) for p in NodePrice.objects.all()} >= {"12.00", "24.00", "96.00"}
    roles = set(Membership.objects.values_list("role", flat=True))
    assert roles == {"owner", "developer", "viewer"}
    assert set(User.objects.exclude(staff_role="").values_list("staff_role", flat=True)) == {
        "admin",
        "operator",
        "billing",
    }

    # The printed logins work.
    assert "owner@acme.test" in output and "hangar-demo-password" in output
    assert client.login(username="owner@acme.test", password="hangar-demo-password")
    page = client.get("/").content.decode()
    assert "acme-www-production" in page and "globex" not in page


@pytest.mark.django_db
def test_the_demo_has_billing_history_to_show(client):
    from billing.models import Invoice, PoolDedication, SampleRun

    seed()
    assert set(Invoice.objects.values_list("status", flat=True)) == {"draft", "issued", "paid"}
    # Every demo client has an invoice it can download, and this month's costs so far.
    owner = User.objects.get(email="owner@acme.test")
    client.force_login(owner)
    acme = Client.objects.get(slug="acme")
    page = client.get(f"/clients/{acme.pk}/costs/").content.decode()
    assert Invoice.objects.filter(client=acme, status="issued").get().number in page
    assert 'id="cost-trend"' in page and '<rect class="chart-bar' in page
    dashboard = client.get("/").content.decode()
    assert f'href="/clients/{acme.pk}/costs/"' in dashboard  # a cost, not "—"
    # The last week hour by hour, with measured use, for the usage charts.
    assert SampleRun.objects.filter(seconds=3600).count() >= 24 * 7
    assert PoolDedication.objects.count() == NodePool.objects.count()
    runs = SampleRun.objects.count()
    seed()  # idempotent: no second history
    assert SampleRun.objects.count() == runs


@pytest.mark.django_db
def test_node_sync_on_the_demo_cluster_leaves_every_pool_with_its_nodes():
    """The sandbox `make run` starts carries the demo's pools; syncing its nodes maps them
    onto the pools the demo seeds (before, a new `sandbox-pool` took every node and the
    environments' pools were emptied: every cost preview showed 0.00)."""
    from clusters.kube.transport import forget_client
    from clusters.nodes import cluster_sync_nodes
    from clusters.sandbox import SandboxCluster
    from clusters.sandbox.demo import demo_nodes

    seed()
    cluster = Cluster.objects.get(slug="sandbox")
    with SandboxCluster(token="sandbox-token", nodes=demo_nodes()) as sandbox:
        cluster.api_url = sandbox.url
        cluster.kubeconfig = yaml.safe_dump(sandbox.kubeconfig())
        cluster.save()
        before = {p.pk: p.name for p in NodePool.objects.filter(cluster=cluster)}
        sync = cluster_sync_nodes(cluster=cluster)
        forget_client(cluster.pk)
    assert sync.warnings == []
    assert {p.pk: p.name for p in sync.pools} == before  # no new pool, none lost
    for environment in Environment.objects.select_related("node_pool"):
        assert environment.node_pool.count > 0, environment
    shared = NodePool.objects.get(cluster=cluster, name="shared")
    assert (shared.count, shared.allocatable_cpu_millicores) == (3, 3 * 3900)


@pytest.mark.django_db
def test_nodes_naming_no_pool_in_use_do_not_empty_the_pools_environments_run_on():
    """What `make run` did before: two nodes labelled `sandbox-pool`. The pools the demo's
    15 environments run on keep their nodes, and the sync says why."""
    from clusters.kube.transport import forget_client
    from clusters.nodes import cluster_sync_nodes
    from clusters.sandbox import SandboxCluster

    seed()
    cluster = Cluster.objects.get(slug="sandbox")
    nodes = [{"name": f"sandbox-pool-{i}", "pool": "sandbox-pool"} for i in (1, 2)]
    with SandboxCluster(token="sandbox-token", nodes=nodes) as sandbox:
        cluster.api_url = sandbox.url
        cluster.kubeconfig = yaml.safe_dump(sandbox.kubeconfig())
        cluster.save()
        sync = cluster_sync_nodes(cluster=cluster)
        forget_client(cluster.pk)
    assert sorted(sync.kept) == ["initech-dedicated", "shared"]
    assert any("hangar.dev/node-pool=shared" in w for w in sync.warnings)
    for environment in Environment.objects.select_related("node_pool"):
        assert environment.node_pool.count > 0, environment
    assert NodePool.objects.get(cluster=cluster, name="sandbox-pool").count == 2


# --- Backups in the demo: the sandbox cluster provisions data only when it can for real ---


@pytest.fixture
def demo_storage(request) -> str:
    """The S3 API server (the backup tests'), with the demo's bucket; its URL."""
    from controlpanel.demo_storage import DEMO_BUCKET

    client = request.getfixturevalue("s3")
    client.create_bucket(Bucket=DEMO_BUCKET)
    yield request.getfixturevalue("s3_server")
    client.delete_bucket(Bucket=DEMO_BUCKET)  # seed_demo only looks at it


def _mariadb_url(settings) -> str:
    server = settings.TEST_MARIADB
    user = f"{server['admin_user']}:{server['admin_password']}"
    return f"mysql://{user}@{server['host']}:{server['port']}"


@pytest.mark.django_db
def test_with_mariadb_and_the_s3_server_the_sandbox_provisions_data(settings, demo_storage):
    settings.HANGAR_DEMO_S3_URL = demo_storage
    settings.HANGAR_DEMO_MARIADB_URL = _mariadb_url(settings)
    output = seed()
    sandbox = Cluster.objects.get(slug="sandbox")
    assert sandbox.provision_data
    assert (sandbox.db_host, sandbox.db_port) == (
        settings.TEST_MARIADB["host"],
        settings.TEST_MARIADB["port"],
    )
    assert (sandbox.storage_endpoint, sandbox.storage_bucket) == (demo_storage, "hangar-demo")
    assert "Backups are on" in output


@pytest.mark.django_db
def test_without_what_backups_need_the_demo_goes_without_and_says_why(
    settings, demo_storage, monkeypatch, tmp_path
):
    settings.HANGAR_DEMO_S3_URL = ""
    output = seed()
    assert not Cluster.objects.get(slug="sandbox").provision_data
    assert "Backups are off in this demo: no S3 API server" in output

    settings.HANGAR_DEMO_S3_URL = demo_storage
    settings.HANGAR_DEMO_MARIADB_URL = "mysql://root@127.0.0.1:1"
    output = seed()
    assert not Cluster.objects.get(slug="sandbox").provision_data
    assert "Backups are off in this demo: no MariaDB at 127.0.0.1:1" in output

    # A machine without rclone: the backup Jobs, run here, could not work.
    settings.HANGAR_DEMO_MARIADB_URL = _mariadb_url(settings)
    for tool in ("mariadb-dump", "mariadb", "gzip", "sha256sum"):
        (tmp_path / tool).symlink_to(shutil.which(tool))
    monkeypatch.setenv("PATH", str(tmp_path))
    output = seed()
    assert not Cluster.objects.get(slug="sandbox").provision_data
    assert "Backups are off in this demo: rclone not installed" in output
