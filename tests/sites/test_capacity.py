"""Requests are checked against the nodes that would run them (issue 15.9): 64 CPU per
pod on 1.9-CPU nodes was accepted; now what no node can hold is refused, naming the pool
and its largest node, and more pods than the pool holds is a warning in the preview."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from clusters.models import Operation
from controlpanel.integrations.tokens import token_create
from sites import services
from sites.models import Environment
from tests import factories as f

GiB = 2**30


@pytest.fixture
def pool(cluster):
    """Three s-2vcpu-4gb nodes, 1900m CPU and 3 GiB each for pods (as synced)."""
    size = f.NodeSizeFactory(slug="s-2vcpu-4gb", vcpu=2, memory_mib=4096)
    return f.NodePoolFactory(
        cluster=cluster,
        name="web",
        size=size,
        count=3,
        allocatable_cpu_millicores=3 * 1900,
        allocatable_memory_bytes=3 * 3 * GiB,
    )


@pytest.fixture
def active(environment, pool):
    environment.node_pool = pool
    environment.status = Environment.Status.ACTIVE
    environment.image = "registry.example.com/acme/web:1.0.0"
    environment.varnish_enabled = False
    environment.save()
    return environment


def api_as(user):
    api = APIClient()
    _, token = token_create(actor=user, name="t", scopes=["read", "write", "deploy"])
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return api


def test_a_pod_no_node_can_hold_is_refused_naming_the_pool(active, owner):
    Environment.objects.filter(pk=active.pk).update(cpu_request="2", cpu_limit="2")
    active.refresh_from_db()
    with pytest.raises(ValidationError) as excinfo:
        services.environment_scale(actor=owner, environment=active, replicas=2)
    (message,) = excinfo.value.message_dict["cpu_request"]
    assert 'requests 2 CPU, more than any node of pool "web" can give' in message
    assert "largest node (s-2vcpu-4gb) has 1900m CPU" in message
    assert not Operation.objects.exists()
    # Stopping it needs no room.
    services.environment_scale(actor=owner, environment=active, replicas=0)


def test_the_api_refuses_creating_such_an_environment(active, staff_admin, site, cluster, pool):
    response = api_as(staff_admin).post(
        "/api/v1/environments/",
        {
            "site": site.pk,
            "name": "Big",
            "slug": "big",
            "cluster": cluster.pk,
            "cpu_request": "64",
            "cpu_limit": "64",
            "replicas": 50,
        },
        format="json",
    )
    assert response.status_code == 400, response.content
    assert "cpu_request" in response.json()["errors"]
    assert not Environment.objects.filter(slug="big").exists()


def test_memory_is_checked_too(active, owner):
    with pytest.raises(ValidationError) as excinfo:
        services.environment_scale_check(
            active, {"memory_request": "4Gi", "memory_limit": "4Gi", "replicas": 1}
        )
    assert "memory_request" in excinfo.value.message_dict


def test_more_pods_than_the_pool_holds_are_a_warning_in_every_preview(active, owner, client, pool):
    f.NodePriceFactory(size=pool.size)
    Environment.objects.filter(pk=active.pk).update(cpu_request="1", cpu_limit="1")
    active.refresh_from_db()
    (warning,) = services.environment_scale_check(
        active, {"replicas": 10, "autoscale_enabled": False}
    )
    assert "10 pods request 10 CPU" in warning and 'pool "web" has 5700m CPU' in warning
    assert services.environment_scale_check(active, {"replicas": 5}) == []

    response = api_as(owner).post(
        "/api/v1/estimates/", {"environment": active.pk, "replicas": 10}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["warnings"] == [warning]
    response = api_as(owner).post(
        "/api/v1/estimates/", {"environment": active.pk, "replicas": 1}, format="json"
    )
    assert response.json()["warnings"] == []

    client.force_login(owner)
    page = client.post(f"/environments/{active.pk}/scaling/scale/", {"replicas": 10})
    assert page.status_code == 200
    assert "stay Pending until the pool grows" in page.content.decode()


def test_without_a_pool_the_clusters_largest_node_counts(environment, owner, cluster):
    small = f.NodeSizeFactory(slug="s-1vcpu-2gb", vcpu=1, memory_mib=2048)
    big = f.NodeSizeFactory(slug="s-8vcpu-16gb", vcpu=8, memory_mib=16384)
    f.NodePoolFactory(cluster=cluster, name="small", size=small, count=2)
    f.NodePoolFactory(cluster=cluster, name="big", size=big, count=1)
    Environment.objects.filter(pk=environment.pk).update(
        status=Environment.Status.ACTIVE, cpu_request="4", cpu_limit="4", varnish_enabled=False
    )
    environment.refresh_from_db()
    assert services.environment_scale_check(environment, {"replicas": 1}) == []
    Environment.objects.filter(pk=environment.pk).update(cpu_request="9", cpu_limit="9")
    environment.refresh_from_db()
    with pytest.raises(ValidationError) as excinfo:
        services.environment_scale_check(environment, {"replicas": 1})
    assert "this cluster's pools" in excinfo.value.message_dict["cpu_request"][0]
    assert "(s-8vcpu-16gb) has 8 CPU" in excinfo.value.message_dict["cpu_request"][0]
