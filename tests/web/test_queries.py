"""List pages run a constant number of queries: one row or many, the same count."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clusters.models import Operation
from tests import factories as f
from tests.web.helpers import sign_in


def count(client, path: str) -> int:
    client.get(path)  # warm the session and caches
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return len(queries.captured_queries)


def grow(environment, cluster, n: int = 6) -> None:
    """More of everything the list pages show."""
    client = environment.site.client
    for i in range(n):
        site = f.SiteFactory(client=client)
        other = f.EnvironmentFactory(site=site, cluster=cluster)
        f.ReleaseFactory(environment=other)
        f.OperationFactory(
            cluster=cluster, client=client, target_id=other.pk, status=Operation.Status.FAILED
        )
        f.ReleaseFactory(environment=environment)
        f.CronScheduleFactory(environment=environment)
        f.EnvVarFactory(environment=environment, is_secret=bool(i % 2))
        f.DomainFactory(environment=environment)
        f.AuditEventFactory(client=client)
        f.MembershipFactory(client=client, role="viewer")
        f.ClientFactory()
        f.ClusterFactory()
        f.NodePoolFactory(cluster=cluster, name=f"pool-{i}")


@pytest.mark.parametrize(
    ("actor", "paths"),
    [
        (
            "owner",
            [
                "/",
                "/operations/",
                "/environments/{env}/",
                "/environments/{env}/variables/",
                "/environments/{env}/cron/",
                "/environments/{env}/domains/",
                "/environments/{env}/tasks/",
                "/environments/{env}/backups/",
                "/clients/{client}/members/",
            ],
        ),
        (
            "staff_admin",
            [
                "/",
                "/staff/clients/",
                "/staff/users/",
                "/staff/clusters/",
                "/staff/clusters/{cluster}/",
                "/staff/operations/",
                "/staff/audit/",
                "/staff/sizes/",
                "/staff/drift/",
            ],
        ),
    ],
)
def test_list_pages_run_a_constant_number_of_queries(
    actor, paths, request, client, environment, cluster
):
    user = request.getfixturevalue(actor)
    sign_in(client, user)
    f.ReleaseFactory(environment=environment)
    f.CronScheduleFactory(environment=environment)
    f.OperationFactory(cluster=cluster, client=environment.site.client, target_id=environment.pk)
    f.AuditEventFactory(client=environment.site.client)
    ids = {"env": environment.pk, "client": environment.site.client_id, "cluster": cluster.pk}
    urls = [path.format(**ids) for path in paths]
    few = {url: count(client, url) for url in urls}
    grow(environment, cluster)
    many = {url: count(client, url) for url in urls}
    assert many == few
