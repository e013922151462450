"""What a build server does: deploy the image it just pushed, wait for the outcome."""

from __future__ import annotations

import json
import threading
import time

import pytest
from django.db import connection

from clusters.models import Operation
from sites import services
from tests.engine import drain


@pytest.mark.django_db(transaction=True)
def test_ci_deploys_with_a_deploy_token_and_waits_for_success(
    api, as_deploy_token, owner, live_environment, live_kube
):
    services.environment_provision(actor=owner, environment=live_environment)
    drain()
    as_deploy_token(owner, live_environment)
    url = f"/api/v1/environments/{live_environment.pk}/deploy/"
    body = json.dumps({"image": "registry.example.com/acme/web:ci-1234"})
    headers = {"HTTP_IDEMPOTENCY_KEY": "pipeline-1234"}
    response = api.post(url, body, content_type="application/json", **headers)
    assert response.status_code == 202
    location = response["Location"]
    assert location.endswith(f"/api/v1/operations/{response.json()['id']}/")

    def worker():  # the panel's worker, a moment later
        try:
            time.sleep(0.5)
            drain()
        finally:
            connection.close()

    thread = threading.Thread(target=worker)
    thread.start()
    started = time.monotonic()
    result = api.get(location, {"wait": 30}).json()
    thread.join()
    assert result["status"] == "succeeded", result
    assert time.monotonic() - started < 30
    assert [e["message"] for e in result["events"]][-1] == "Succeeded."

    again = api.post(url, body, content_type="application/json", **headers)
    assert again.status_code == 202 and again.json()["id"] == response.json()["id"]
    assert Operation.objects.filter(kind="environment.deploy").count() == 1

    other = api.post(
        url,
        json.dumps({"image": "registry.example.com/acme/web:other"}),
        content_type="application/json",
        **headers,
    )
    assert other.status_code == 422
    deployment = live_kube.get("apps/v1", "Deployment", "web", live_environment.namespace)
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":ci-1234")


def test_wait_is_bounded_and_validated(api, owner, environment, cluster, client_a):
    from tests import factories as f

    op = f.OperationFactory(
        client=client_a, cluster=cluster, target_id=environment.pk, status="succeeded"
    )
    api.force_authenticate(owner)
    assert api.get(f"/api/v1/operations/{op.pk}/", {"wait": "soon"}).status_code == 400
    assert api.get(f"/api/v1/operations/{op.pk}/", {"wait": 600}).status_code == 200


def test_fleet_deploy_through_the_api(api, owner, staff_operator, live_environment):
    services.environment_provision(actor=owner, environment=live_environment)
    drain()
    api.force_authenticate(owner)
    body = {"image": "registry.example.com/acme/web:1.0.1", "site_kind": "drupal"}
    assert api.post("/api/v1/fleet-deploys/", body, format="json").status_code == 403
    api.force_authenticate(staff_operator)
    started = api.post("/api/v1/fleet-deploys/", body, format="json")
    assert started.status_code == 202 and started.json()["total"] == 1
    drain()
    progress = api.get(started["Location"]).json()
    assert progress["counts"]["succeeded"] == 1 and progress["progress"] == 1.0
    assert api.get("/api/v1/fleet-deploys/0123456789ab/").status_code == 404
