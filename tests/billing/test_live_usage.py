"""Sampling counts what really runs on the cluster (over real HTTP to the emulator, which
serves metrics.k8s.io as metrics-server does), and falls back to the database, saying so,
when a cluster cannot be read."""

from __future__ import annotations

import time

import pytest

from billing.models import EnvironmentSample, SampleRun
from billing.sampling import usage_sample
from billing.selectors import environment_usage
from sites import services
from sites.models import Environment
from tests import factories as f
from tests.engine import drain
from tests.web.helpers import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def running(live_environment, staff_admin, settings):
    """Acme's production on the live sandbox: 2 replicas of 250m / 256Mi each."""
    settings.HANGAR_BILLING_SAMPLE_SECONDS = 3600
    Environment.objects.filter(pk=live_environment.pk).update(
        cpu_request="250m", memory_request="256Mi", cpu_limit="1", memory_limit="512Mi"
    )
    live_environment.refresh_from_db()
    services.environment_provision(actor=staff_admin, environment=live_environment)
    drain()
    live_environment.refresh_from_db()
    assert live_environment.status == Environment.Status.ACTIVE
    return live_environment


def running_pods(kube, namespace: str, count: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        pods = kube.list("v1", "Pod", namespace, label_selector={"app.kubernetes.io/name": "web"})
        live = [p for p in pods if (p.get("status") or {}).get("phase") == "Running"]
        if len(live) == count and len(pods) == count:
            return
        time.sleep(0.05)
    raise AssertionError(f"{count} running pods expected in {namespace}")


def test_a_sample_counts_the_pods_that_really_run_and_what_they_use(running, live_kube):
    # Someone scaled the Deployment by hand: 1 pod runs where Hangar asked for 2.
    live_kube.merge_patch(
        "apps/v1", "Deployment", "web", {"spec": {"replicas": 1}}, running.namespace
    )
    running_pods(live_kube, running.namespace, 1)

    run = usage_sample()

    sample = EnvironmentSample.objects.get(environment_id=running.pk)
    assert (sample.source, sample.pods) == ("cluster", 1)  # not the database's 2
    assert (sample.cpu_millicores, sample.memory_mib) == (250, 256)
    # The emulator's metrics-server: something between idle and the requests.
    assert 0 < sample.cpu_used_millicores <= 250
    assert 0 < sample.memory_used_mib <= 256
    assert run.fallbacks == {}


def test_an_unreadable_cluster_falls_back_to_the_database_and_says_why(running, live_sandbox):
    # The API server is down for this hour's sample.
    live_sandbox.faults.error(503, path_regex=r"^/api/v1/(namespaces/[^/]+/)?pods$", times=None)

    run = usage_sample()

    sample = EnvironmentSample.objects.get(environment_id=running.pk)
    assert (sample.source, sample.pods, sample.cpu_millicores) == ("database", 2, 500)
    assert sample.cpu_used_millicores is None
    assert list(SampleRun.objects.get(pk=run.pk).fallbacks) == [str(running.cluster_id)]


def test_a_namespace_hangar_may_not_read_is_counted_from_the_database(running, live_sandbox):
    """Hangar reads pods only where it bound its environment role; a namespace that refuses
    (403) is counted from the database, and the rest of the cluster is still read."""
    live_sandbox.faults.error(
        403, path_regex=rf"^/api/v1/namespaces/{running.namespace}/pods$", times=None
    )
    run = usage_sample()
    sample = EnvironmentSample.objects.get(environment_id=running.pk)
    assert (sample.source, sample.pods) == ("database", 2)
    assert run.fallbacks == {}  # the cluster answered
    requests = live_sandbox.requests.filter(method="GET", path_regex=r"/pods$")
    assert requests and all("/namespaces/" in r.path for r in requests), "no cluster-wide read"


def test_the_environment_page_charts_what_it_uses(running, client, owner, other_owner):
    usage_sample()
    samples = environment_usage(actor=owner, environment=running)
    assert len(samples) == 1 and samples[0].cpu_used_millicores is not None
    sign_in(client, owner)
    page = client.get(f"/environments/{running.pk}/usage/").content.decode()
    assert 'id="cpu-use"' in page and 'id="memory-use"' in page
    assert "counted on the cluster" in page
    # Another client's people do not see it at all.
    sign_in(client, other_owner)
    assert client.get(f"/environments/{running.pk}/usage/").status_code == 404
    # A viewer sees usage: it holds no money.
    viewer = f.MembershipFactory(client=running.site.client, role="viewer").user
    sign_in(client, viewer)
    assert client.get(f"/environments/{running.pk}/usage/").status_code == 200
