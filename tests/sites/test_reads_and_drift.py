"""Logs, cron runs and drift, read from the live cluster."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from sites import services
from sites.models import Environment
from sites.selectors import cron_last_runs, environment_logs
from sites.services.drift import environment_check_drift
from sites.tasks import reconcile_environments_task
from tests.engine import drain


@pytest.fixture
def active(live_environment, owner):
    services.environment_provision(actor=owner, environment=live_environment)
    drain()
    live_environment.refresh_from_db()
    return live_environment


def test_logs_of_every_web_pod(active, viewer, live_sandbox, live_kube):
    pods = live_kube.list(
        "v1", "Pod", active.namespace, label_selector={"app.kubernetes.io/name": "web"}
    )
    assert len(pods) == 2
    live_sandbox.set_pod_logs(
        active.namespace, pods[0]["metadata"]["name"], "GET / 200\nGET /x 404\n"
    )
    logs = environment_logs(actor=viewer, environment=active, tail_lines=1)
    assert len(logs) == 2
    mine = next(log for log in logs if log.pod == pods[0]["metadata"]["name"])
    assert mine.text == "GET /x 404\n"


def test_logs_are_scoped_and_validated(active, other_owner, viewer):
    with pytest.raises(PermissionDenied):
        environment_logs(actor=other_owner, environment=active)
    for kwargs, field in [
        ({"container": "db"}, "container"),
        ({"tail_lines": 0}, "tail_lines"),
        ({"tail_lines": 10**6}, "tail_lines"),
        ({"since_seconds": -5}, "since_seconds"),
        ({"container": "varnish"}, "container"),
    ]:
        with pytest.raises(ValidationError) as excinfo:
            environment_logs(actor=viewer, environment=active, **kwargs)
        assert field in excinfo.value.message_dict


def test_cron_last_runs_show_status_and_duration(active, owner, live_sandbox):
    cron = services.cron_schedule_create(
        actor=owner, environment=active, name="drupal", schedule="*/5 * * * *", command="drush cron"
    )
    drain()
    services.cron_run_now(actor=owner, cron=cron)
    drain()
    runs = cron_last_runs(actor=owner, cron=cron)
    assert len(runs) == 1
    assert runs[0].succeeded is True and runs[0].duration_seconds is not None
    assert runs[0].duration_seconds >= 0


def test_drift_is_reported_without_secret_values_and_repaired_on_demand(
    active, owner, live_sandbox, live_kube
):
    assert environment_check_drift(environment=active) == []
    namespace = active.namespace
    # Someone edits objects behind Hangar's back.
    live_kube.merge_patch(
        "v1",
        "ConfigMap",
        "app-config",
        {"data": {"SITE_TIER": "hacked"}},
        namespace,
        field_manager="kubectl",
    )
    live_kube.merge_patch(
        "v1",
        "Secret",
        "app-env",
        {"data": {"HASH_SALT": "aGFja2Vk"}},
        namespace,
        field_manager="kubectl",
    )
    live_kube.delete("v1", "Service", "web", namespace)
    result = reconcile_environments_task()
    assert result == {"checked": 1, "drifted": 1, "failed": 0}
    active.refresh_from_db()
    by_object = {entry["object"]: entry for entry in active.drift_report}
    assert by_object["Service web"]["missing"] is True
    assert by_object["ConfigMap app-config"]["fields"] == [
        {"field": "data.SITE_TIER", "desired": "production", "live": "hacked"}
    ]
    secret = by_object["Secret app-env"]["fields"][0]
    assert secret == {"field": "data.HASH_SALT", "desired": "(secret)", "live": "(secret)"}
    assert active.hash_salt not in str(active.drift_report)

    services.environment_repair(actor=owner, environment=active)
    drain()
    assert live_kube.get("v1", "Service", "web", namespace)
    assert environment_check_drift(environment=active) == []
    active.refresh_from_db()
    assert active.drift_report == [] and active.status == Environment.Status.ACTIVE
