"""`cron.failed` fires for every failed cron run (issue 17.9): scheduled runs, which the
CronJob controller starts and no operation watches, are found by a periodic pass and
announced once each, with their output; a failed "Run now" announces itself."""

from __future__ import annotations

import time

import pytest

from clusters.models import Operation
from controlpanel.core.events import event_published
from sites import services
from sites.manifests.cron import CRON_LABEL
from sites.manifests.jobs import render_command_job
from sites.services.cron_runs import report_failed_cron_runs
from sites.tasks import check_cron_runs_task
from tests.engine import drain, provisioned


@pytest.fixture
def announced():
    events: list[tuple[str, dict]] = []

    def record(sender, client, event, data, **kwargs):
        events.append((event, data))

    event_published.connect(record, weak=False)
    yield events
    event_published.disconnect(record)


def _scheduled_run(kube, environment, name, *, fail, manual=False):
    job = render_command_job(environment, name=name, command="drush cron")
    job["metadata"].setdefault("labels", {})[CRON_LABEL] = "nightly"
    annotations = {"sandbox.hangar.dev/fail": "true"} if fail else {}
    if manual:
        annotations["cronjob.kubernetes.io/instantiate"] = "manual"
    job["metadata"]["annotations"] = annotations
    kube.create(job)
    deadline = time.monotonic() + 10
    while not kube.job_status(environment.namespace, name).done:
        assert time.monotonic() < deadline, f"job {name} never finished"
        time.sleep(0.05)


@pytest.mark.django_db(transaction=True)
def test_a_failed_scheduled_run_is_announced_once_with_its_output(
    live_environment, owner, live_kube, announced
):
    environment = provisioned(live_environment, owner)
    services.cron_schedule_create(
        actor=owner, environment=environment, name="nightly", schedule="0 3 * * *", command="x"
    )
    drain()
    time.sleep(1.1)  # the Job's stamps are whole seconds; the schedule's creation is before
    _scheduled_run(live_kube, environment, "nightly-29000001", fail=True)
    _scheduled_run(live_kube, environment, "nightly-29000002", fail=False)
    _scheduled_run(live_kube, environment, "nightly-manual-abc", fail=True, manual=True)
    assert check_cron_runs_task() == {"reported": 1, "failed": 0}
    failures = [data for event, data in announced if event == "cron.failed"]
    assert [d["job"] for d in failures] == ["nightly-29000001"]
    assert failures[0]["cron"] == "nightly" and "Job failed" in failures[0]["message"]
    assert "exiting with code 1" in failures[0]["output"]
    # Once only.
    assert report_failed_cron_runs(environment) == []


@pytest.mark.django_db(transaction=True)
def test_a_failed_run_now_is_announced(live_environment, owner, live_kube, announced):
    environment = provisioned(live_environment, owner)
    cron = services.cron_schedule_create(
        actor=owner, environment=environment, name="nightly", schedule="0 3 * * *", command="x"
    )
    drain()
    op = services.cron_run_now(actor=owner, cron=cron)
    job = render_command_job(environment, name=op.params["job_name"], command="x")
    job["metadata"]["annotations"] = {"sandbox.hangar.dev/fail": "true"}
    live_kube.create(job)
    drain()
    assert Operation.objects.get(pk=op.pk).status == Operation.Status.FAILED
    failures = [data for event, data in announced if event == "cron.failed"]
    assert [(d["cron"], d["job"]) for d in failures] == [("nightly", op.params["job_name"])]
