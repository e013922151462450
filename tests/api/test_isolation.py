"""Every endpoint, for every kind of caller → the expected status. Another client's objects
answer 404: never 403 (which would confirm they exist), never 200."""

from __future__ import annotations

import pytest

from controlpanel.integrations.tokens import token_create
from tests import factories as f
from tests.backups.conftest import backup_in_bucket

ACTORS = [
    "anonymous",
    "read_token",
    "viewer",
    "developer",
    "owner",
    "other_owner",
    "staff_operator",
    "staff_admin",
]

# expected status per actor, in ACTORS order
READ = [401, 200, 200, 200, 200, 404, 200, 200]
LIST = [401, 200, 200, 200, 200, 200, 200, 200]  # lists answer; contents are scoped
DEPLOYISH = [401, 403, 403, 202, 202, 404, 202, 202]
OWNER_WRITE = [401, 403, 403, 403, 201, 404, 201, 201]
DEV_WRITE = [401, 403, 403, 201, 201, 404, 201, 201]
OWNER_AUDIT = [401, 200, 200, 200, 200, 200, 200, 200]
STAFF_ONLY_DETAIL = [401, 404, 404, 404, 404, 404, 200, 200]
ADMIN_WRITE = [401, 403, 403, 403, 403, 403, 403, 201]
OWNER_ONLY_READ = [401, 200, 404, 404, 200, 404, 200, 200]  # invoices: owners and staff
ESTIMATE = [401, 403, 403, 200, 200, 404, 200, 200]
DOWNLOAD = [401, 403, 403, 403, 200, 404, 200, 200]

IMAGE = {"image": "registry.example.com/acme/web:9.9.9"}

ENDPOINTS = [
    ("GET", "/api/v1/clients/{client}/", None, READ),
    ("GET", "/api/v1/clients/{client}/members/", None, READ),
    ("GET", "/api/v1/sites/{site}/", None, READ),
    ("GET", "/api/v1/environments/{env}/", None, READ),
    ("GET", "/api/v1/environments/{env}/domains/", None, READ),
    ("GET", "/api/v1/environments/{env}/variables/", None, READ),
    ("GET", "/api/v1/environments/{env}/cron/", None, READ),
    ("GET", "/api/v1/environments/{env}/releases/", None, READ),
    ("GET", "/api/v1/domains/{domain}/", None, READ),
    ("GET", "/api/v1/variables/{variable}/", None, READ),
    ("GET", "/api/v1/cron/{cron}/", None, READ),
    ("GET", "/api/v1/operations/{operation}/", None, READ),
    ("GET", "/api/v1/clients/", None, LIST),
    ("GET", "/api/v1/sites/", None, LIST),
    ("GET", "/api/v1/environments/", None, LIST),
    ("GET", "/api/v1/operations/", None, LIST),
    ("GET", "/api/v1/audit-events/", None, OWNER_AUDIT),
    ("GET", "/api/v1/clusters/", None, LIST),
    ("GET", "/api/v1/clusters/{cluster}/", None, STAFF_ONLY_DETAIL),
    ("GET", "/api/v1/node-sizes/", None, LIST),
    ("GET", "/api/v1/backups/{backup}/", None, READ),
    ("GET", "/api/v1/backups/", None, LIST),
    ("GET", "/api/v1/environments/{env}/backups/", None, READ),
    ("GET", "/api/v1/invoices/{invoice}/", None, OWNER_ONLY_READ),
    ("GET", "/api/v1/invoices/{invoice}/csv/", None, OWNER_ONLY_READ),
    ("GET", "/api/v1/invoices/", None, LIST),
    ("POST", "/api/v1/estimates/", {"environment": "{env}", "replicas": 3}, ESTIMATE),
    ("POST", "/api/v1/backups/{backup}/download/", {}, DOWNLOAD),
    ("POST", "/api/v1/environments/{env}/deploy/", IMAGE, DEPLOYISH),
    ("POST", "/api/v1/environments/{env}/restart/", {}, DEPLOYISH),
    ("POST", "/api/v1/environments/{env}/scale/", {"replicas": 3}, DEPLOYISH),
    (
        "POST",
        "/api/v1/environments/{env}/autoscale/",
        {"enabled": True, "min_replicas": 2, "max_replicas": 4},
        DEPLOYISH,
    ),
    ("POST", "/api/v1/environments/{env}/commands/", {"command": "drush cr"}, DEPLOYISH),
    ("POST", "/api/v1/environments/{env}/repair/", {}, DEPLOYISH),
    ("POST", "/api/v1/cron/{cron}/run/", {}, DEPLOYISH),
    ("POST", "/api/v1/environments/{env}/domains/", {"hostname": "new.acme.test"}, DEV_WRITE),
    ("POST", "/api/v1/environments/{env}/variables/", {"key": "NEW", "value": "1"}, DEV_WRITE),
    (
        "POST",
        "/api/v1/environments/{env}/cron/",
        {"name": "x", "schedule": "H * * * *", "command": "true"},
        DEV_WRITE,
    ),
    ("POST", "/api/v1/sites/", {"client": "{client}", "name": "New", "slug": "new"}, OWNER_WRITE),
    ("GET", "/api/v1/sites/{site}/previews/", None, READ),
    ("POST", "/api/v1/sites/{site}/preview-tokens/", {"name": "ci"}, OWNER_WRITE),
    (
        "POST",
        "/api/v1/clients/",
        {"name": "N", "slug": "n", "billing_email": "a@n.test"},
        ADMIN_WRITE,
    ),
]


@pytest.fixture
def world(
    client_a,
    other_client,
    owner,
    developer,
    viewer,
    other_owner,
    staff_operator,
    staff_admin,
    cluster,
    s3_server,
    s3,
    bucket,
):
    site = f.SiteFactory(client=client_a, slug="www")
    env = f.EnvironmentFactory(site=site, cluster=cluster, slug="production", status="active")
    theirs = f.EnvironmentFactory(
        site=f.SiteFactory(client=other_client, slug="shop"),
        cluster=cluster,
        slug="production",
        status="active",
    )
    f.OperationFactory(client=other_client, cluster=cluster, target_id=theirs.pk)
    ids = {
        "client": client_a.pk,
        "site": site.pk,
        "env": env.pk,
        "cluster": cluster.pk,
        "domain": f.DomainFactory(environment=env).pk,
        "variable": f.EnvVarFactory(environment=env).pk,
        "cron": f.CronScheduleFactory(environment=env, name="drupal").pk,
        "operation": f.OperationFactory(client=client_a, cluster=cluster, target_id=env.pk).pk,
        "backup": backup_in_bucket(f.BackupFactory(environment=env), s3_server, s3, bucket).pk,
        "invoice": f.InvoiceFactory(client=client_a, status="issued", number="2026-0001").pk,
    }
    users = {
        "viewer": viewer,
        "developer": developer,
        "owner": owner,
        "other_owner": other_owner,
        "staff_operator": staff_operator,
        "staff_admin": staff_admin,
    }
    return ids, users


def _fill(value, ids):
    if isinstance(value, str):
        return value.format(**ids) if "{" in value else value
    if isinstance(value, dict):
        return {
            k: (int(_fill(v, ids)) if v == "{client}" else _fill(v, ids)) for k, v in value.items()
        }
    return value


@pytest.mark.parametrize(
    ("method", "url", "body", "expected"), ENDPOINTS, ids=[f"{m} {u}" for m, u, _, _ in ENDPOINTS]
)
@pytest.mark.parametrize("actor", ACTORS)
def test_isolation_matrix(api, world, actor, method, url, body, expected):
    ids, users = world
    if actor == "read_token":
        _, token = token_create(actor=users["owner"], name="ro", scopes=["read"])
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    elif actor != "anonymous":
        api.force_authenticate(users[actor])
    response = api.generic(
        method,
        url.format(**ids),
        data=None if body is None else __import__("json").dumps(_fill(body, ids)),
        content_type="application/json",
    )
    want = expected[ACTORS.index(actor)]
    assert response.status_code == want, (actor, response.status_code, response.content[:300])
    if want == 404:
        assert "acme" not in response.content.decode().lower()


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("/api/v1/clients/", "client"),
        ("/api/v1/sites/", "site"),
        ("/api/v1/environments/", "env"),
        ("/api/v1/operations/", "operation"),
    ],
)
def test_lists_never_show_another_clients_rows(api, world, url, key):
    ids, users = world
    api.force_authenticate(users["other_owner"])
    theirs = {row["id"] for row in api.get(url).json()["results"]}
    assert theirs and ids[key] not in theirs
    api.force_authenticate(users["owner"])
    mine = {row["id"] for row in api.get(url).json()["results"]}
    assert ids[key] in mine and not mine & theirs
