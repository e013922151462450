"""The interim staff UI: staff only, secrets write-only, every change audited."""

from __future__ import annotations

import pytest

from clusters.models import Cluster
from controlpanel.core.models import AuditEvent
from tests.web.helpers import sign_in  # staff pass the second factor before any page


def test_client_users_cannot_enter_the_admin(client, owner):
    client.force_login(owner)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_billing_staff_can_read_clusters_but_not_change_them(client, staff_billing, cluster):
    sign_in(client, staff_billing)
    assert client.get(f"/admin/clusters/cluster/{cluster.pk}/change/").status_code == 200
    response = client.post(f"/admin/clusters/cluster/{cluster.pk}/change/", {"name": "x"})
    assert response.status_code == 403


def test_cluster_page_never_shows_secrets(client, staff_admin, cluster):
    sign_in(client, staff_admin)
    page = client.get(f"/admin/clusters/cluster/{cluster.pk}/change/").content.decode()
    for secret in (
        cluster.kubeconfig.splitlines()[-1],
        "test-token",
        cluster.db_admin_password,
        cluster.storage_secret_key,
        cluster.storage_access_key,
    ):
        assert secret not in page
    assert "Write-only" in page
    listing = client.get("/admin/clusters/cluster/").content.decode()
    assert cluster.db_admin_password not in listing


def cluster_form(cluster: Cluster, **changes: str) -> dict[str, str]:
    data = {
        "name": cluster.name,
        "slug": cluster.slug,
        "provider": cluster.provider,
        "region": cluster.region,
        "api_url": cluster.api_url,
        "kubeconfig": "",
        "ingress_class": cluster.ingress_class,
        "cert_manager_issuer": cluster.cert_manager_issuer,
        "storage_endpoint": cluster.storage_endpoint,
        "storage_region": "",
        "storage_bucket": cluster.storage_bucket,
        "storage_access_key": "",
        "storage_secret_key": "",
        "db_host": cluster.db_host,
        "db_port": "3306",
        "db_admin_user": cluster.db_admin_user,
        "max_concurrent_operations": "4",
        "ingress_namespace": cluster.ingress_namespace,
        "storage_addressing_style": cluster.storage_addressing_style,
        "db_admin_password": "",
        "node_pools-TOTAL_FORMS": "0",
        "node_pools-INITIAL_FORMS": "0",
    }
    return data | changes


def test_blank_secret_keeps_the_stored_value_and_changes_are_audited(client, staff_admin, cluster):
    sign_in(client, staff_admin)
    old_password = cluster.db_admin_password
    response = client.post(
        f"/admin/clusters/cluster/{cluster.pk}/change/", cluster_form(cluster, region="fra1")
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    cluster.refresh_from_db()
    assert cluster.region == "fra1" and cluster.db_admin_password == old_password
    event = AuditEvent.objects.get(action="cluster.update")
    assert event.changes == {"region": ["ams3", "fra1"]}

    response = client.post(
        f"/admin/clusters/cluster/{cluster.pk}/change/",
        cluster_form(cluster, db_admin_password="brand-new-password"),
    )
    assert response.status_code == 302
    cluster.refresh_from_db()
    assert cluster.db_admin_password == "brand-new-password"
    event = AuditEvent.objects.filter(action="cluster.update").first()
    assert event.changes == {"db_admin_password": "(secret changed)"}
    assert "brand-new-password" not in str(event.changes)


def test_unparseable_kubeconfig_is_refused_without_echoing_it(client, staff_admin, cluster):
    sign_in(client, staff_admin)
    response = client.post(
        f"/admin/clusters/cluster/{cluster.pk}/change/",
        cluster_form(cluster, kubeconfig="token: hunter2-secret\n  : [broken"),
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Not valid YAML" in page
    assert "hunter2-secret" not in page


def _user_form(user, **changes):
    data = {
        "email": user.email,
        "full_name": user.full_name,
        "staff_role": user.staff_role,
        "is_active": "on",
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
    }
    data.update(changes)
    return data


def test_an_operator_cannot_make_themselves_an_administrator(client, staff_operator):
    sign_in(client, staff_operator)
    response = client.post(
        f"/admin/core/user/{staff_operator.pk}/change/",
        _user_form(staff_operator, staff_role="admin", is_superuser="on"),
    )
    assert response.status_code == 403
    staff_operator.refresh_from_db()
    assert staff_operator.staff_role == "operator" and not staff_operator.is_superuser


def test_an_administrator_cannot_make_a_superuser_and_role_changes_are_audited(
    client, staff_admin, staff_operator
):
    sign_in(client, staff_admin)
    response = client.post(
        f"/admin/core/user/{staff_operator.pk}/change/",
        _user_form(staff_operator, staff_role="billing", is_superuser="on"),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    staff_operator.refresh_from_db()
    assert staff_operator.staff_role == "billing" and not staff_operator.is_superuser
    event = AuditEvent.objects.get(action="user.update", target_id=str(staff_operator.pk))
    assert event.changes["staff_role"] == ["operator", "billing"]
    assert event.actor_id == staff_admin.pk


@pytest.mark.parametrize("actor", ["staff_admin", "staff_operator", "staff_billing"])
def test_nobody_reads_a_totp_key_in_the_admin(actor, request, client, staff_admin):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.create(user=staff_admin, name="phone", confirmed=True)
    sign_in(client, request.getfixturevalue(actor))
    for path in ("/admin/otp_totp/totpdevice/", f"/admin/otp_totp/totpdevice/{device.pk}/change/"):
        response = client.get(path)
        assert response.status_code == 404, path
    assert device.key not in client.get("/admin/").content.decode()


def test_administrators_reset_two_factor_instead(client, staff_admin, staff_operator):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    sign_in(client, staff_operator)  # enrols the operator
    assert TOTPDevice.objects.filter(user=staff_operator).exists()
    admin_client = sign_in(type(client)(), staff_admin)
    response = admin_client.post(
        "/admin/core/user/",
        {"action": "reset_two_factor", "_selected_action": [staff_operator.pk]},
    )
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=staff_operator).exists()
    assert AuditEvent.objects.filter(
        action="user.two_factor_reset", target_id=str(staff_operator.pk)
    ).exists()
    # An operator may not reset anyone's.
    sign_in(client, staff_operator)
    response = client.post(
        "/admin/core/user/",
        {"action": "reset_two_factor", "_selected_action": [staff_admin.pk]},
    )
    assert response.status_code == 403
    assert TOTPDevice.objects.filter(user=staff_admin).exists()
