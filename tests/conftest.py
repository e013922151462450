"""Named actors, so every test can ask "and what about the other client?".

- staff_admin / staff_operator / staff_billing: agency staff;
- owner / developer / viewer: members of `client` (Acme);
- other_owner: owner of `other_client` (Globex), who must never see Acme's objects.
"""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from controlpanel.core.roles import ClientRole, StaffRole
from controlpanel.integrations.tokens import token_create
from tests import factories as f


@pytest.fixture
def decrypts(monkeypatch):
    """Every value an encrypted field decrypts while the test runs (pages and endpoints
    that show no secret should decrypt none: each costs a row's worth of time)."""
    from controlpanel.core import fields

    calls: list[str] = []
    original = fields.crypto.decrypt

    def counting(token: str) -> str:
        calls.append(token)
        return original(token)

    monkeypatch.setattr(fields.crypto, "decrypt", counting)
    return calls


@pytest.fixture
def client_a(db):
    return f.ClientFactory(name="Acme", slug="acme")


@pytest.fixture
def other_client(db):
    return f.ClientFactory(name="Globex", slug="globex")


def _member(client, role):
    return f.MembershipFactory(
        client=client, role=role, user=f.UserFactory(email=f"{role}@{client.slug}.test")
    ).user


@pytest.fixture
def owner(client_a):
    return _member(client_a, ClientRole.OWNER)


@pytest.fixture
def developer(client_a):
    return _member(client_a, ClientRole.DEVELOPER)


@pytest.fixture
def viewer(client_a):
    return _member(client_a, ClientRole.VIEWER)


@pytest.fixture
def other_owner(other_client):
    return _member(other_client, ClientRole.OWNER)


@pytest.fixture
def staff_admin(db):
    return f.UserFactory(email="admin@agency.test", staff_role=StaffRole.ADMIN)


@pytest.fixture
def staff_operator(db):
    return f.UserFactory(email="operator@agency.test", staff_role=StaffRole.OPERATOR)


@pytest.fixture
def staff_billing(db):
    return f.UserFactory(email="billing@agency.test", staff_role=StaffRole.BILLING)


@pytest.fixture
def cluster(db):
    return f.ClusterFactory(slug="ams", name="Amsterdam")


@pytest.fixture
def site(client_a):
    return f.SiteFactory(client=client_a, slug="www", name="Acme website")


@pytest.fixture
def environment(site, cluster):
    return f.EnvironmentFactory(site=site, cluster=cluster, slug="production")


@pytest.fixture
def other_environment(other_client, cluster):
    other_site = f.SiteFactory(client=other_client, slug="shop", name="Globex shop")
    return f.EnvironmentFactory(site=other_site, cluster=cluster, slug="production")


# --- A live cluster: the sandbox emulator over HTTP, registered as a Cluster row ----------


@pytest.fixture
def live_sandbox():
    import yaml  # noqa: F401

    from clusters.sandbox import SandboxCluster

    # Tool Jobs (hangar.dev/tool: backups, test mail) run as local processes, for real.
    with SandboxCluster(
        token="live-test",
        rollout_delay=0.05,
        job_duration=0.05,
        namespace_deletion_delay=0.1,
        execute_tool_jobs=True,
    ) as sandbox:
        yield sandbox


@pytest.fixture
def live_cluster(db, live_sandbox):
    import yaml

    from clusters.kube.transport import forget_client

    cluster = f.ClusterFactory(
        slug="live",
        name="Live sandbox",
        api_url=live_sandbox.url,
        is_sandbox=True,
        kubeconfig=yaml.safe_dump(live_sandbox.kubeconfig()),
    )
    yield cluster
    forget_client(cluster.pk)


@pytest.fixture
def live_environment(site, live_cluster):
    """An environment on the live sandbox, with an image, not yet provisioned."""
    return f.EnvironmentFactory(
        site=site,
        cluster=live_cluster,
        slug="production",
        image="registry.example.com/acme/web:1.0.0",
        replicas=2,
        varnish_enabled=False,
    )


@pytest.fixture
def live_kube(live_cluster):
    """Reads the live cluster over HTTP, to assert what really is there."""
    from clusters.kube.client import KubeClient

    return KubeClient.for_cluster(live_cluster, skip_unchanged=False)


# --- The same, or a real cluster: tests of what a user would see on any cluster -----------


@pytest.fixture(params=["sandbox", pytest.param("real", marks=pytest.mark.cluster)])
def any_cluster(request, db):
    """A Cluster row for the sandbox emulator (always), or for KUBECONFIG's cluster too
    under `pytest -m cluster`. `any_cluster.sandbox` is the emulator, None on a real one:
    a test that needs the emulator's fault injection checks it."""
    import uuid
    from pathlib import Path

    from clusters.kube.client import KubeClient
    from clusters.kube.transport import forget_client

    if request.param == "real":
        import os

        path = os.environ.get("KUBECONFIG")
        if not path:
            pytest.skip("KUBECONFIG is not set: no real cluster to test against")
        cluster = f.ClusterFactory(
            slug=f"real-{uuid.uuid4().hex[:6]}",
            name="Real cluster",
            kubeconfig=Path(path).expanduser().read_text(),
        )
        cluster.sandbox = None
        yield cluster
        kube = KubeClient.for_cluster(cluster, skip_unchanged=False)
        for environment in cluster.environments.all():
            kube.delete("v1", "Namespace", environment.namespace)
        forget_client(cluster.pk)
        return
    cluster = request.getfixturevalue("live_cluster")
    cluster.sandbox = request.getfixturevalue("live_sandbox")
    yield cluster


@pytest.fixture
def any_environment(client_a, any_cluster):
    """An environment with an image on `any_cluster`, not provisioned yet; its site slug is
    unique, so namespaces on a shared real cluster never collide."""
    import uuid

    site = f.SiteFactory(client=client_a, slug=f"www{uuid.uuid4().hex[:6]}", name="Acme web")
    return f.EnvironmentFactory(
        site=site,
        cluster=any_cluster,
        slug="production",
        image="registry.example.com/acme/web:1.0.0",
        replicas=2,
        varnish_enabled=False,
    )


@pytest.fixture
def any_kube(any_cluster):
    """Reads (and, as someone else, changes) `any_cluster` over HTTP."""
    from clusters.kube.client import KubeClient

    return KubeClient.for_cluster(any_cluster, skip_unchanged=False)


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def as_token(api):
    """Authenticate `api` with a fresh personal token of `user` with `scopes`."""

    def use(user, scopes=("read", "write", "deploy")):
        _, token = token_create(actor=user, name="test", scopes=list(scopes))
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return token

    return use
