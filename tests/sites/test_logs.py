"""Logs are read as kubectl reads them, and an unreadable log fails nothing (issue 15.1).

The API server answers every error of the log endpoint with 406 to a client that accepts
only text/plain; Hangar asks with `Accept: application/json, */*`. A Job's outcome is its
status: an operation that ran one never fails because its log could not be read.
"""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from clusters.kube.errors import KubeNotFound
from clusters.models import Operation
from controlpanel.integrations.tokens import token_create
from sites import selectors, services
from sites.manifests.jobs import render_command_job
from tests.engine import drain, provisioned

S = Operation.Status


def test_a_log_error_is_the_servers_status_not_a_406(any_environment, owner, any_kube):
    environment = provisioned(any_environment, owner)
    with pytest.raises(KubeNotFound) as excinfo:
        any_kube.pod_logs(environment.namespace, "web-gone")
    assert 'pods "web-gone" not found' in excinfo.value.message


def test_a_job_whose_log_cannot_be_read_ends_as_the_job_did(live_environment, owner, live_sandbox):
    environment = provisioned(live_environment, owner)
    live_sandbox.deny(verb="get", resource="pods/log")
    op = services.environment_run_command(actor=owner, environment=environment, command="drush cr")
    cron = services.cron_schedule_create(
        actor=owner, environment=environment, name="drupal", schedule="H * * * *", command="ls"
    )
    drain()
    run = services.cron_run_now(actor=owner, cron=cron)
    drain()
    for operation in (op, run):
        operation.refresh_from_db()
        assert operation.status == S.SUCCEEDED, operation.error
        assert operation.result["succeeded"] is True
        assert operation.result["output"].startswith("log unavailable: ")
        assert 'cannot get resource "pods/log"' in operation.result["output"]


def test_a_failed_job_still_fails_and_says_why_its_log_is_missing(
    live_environment, owner, live_sandbox, live_kube
):
    environment = provisioned(live_environment, owner)
    live_sandbox.deny(verb="get", resource="pods/log")
    op = services.environment_run_command(actor=owner, environment=environment, command="false")
    # The Job the operation will find, made to fail (the sandbox's annotation for it).
    job = render_command_job(environment, name=op.params["job_name"], command="false")
    job["metadata"]["annotations"] = {"sandbox.hangar.dev/fail": "true"}
    live_kube.create(job)
    drain()
    op.refresh_from_db()
    assert op.status == S.FAILED
    assert "Job failed" in op.error and "log unavailable" in op.error


def test_the_logs_page_and_api_say_which_log_is_unavailable(live_environment, owner, live_sandbox):
    environment = provisioned(live_environment, owner)
    live_sandbox.deny(verb="get", resource="pods/log")
    logs = selectors.environment_logs(actor=owner, environment=environment)
    assert len(logs) == 2
    assert all(log.text == "" and log.unavailable.startswith("log unavailable: ") for log in logs)

    api = APIClient()
    _, token = token_create(actor=owner, name="logs", scopes=["read"])
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = api.get(f"/api/v1/environments/{environment.pk}/logs/")
    assert response.status_code == 200, response.content
    assert {entry["unavailable"][:17] for entry in response.json()} == {"log unavailable: "}

    live_sandbox.clear_denials()
    response = api.get(f"/api/v1/environments/{environment.pk}/logs/")
    assert response.status_code == 200
    assert all(entry["text"] and entry["unavailable"] == "" for entry in response.json())


def test_logs_with_timestamps_and_a_search(live_environment, owner):
    environment = provisioned(live_environment, owner)
    logs = selectors.environment_logs(
        actor=owner, environment=environment, timestamps=True, search="READY"
    )
    assert len(logs) == 2
    for log in logs:
        lines = log.text.splitlines()
        assert lines and all("ready" in line.lower() for line in lines)  # only matching lines
        stamp = lines[0].split(" ", 1)[0]
        assert stamp.endswith("Z") and "T" in stamp  # RFC 3339, as the kubelet stamps them
