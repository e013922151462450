"""One namespace, one environment (issue 13.1): the database refuses a second environment
with a namespace already used, and the cluster side acts only on a namespace annotated
with this environment's id."""

from __future__ import annotations

import contextlib

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clusters.models import Operation
from controlpanel.core.models import Client
from sites import services
from sites.models import Environment, Site
from sites.namespaces import OWNER_ANNOTATION
from tests import factories as f
from tests.engine import drain, provisioned


def test_a_colliding_environment_is_a_field_error_on_its_slug(staff_admin, cluster):
    first = f.SiteFactory(client=f.ClientFactory(slug="acme"), slug="www")
    services.environment_create(
        actor=staff_admin, site=first, name="Shop", slug="shop-prod", cluster=cluster
    )
    second = f.SiteFactory(client=f.ClientFactory(slug="acme-www"), slug="shop")
    with pytest.raises(ValidationError) as excinfo:
        services.environment_create(
            actor=staff_admin, site=second, name="Prod", slug="prod", cluster=cluster
        )
    message = excinfo.value.message_dict["slug"][0]
    assert "acme-www-shop-prod" in message and "already used" in message
    assert not Environment.objects.filter(site=second).exists()


def test_system_namespaces_are_refused(staff_admin, cluster):
    site = f.SiteFactory(client=f.ClientFactory(slug="kube"), slug="system")
    with pytest.raises(ValidationError) as excinfo:
        services.environment_create(
            actor=staff_admin, site=site, name="X", slug="x", cluster=cluster
        )
    assert "reserved" in excinfo.value.message_dict["slug"][0]


slug = st.text(alphabet="ab-", min_size=1, max_size=5).filter(
    lambda s: not s.startswith("-") and not s.endswith("-")
)


@pytest.mark.django_db
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(triples=st.lists(st.tuples(slug, slug, slug), min_size=2, max_size=8))
def test_no_two_environments_ever_share_a_namespace(triples, staff_admin, cluster):
    with transaction.atomic():
        for client_slug, site_slug, env_slug in triples:
            client = Client.objects.filter(slug=client_slug).first() or f.ClientFactory(
                slug=client_slug
            )
            site = Site.objects.filter(client=client, slug=site_slug).first() or f.SiteFactory(
                client=client, slug=site_slug
            )
            with contextlib.suppress(ValidationError):
                services.environment_create(
                    actor=staff_admin, site=site, name=env_slug, slug=env_slug, cluster=cluster
                )
        namespaces = [e.namespace for e in Environment.objects.all()]
        assert len(namespaces) == len(set(namespaces))
        transaction.set_rollback(True)


def _foreign_namespace(kube, name, annotations=None):
    kube.apply(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": name,
                "labels": {"team": "someone-else"},
                "annotations": annotations or {},
            },
        }
    )
    kube.apply(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "app-config", "namespace": name},
            "data": {"theirs": "yes"},
        }
    )


def _failed(op):
    op.refresh_from_db()
    assert op.status == Operation.Status.FAILED, op.status
    return op.error


@pytest.mark.parametrize("owner_id", [None, "999999"], ids=["by-hand", "another-environment"])
def test_provision_refuses_a_namespace_it_does_not_own(any_environment, owner, any_kube, owner_id):
    namespace = any_environment.namespace
    _foreign_namespace(any_kube, namespace, {OWNER_ANNOTATION: owner_id} if owner_id else None)
    op = services.environment_provision(actor=owner, environment=any_environment)
    drain()
    assert f"Namespace {namespace} exists" in _failed(op)
    live = any_kube.get("v1", "ConfigMap", "app-config", namespace)
    assert live["data"] == {"theirs": "yes"}
    ns = any_kube.get("v1", "Namespace", namespace)
    assert ns["metadata"]["labels"].get("app.kubernetes.io/managed-by") != "hangar"
    assert any_kube.get_or_none("v1", "Secret", "app-env", namespace) is None


def test_destroy_refuses_a_namespace_it_does_not_own(any_environment, owner, any_kube):
    namespace = any_environment.namespace
    _foreign_namespace(any_kube, namespace)
    Environment.objects.filter(pk=any_environment.pk).update(status=Environment.Status.ACTIVE)
    op = services.environment_destroy(actor=owner, environment=any_environment, confirm=namespace)
    drain()
    assert "neither adopts nor deletes" in _failed(op)
    assert any_kube.get_or_none("v1", "Namespace", namespace) is not None
    assert any_kube.get("v1", "ConfigMap", "app-config", namespace)["data"] == {"theirs": "yes"}


def test_its_own_namespace_carries_its_id_and_is_applied_and_destroyed(
    any_environment, owner, any_kube
):
    provisioned(any_environment, owner)
    namespace = any_environment.namespace
    ns = any_kube.get("v1", "Namespace", namespace)
    assert ns["metadata"]["annotations"][OWNER_ANNOTATION] == str(any_environment.pk)
    op = services.environment_destroy(actor=owner, environment=any_environment, confirm=namespace)
    drain()
    op.refresh_from_db()
    assert op.status == Operation.Status.SUCCEEDED, op.error


@pytest.mark.parametrize("version", ["1.0.0", "2.0.0"], ids=["same-image", "new-image"])
def test_a_deploy_into_a_namespace_made_again_by_someone_else_writes_nothing(
    any_environment, owner, any_kube, version
):
    """The namespace is deleted and made again under the same name by someone else: the
    record still says what Hangar wrote there, but nothing of it is left. The deploy
    fails and writes nothing, not even its rollback to the previous image."""
    environment = provisioned(any_environment, owner)
    namespace = environment.namespace
    any_kube.delete("v1", "Namespace", namespace)
    any_kube.wait_namespace_deleted(namespace, timeout=120, poll=0.2)
    _foreign_namespace(any_kube, namespace)

    op = services.environment_deploy(
        actor=owner, environment=environment, image=f"registry.example.com/acme/web:{version}"
    )
    drain()

    assert f"Namespace {namespace} exists" in _failed(op)
    assert any_kube.get_or_none("apps/v1", "Deployment", "web", namespace) is None
    assert any_kube.get_or_none("v1", "Secret", "app-env", namespace) is None
    assert any_kube.get("v1", "ConfigMap", "app-config", namespace)["data"] == {"theirs": "yes"}
    ns = any_kube.get("v1", "Namespace", namespace)
    assert ns["metadata"]["labels"].get("app.kubernetes.io/managed-by") != "hangar"


def test_provisioning_reads_the_namespace_once(live_environment, owner, live_sandbox):
    """The owner check reads the Namespace once per operation: after Hangar wrote it, its
    own write's answer says whose it is (issue 23: no read before each batch)."""
    live_sandbox.requests.clear()
    provisioned(live_environment, owner)
    path = f"/api/v1/namespaces/{live_environment.namespace}"
    assert live_sandbox.requests.count("GET", f"^{path}$") == 1
