"""The staff console's forms and buttons."""

from __future__ import annotations

import datetime

import pytest
import yaml
from django.core import mail

from clusters.models import Cluster, NodeSize, Operation
from controlpanel.core.models import AuditEvent, Client, User
from sites.models import Environment, Site
from tests import factories as f
from tests.web.helpers import sign_in


@pytest.fixture
def admin(client, staff_admin):
    return sign_in(client, staff_admin)


def test_clients_are_created_edited_and_suspended(admin):
    bad = admin.post(
        "/staff/clients/add/",
        {"name": "Initech", "slug": "Not A Slug", "billing_email": "b@i.test", "markup_percent": 0},
    )
    assert bad.status_code == 400 and 'id="id_slug_error"' in bad.content.decode()
    created = admin.post(
        "/staff/clients/add/",
        {"name": "Initech", "slug": "initech", "billing_email": "b@i.test", "markup_percent": 10},
    )
    client = Client.objects.get(slug="initech")
    assert created["Location"] == f"/staff/clients/{client.pk}/"
    admin.post(f"/staff/clients/{client.pk}/status/", {"status": "suspended"})
    client.refresh_from_db()
    assert client.status == "suspended"
    admin.post(f"/staff/clients/{client.pk}/status/", {"status": "active"})
    client.refresh_from_db()
    assert client.status == "active"


def test_operators_cannot_create_clients(client, staff_operator):
    sign_in(client, staff_operator)
    response = client.post(
        "/staff/clients/add/",
        {"name": "X", "slug": "x", "billing_email": "b@x.test", "markup_percent": 0},
    )
    assert response.status_code == 403


def test_sites_and_environments_are_added_from_the_clients_page(admin, client_a, cluster):
    admin.post(
        f"/staff/clients/{client_a.pk}/sites/add/", {"name": "Shop", "slug": "shop", "kind": "php"}
    )
    site = Site.objects.get(client=client_a, slug="shop")
    response = admin.post(
        f"/staff/clients/{client_a.pk}/environments/add/",
        {
            "site": site.pk,
            "name": "Staging",
            "slug": "staging",
            "tier": "staging",
            "cluster": cluster.pk,
        },
    )
    environment = Environment.objects.get(site=site, slug="staging")
    assert response["Location"] == f"/environments/{environment.pk}/settings/"


def test_inviting_staff_and_client_users(admin, client_a):
    admin.post("/staff/users/invite/", {"email": "new.staff@agency.test", "staff_role": "operator"})
    assert User.objects.get(email="new.staff@agency.test").staff_role == "operator"
    admin.post(
        "/staff/users/invite/",
        {"email": "dev@acme.test", "client": client_a.pk, "role": "developer"},
    )
    assert User.objects.get(email="dev@acme.test").memberships.get().role == "developer"
    assert len(mail.outbox) == 2
    both = admin.post(
        "/staff/users/invite/",
        {"email": "x@x.test", "client": client_a.pk, "role": "viewer", "staff_role": "admin"},
    )
    assert both.status_code == 400


def test_clusters_are_added_with_a_write_only_kubeconfig(admin, live_sandbox):
    kubeconfig = yaml.safe_dump(live_sandbox.kubeconfig())
    broken = admin.post(
        "/staff/clusters/add/",
        {
            "name": "Broken",
            "slug": "broken",
            "provider": "generic",
            "kubeconfig": "token: hunter2-secret\n  : [",
            "ingress_class": "nginx",
            "ingress_namespace": "ingress-nginx",
            "cert_manager_issuer": "letsencrypt",
            "db_port": 3306,
            "max_concurrent_operations": 4,
        },
    )
    page = broken.content.decode()
    assert broken.status_code == 400 and 'id="id_kubeconfig_error"' in page
    assert "hunter2-secret" not in page
    admin.post(
        "/staff/clusters/add/",
        {
            "name": "Fra",
            "slug": "fra",
            "provider": "generic",
            "kubeconfig": kubeconfig,
            "ingress_class": "nginx",
            "ingress_namespace": "ingress-nginx",
            "cert_manager_issuer": "letsencrypt",
            "db_port": 3306,
            "max_concurrent_operations": 4,
        },
    )
    cluster = Cluster.objects.get(slug="fra")
    assert cluster.api_url == live_sandbox.url
    assert "live-test" not in admin.get(f"/staff/clusters/{cluster.pk}/").content.decode()
    # Saving with the kubeconfig left blank keeps it.
    admin.post(
        f"/staff/clusters/{cluster.pk}/edit/",
        {
            "name": "Frankfurt",
            "provider": "generic",
            "kubeconfig": "",
            "region": "fra1",
            "ingress_class": "nginx",
            "ingress_namespace": "ingress-nginx",
            "cert_manager_issuer": "letsencrypt",
            "db_port": 3306,
            "max_concurrent_operations": 4,
        },
    )
    cluster.refresh_from_db()
    assert cluster.name == "Frankfurt" and cluster.kubeconfig == kubeconfig
    assert AuditEvent.objects.filter(action="cluster.update").exists()
    # Test connection and node sync against the sandbox.
    live_sandbox.add_node("n1", pool="web", cpu="4", memory="8Gi")
    admin.post(f"/staff/clusters/{cluster.pk}/test/")
    admin.post(f"/staff/clusters/{cluster.pk}/sync/")
    cluster.refresh_from_db()
    assert cluster.connection_checked_at is not None
    assert cluster.node_pools.get().allocatable_cpu_millicores == 4000
    from clusters.kube.transport import forget_client

    forget_client(cluster.pk)


def test_node_sizes_and_prices(admin):
    admin.post(
        "/staff/sizes/add/",
        {
            "provider": "digitalocean",
            "slug": "s-4vcpu-8gb",
            "vcpu": 4,
            "memory_mib": 8192,
            "disk_gib": 160,
        },
    )
    size = NodeSize.objects.get(slug="s-4vcpu-8gb")
    page = admin.get("/staff/sizes/").content.decode()
    assert "s-4vcpu-8gb" in page and "no price" in page
    admin.post(
        "/staff/billing/prices/nodes/add/",
        {"size": size.pk, "monthly_price": "48.00", "effective_from": "2026-01-01"},
    )
    assert size.prices.get().monthly_price == 48
    zero = admin.post(
        "/staff/billing/prices/nodes/add/",
        {"size": size.pk, "monthly_price": "0", "effective_from": "2026-02-01"},
    )
    assert zero.status_code == 400


def test_fleet_deploy_previews_then_follows_the_batch(admin, cluster, client_a):
    for slug in ("a", "b"):
        f.EnvironmentFactory(
            site=f.SiteFactory(client=client_a), cluster=cluster, slug=slug, status="active"
        )
    data = {"image": "registry.example.com/base:2026.11", "client": client_a.pk}
    preview = admin.post("/staff/fleet/deploy/", data)
    assert "Deploy to 2 environments" in preview.content.decode()
    assert not Operation.objects.exists()
    started = admin.post("/staff/fleet/deploy/", data | {"step": "confirm"})
    batch = Operation.objects.values_list("batch", flat=True).first()
    assert started["Location"] == f"/staff/fleet/{batch}/"
    page = admin.get(started["Location"]).content.decode()
    assert "2 environments" in page and 'hx-trigger="every 2s"' in page
    Operation.objects.update(status=Operation.Status.SUCCEEDED)
    live = admin.get(f"/staff/fleet/{batch}/live/").content.decode()
    assert "hx-trigger" not in live and "100%" in live


def test_drift_is_listed_and_repaired(admin, environment):
    Environment.objects.filter(pk=environment.pk).update(
        status="active",
        drift_report=[
            {
                "object": "Deployment web",
                "missing": False,
                "fields": [
                    {
                        "field": "spec.template.spec.containers[0].image",
                        "desired": "a:1",
                        "live": "a:2",
                    }
                ],
            }
        ],
        drift_checked_at=datetime.datetime(2026, 11, 1, tzinfo=datetime.UTC),
    )
    page = admin.get("/staff/drift/").content.decode()
    assert "Deployment web" in page and "a:2" in page
    response = admin.post(f"/staff/drift/{environment.pk}/repair/")
    operation = Operation.objects.get()
    assert response["Location"] == f"/operations/{operation.pk}/"
    assert operation.params["repair"] is True


def test_the_audit_log_filters(admin, client_a, other_client):
    f.AuditEventFactory(client=client_a, action="environment.deploy", actor_label="ann@acme.test")
    f.AuditEventFactory(client=other_client, action="cron.create", actor_label="bob@globex.test")
    deploy, cron = "<code>environment.deploy</code>", "<code>cron.create</code>"
    page = admin.get(f"/staff/audit/?client={client_a.pk}").content.decode()
    assert deploy in page and cron not in page
    page = admin.get("/staff/audit/?actor=bob").content.decode()
    assert cron in page and deploy not in page
    page = admin.get("/staff/audit/?action=environment.").content.decode()
    assert deploy in page and cron not in page


def test_all_operations_filter(admin, cluster, client_a):
    f.OperationFactory(
        cluster=cluster, client=client_a, kind="environment.deploy", status=Operation.Status.FAILED
    )
    f.OperationFactory(cluster=cluster, client=client_a, kind="cron.run")
    page = admin.get("/staff/operations/?status=failed").content.decode()
    # Kinds read as what they do (issue 17.6).
    assert ">Deploy<" in page and "Run cron now" not in page


def test_the_node_pool_choice_offers_only_pools_the_client_may_use(
    admin, client_a, other_client, cluster
):
    shared = f.NodePoolFactory(cluster=cluster, name="shared")
    own = f.NodePoolFactory(cluster=cluster, name="acme-only", dedicated_client=client_a)
    f.NodePoolFactory(cluster=cluster, name="globex-only", dedicated_client=other_client)
    page = admin.get(f"/staff/clients/{client_a.pk}/").content.decode()
    assert f'value="{shared.pk}"' in page and f'value="{own.pk}"' in page
    assert "globex-only" not in page  # issue 17.9: never offered, then refused
