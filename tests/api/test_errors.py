"""Bad input answers 400 with field errors in one format, and writes nothing."""

from __future__ import annotations

import json

import pytest

from clusters.models import Operation
from controlpanel.core.models import AuditEvent
from sites.models import CronSchedule, Domain, Environment, EnvVar


@pytest.fixture
def active(environment):
    Environment.objects.filter(pk=environment.pk).update(status="active")
    environment.refresh_from_db()
    return environment


def post(api, url, body):
    return api.post(url, json.dumps(body), content_type="application/json")


def counts():
    return [m.objects.count() for m in (Operation, Domain, EnvVar, CronSchedule, AuditEvent)]


CASES = [
    ("deploy/", {"image": "Not A Reference"}, "image"),
    ("deploy/", {"image": "nginx"}, "image"),
    ("deploy/", {"image": 42}, "image"),
    ("deploy/", {}, "image"),
    ("deploy/", {"image": "registry.example.com/acme/web:1", "colour": "red"}, "colour"),
    ("scale/", {"replicas": 500}, "replicas"),
    ("scale/", {"replicas": -1}, "replicas"),
    ("scale/", {"replicas": "many"}, "replicas"),
    ("autoscale/", {"enabled": True, "min_replicas": 6, "max_replicas": 2}, "autoscale_max"),
    ("autoscale/", {"enabled": True, "cpu_target": 5}, "autoscale_cpu_target"),
    ("commands/", {"command": "   "}, "command"),
    ("commands/", {"command": "drush cr", "timeout": 5}, "timeout"),
    ("domains/", {"hostname": "*.acme.test"}, "hostname"),
    ("domains/", {"hostname": "https://acme.test/"}, "hostname"),
    ("domains/", {"hostname": "10.0.0.1"}, "hostname"),
    ("variables/", {"key": "DB_PASSWORD", "value": "x"}, "key"),
    ("variables/", {"key": "9LIVES", "value": "x"}, "key"),
    ("variables/", {"key": "OK", "value": "a\u0000b"}, "value"),
    ("cron/", {"name": "x", "schedule": "61 * * * *", "command": "true"}, "schedule"),
    ("cron/", {"name": "x", "schedule": "* * *", "command": "true"}, "schedule"),
    ("cron/", {"name": "Bad Name", "schedule": "H * * * *", "command": "true"}, "name"),
    ("destroy/", {"confirm": "wrong"}, "confirm"),
]


@pytest.mark.parametrize(
    ("action", "body", "field"), CASES, ids=[f"{a}{f}-{i}" for i, (a, _, f) in enumerate(CASES)]
)
def test_bad_input_is_a_field_error_and_changes_nothing(api, owner, active, action, body, field):
    api.force_authenticate(owner)
    before = counts()
    response = post(api, f"/api/v1/environments/{active.pk}/{action}", body)
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 400 and problem["title"] == "Invalid input"
    assert field in problem["errors"], problem
    assert counts() == before


def test_a_domain_another_client_holds_is_refused(
    api, owner, other_owner, active, other_environment
):
    api.force_authenticate(other_owner)
    assert (
        post(
            api,
            f"/api/v1/environments/{other_environment.pk}/domains/",
            {"hostname": "shop.example.com"},
        ).status_code
        == 201
    )
    api.force_authenticate(owner)
    response = post(
        api, f"/api/v1/environments/{active.pk}/domains/", {"hostname": "SHOP.example.com"}
    )
    assert response.status_code == 400
    assert "already in use" in response.json()["errors"]["hostname"][0]


def test_malformed_json_and_wrong_media_type(api, owner, active):
    api.force_authenticate(owner)
    url = f"/api/v1/environments/{active.pk}/scale/"
    response = api.post(url, "{not json", content_type="application/json")
    assert response.status_code == 400
    response = api.post(url, "replicas=2", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    response = api.post(url, json.dumps([1, 2]), content_type="application/json")
    assert response.status_code == 400


def test_oversized_bodies_are_refused(api, owner, active, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    api.force_authenticate(owner)
    before = counts()
    response = post(
        api, f"/api/v1/environments/{active.pk}/variables/", {"key": "BIG", "value": "x" * 20_000}
    )
    assert response.status_code == 413
    assert counts() == before


def test_etags_guard_against_lost_updates(api, owner, active):
    api.force_authenticate(owner)
    created = post(
        api,
        f"/api/v1/environments/{active.pk}/cron/",
        {"name": "drupal", "schedule": "H * * * *", "command": "drush cron"},
    )
    url = f"/api/v1/cron/{created.json()['id']}/"
    etag = api.get(url)["ETag"]
    ok = api.patch(
        url, json.dumps({"suspended": True}), content_type="application/json", HTTP_IF_MATCH=etag
    )
    assert ok.status_code == 200 and ok["ETag"] != etag
    stale = api.patch(
        url,
        json.dumps({"command": "drush cr"}),
        content_type="application/json",
        HTTP_IF_MATCH=etag,
    )
    assert stale.status_code == 412
    assert CronSchedule.objects.get().command == "drush cron"


def test_secret_values_are_write_only(api, owner, active):
    api.force_authenticate(owner)
    post(
        api,
        f"/api/v1/environments/{active.pk}/variables/",
        {"key": "API_KEY", "value": "s3cr3t-value", "is_secret": True},
    )
    post(api, f"/api/v1/environments/{active.pk}/variables/", {"key": "MODE", "value": "prod"})
    listing = api.get(f"/api/v1/environments/{active.pk}/variables/").json()["results"]
    by_key = {row["key"]: row for row in listing}
    assert by_key["API_KEY"]["value"] is None and by_key["API_KEY"]["is_set"] is True
    assert by_key["MODE"]["value"] == "prod"
    assert "s3cr3t-value" not in json.dumps(listing)
    cluster = api.get(f"/api/v1/clusters/{active.cluster_id}/")
    assert cluster.status_code == 404  # client users never see clusters


def test_cluster_secrets_never_leave_the_api(api, staff_admin, cluster):
    api.force_authenticate(staff_admin)
    body = api.get(f"/api/v1/clusters/{cluster.pk}/").content.decode()
    for secret in ("test-token", cluster.db_admin_password, cluster.storage_secret_key):
        assert secret not in body
    assert '"kubeconfig_set":true' in body.replace(" ", "")


def test_restoring_over_production_needs_its_name_typed_back(api, owner, active):
    from tests import factories as f

    backup = f.BackupFactory(environment=active)
    api.force_authenticate(owner)
    response = post(api, f"/api/v1/backups/{backup.pk}/restore/", {"target": active.pk})
    assert response.status_code == 400
    assert active.namespace in response.json()["errors"]["confirm"][0]
    assert not Operation.objects.exists()


def test_estimates_need_a_change(api, owner, active):
    api.force_authenticate(owner)
    response = post(api, "/api/v1/estimates/", {"environment": active.pk})
    assert response.status_code == 400 and "replicas" in response.json()["errors"]
    response = post(api, "/api/v1/estimates/", {"environment": active.pk, "replicas": 500})
    assert response.status_code == 400
