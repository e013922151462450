"""A deploy whose new pods cannot start fails as soon as that is certain, with the cause
first, the container's last log lines and the pod's events, and is rolled back (issue
17.2). The emulator reports the pod states as a kubelet and a scheduler do: a waiting
reason and restart count, an unscheduled pod's PodScheduled condition, their events."""

from __future__ import annotations

import pytest

from clusters.kube.status import pod_trouble
from clusters.models import Operation
from sites import services
from sites.models import Release
from tests.engine import drain, provisioned

S = Operation.Status
OLD = "registry.example.com/acme/web:1.0.0"
NEW = "registry.example.com/acme/web:2.0.0"
FAIL = "sandbox.hangar.dev/fail-rollout"


@pytest.mark.parametrize(
    "failure, cause, detail",
    [
        ("crash-loop", "Container web of pod web-", "exiting with code 1"),
        ("image-pull", f"image {NEW} cannot be pulled (ImagePullBackOff", "ErrImagePull"),
        ("unschedulable", "cannot be scheduled: 0/3 nodes are available", "FailedScheduling"),
    ],
)
def test_a_deploy_whose_pods_cannot_start_fails_with_the_cause_and_rolls_back(
    live_environment, owner, live_kube, settings, failure, cause, detail
):
    environment = provisioned(live_environment, owner)
    # Far longer than the emulator takes to report the pods' states: a failure before it
    # is the pods' cause, not the rollout's deadline.
    settings.HANGAR_ROLLOUT_TIMEOUT = 15
    settings.HANGAR_UNSCHEDULABLE_SECONDS = 0
    live_kube.merge_patch(
        "apps/v1",
        "Deployment",
        "web",
        {"metadata": {"annotations": {FAIL: failure}}},
        namespace=environment.namespace,
        field_manager="test",
    )
    op = services.environment_deploy(actor=owner, environment=environment, image=NEW)
    drain()
    op.refresh_from_db()
    assert op.status == S.FAILED
    first = op.error.splitlines()[0]
    assert cause in first, op.error
    assert "Timed out" not in op.error and "progress deadline" not in op.error
    assert detail in op.error
    if failure == "crash-loop":
        assert "keeps crashing (CrashLoopBackOff: restarted 3 times, last exit code 1)" in first
        assert "Last log lines of web:" in op.error
    events = [e.message for e in op.events.all()]
    assert any(f"Rolled back: the environment runs {OLD} again" in m for m in events), events
    deployment = live_kube.get("apps/v1", "Deployment", "web", environment.namespace)
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == OLD
    environment.refresh_from_db()
    assert environment.image == OLD
    assert Release.objects.get(operation=op).status == Release.Status.FAILED


def _pod(**container):
    return {
        "metadata": {"name": "web-1"},
        "status": {
            "phase": "Running",
            "containerStatuses": [{"name": "web", "image": NEW, **container}],
        },
    }


def test_what_may_still_start_is_not_a_failure():
    # One crash and a first pull error may pass (a slow dependency, a registry hiccup).
    crashed_once = _pod(restartCount=1, state={"waiting": {"reason": "CrashLoopBackOff"}})
    assert pod_trouble(crashed_once, restarts=3) is None
    hiccup = _pod(state={"waiting": {"reason": "ErrImagePull", "message": "i/o timeout"}})
    assert pod_trouble(hiccup) is None
    creating = _pod(state={"waiting": {"reason": "ContainerCreating"}})
    assert pod_trouble(creating) is None
    # A registry that says the image is not there is certain at once.
    missing = _pod(
        state={"waiting": {"reason": "ErrImagePull", "message": "manifest unknown: not found"}}
    )
    assert pod_trouble(missing).reason == "ErrImagePull"
    oom = _pod(
        restartCount=5,
        state={"waiting": {"reason": "CrashLoopBackOff"}},
        lastState={"terminated": {"reason": "OOMKilled", "exitCode": 137}},
    )
    assert "OOMKilled" in pod_trouble(oom, restarts=3).message
