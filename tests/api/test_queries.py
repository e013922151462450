"""List endpoints run a constant number of queries, whatever the number of rows."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests import factories as f

LISTS = [
    "/api/v1/clients/",
    "/api/v1/sites/",
    "/api/v1/environments/",
    "/api/v1/operations/",
    "/api/v1/audit-events/",
    "/api/v1/environments/{env}/domains/",
    "/api/v1/environments/{env}/variables/",
    "/api/v1/environments/{env}/cron/",
    "/api/v1/environments/{env}/releases/",
    "/api/v1/node-pools/",
    "/api/v1/clusters/",
    "/api/v1/tokens/",
]


def populate(n, client, cluster, env, user):
    for i in range(n):
        site = f.SiteFactory(client=client)
        f.EnvironmentFactory(site=site, cluster=cluster)
        f.DomainFactory(environment=env)
        f.EnvVarFactory(environment=env, is_secret=bool(i % 2))
        f.CronScheduleFactory(environment=env)
        f.ReleaseFactory(environment=env, created_by=user)
        f.OperationFactory(client=client, cluster=cluster, requested_by=user)
        f.AuditEventFactory(client=client)
        f.NodePoolFactory(cluster=cluster)


@pytest.mark.parametrize("url", LISTS)
def test_list_query_count_does_not_grow(api, staff_admin, client_a, cluster, environment, url):
    api.force_authenticate(staff_admin)
    target = url.format(env=environment.pk)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert api.get(target).status_code == 200
        return len(captured)

    populate(1, client_a, cluster, environment, staff_admin)
    few = queries()
    populate(49, client_a, cluster, environment, staff_admin)
    assert queries() == few
