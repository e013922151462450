"""The fake controllers: rollouts, pods and their logs, jobs, garbage collection."""

from __future__ import annotations

import pytest
from kubernetes import client

from .helpers import apply, deployment, status_of, wait_for

FAIL_ROLLOUT = "sandbox.hangar.dev/fail-rollout"
DELAY = "sandbox.hangar.dev/rollout-delay-seconds"


def rolled_out(apps, namespace, name="web"):
    """kubectl rollout status's test for a finished rollout."""
    d = apps.read_namespaced_deployment(name, namespace)
    s = d.status
    return (
        (s.observed_generation or 0) >= d.metadata.generation
        and (s.updated_replicas or 0) == d.spec.replicas
        and (s.replicas or 0) == d.spec.replicas
        and (s.available_replicas or 0) == d.spec.replicas
    ) and d


def pods_of(core, namespace, selector="app=web"):
    return core.list_namespaced_pod(namespace, label_selector=selector).items


def condition(obj, kind):
    return next((c for c in obj.status.conditions or [] if c.type == kind), None)


def test_rollout_progresses_to_available(sandbox, apps, core, namespace):
    apply(apps, deployment(**{DELAY: "0.3"}), namespace)
    early = wait_for(
        lambda: (
            (d := apps.read_namespaced_deployment("web", namespace)).status.observed_generation
            and d
        )
    )
    assert early.status.available_replicas is None  # omitted while zero, as upstream
    assert condition(early, "Progressing").reason == "ReplicaSetUpdated"
    assert condition(early, "Available").status == "False"

    done = wait_for(lambda: rolled_out(apps, namespace))
    assert done.status.ready_replicas == 2
    assert condition(done, "Available").reason == "MinimumReplicasAvailable"
    assert condition(done, "Progressing").reason == "NewReplicaSetAvailable"
    assert done.metadata.annotations["deployment.kubernetes.io/revision"] == "1"

    pods = pods_of(core, namespace)
    assert len(pods) == 2
    replica_set = apps.list_namespaced_replica_set(namespace).items[0]
    pod_hash = replica_set.metadata.labels["pod-template-hash"]
    for pod in pods:
        assert pod.status.phase == "Running"
        assert pod.metadata.name.startswith(f"web-{pod_hash}-")
        assert pod.metadata.labels == {"app": "web", "pod-template-hash": pod_hash}
        assert pod.metadata.owner_references[0].kind == "ReplicaSet"
        assert pod.status.container_statuses[0].ready is True
        assert pod.status.container_statuses[0].image == "nginx:1.27"


def test_new_template_replaces_pods(apps, core, namespace):
    apply(apps, deployment(), namespace)
    wait_for(lambda: rolled_out(apps, namespace))
    old = {p.metadata.name for p in pods_of(core, namespace)}
    apply(apps, deployment(image="nginx:1.28"), namespace)
    done = wait_for(
        lambda: (
            rolled_out(apps, namespace)
            and {p.metadata.name for p in pods_of(core, namespace)}.isdisjoint(old)
            and rolled_out(apps, namespace)
        )
    )
    assert done.metadata.generation == 2
    assert done.metadata.annotations["deployment.kubernetes.io/revision"] == "2"
    images = {p.spec.containers[0].image for p in pods_of(core, namespace)}
    assert images == {"nginx:1.28"}


def test_scale_to_zero_removes_pods(apps, core, namespace):
    apply(apps, deployment(), namespace)
    wait_for(lambda: rolled_out(apps, namespace))
    apply(apps, deployment(replicas=0), namespace)
    wait_for(lambda: not pods_of(core, namespace))
    done = wait_for(lambda: rolled_out(apps, namespace))
    assert done.status.replicas is None


def test_fail_rollout_never_becomes_available(sandbox, apps, core, namespace):
    body = deployment(**{FAIL_ROLLOUT: "true"})
    body["spec"]["progressDeadlineSeconds"] = 1
    apply(apps, body, namespace)
    wait_for(lambda: len(pods_of(core, namespace)) == 2)
    pod = pods_of(core, namespace)[0]
    state = pod.status.container_statuses[0]
    assert state.ready is False and state.state.waiting.reason == "CrashLoopBackOff"
    logs = core.read_namespaced_pod_log(pod.metadata.name, namespace)
    assert "exiting with code 1" in logs
    wait_for(
        lambda: (
            condition(apps.read_namespaced_deployment("web", namespace), "Progressing").reason
            == "ProgressDeadlineExceeded"
        ),
        timeout=4,
    )
    d = apps.read_namespaced_deployment("web", namespace)
    assert condition(d, "Progressing").status == "False"
    assert d.status.available_replicas is None
    assert condition(d, "Available").status == "False"


def test_pod_logs(apps, core, sandbox, namespace):
    body = deployment(replicas=1)
    body["spec"]["template"]["spec"]["containers"].append({"name": "sidecar", "image": "busybox"})
    apply(apps, body, namespace)
    pod = wait_for(lambda: pods_of(core, namespace))[0].metadata.name

    app_log = core.read_namespaced_pod_log(pod, namespace, container="app")
    assert app_log.splitlines()[0] == "[app] started image nginx:1.27"
    assert app_log.endswith("\n")
    assert core.read_namespaced_pod_log(pod, namespace, container="app", tail_lines=1) == (
        "[app] ready\n"
    )
    assert core.read_namespaced_pod_log(pod, namespace, container="sidecar").startswith(
        "[sidecar] started image busybox"
    )
    assert (
        core.read_namespaced_pod_log(pod, namespace, container="app", since_seconds=3600) == app_log
    )

    with pytest.raises(client.ApiException) as caught:
        core.read_namespaced_pod_log(pod, namespace, container="nope")
    assert caught.value.status == 400
    assert status_of(caught.value)["message"] == f"container nope is not valid for pod {pod}"
    with pytest.raises(client.ApiException) as caught:
        core.read_namespaced_pod_log(pod, namespace)
    assert status_of(caught.value)["message"] == (
        f"a container name must be specified for pod {pod}, choose one of: [app sidecar]"
    )

    sandbox.set_pod_logs(namespace, pod, "one\ntwo\nthree", container="app")
    assert core.read_namespaced_pod_log(pod, namespace, container="app", tail_lines=2) == (
        "two\nthree\n"
    )


def test_deleting_a_deployment_removes_its_pods(apps, core, namespace):
    apply(apps, deployment(), namespace)
    wait_for(lambda: len(pods_of(core, namespace)) == 2)
    apps.delete_namespaced_deployment("web", namespace, propagation_policy="Foreground")
    assert pods_of(core, namespace) == []
    assert apps.list_namespaced_replica_set(namespace).items == []


def job(name="migrate", **annotations):
    meta = {"name": name}
    if annotations:
        meta["annotations"] = annotations
    return {
        "metadata": meta,
        "spec": {
            "backoffLimit": 0,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "main", "image": "python:3.12", "command": ["true"]}],
                }
            },
        },
    }


def finished(batch, namespace, name):
    j = batch.read_namespaced_job(name, namespace)
    done = [c for c in j.status.conditions or [] if c.type in ("Complete", "Failed")]
    return done and j


def test_job_succeeds_with_a_pod_and_logs(batch, core, namespace):
    created = batch.create_namespaced_job(namespace, job())
    assert created.spec.selector.match_labels == {
        "batch.kubernetes.io/controller-uid": created.metadata.uid,
    }
    done = wait_for(lambda: finished(batch, namespace, "migrate"))
    assert done.status.succeeded == 1
    assert done.status.completion_time is not None
    assert [(c.type, c.status) for c in done.status.conditions] == [("Complete", "True")]
    pods = core.list_namespaced_pod(namespace, label_selector="job-name=migrate").items
    assert len(pods) == 1 and pods[0].status.phase == "Succeeded"
    logs = core.read_namespaced_pod_log(pods[0].metadata.name, namespace)
    assert logs.splitlines()[-1] == "[main] completed"


def test_job_failure(sandbox, batch, core, namespace):
    batch.create_namespaced_job(namespace, job(**{"sandbox.hangar.dev/fail": "true"}))
    done = wait_for(lambda: finished(batch, namespace, "migrate"))
    assert done.status.failed == 1 and not done.status.succeeded
    failed = condition(done, "Failed")
    assert (failed.status, failed.reason) == ("True", "BackoffLimitExceeded")
    pod = core.list_namespaced_pod(namespace, label_selector="job-name=migrate").items[0]
    assert pod.status.phase == "Failed"
    assert pod.status.container_statuses[0].state.terminated.exit_code == 1


def test_job_runs_for_its_annotated_duration(sandbox, batch, namespace):
    batch.create_namespaced_job(namespace, job(**{"sandbox.hangar.dev/run-seconds": "0.4"}))
    running = wait_for(lambda: batch.read_namespaced_job("migrate", namespace).status.active)
    assert running == 1
    wait_for(lambda: finished(batch, namespace, "migrate"))


def test_job_from_cronjob_template(batch, core, api_client, namespace):
    cron = batch.create_namespaced_cron_job(
        namespace,
        {
            "metadata": {"name": "backup"},
            "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": job()["spec"]}},
        },
    )
    assert cron.spec.concurrency_policy == "Allow"
    manual = {
        "metadata": {
            "name": "backup-manual",
            "annotations": {"cronjob.kubernetes.io/instantiate": "manual"},
            "ownerReferences": [
                {
                    "apiVersion": "batch/v1",
                    "kind": "CronJob",
                    "name": "backup",
                    "uid": cron.metadata.uid,
                    "controller": True,
                }
            ],
        },
        # What "kubectl create job --from=cronjob/backup" sends.
        "spec": api_client.sanitize_for_serialization(cron.spec.job_template.spec),
    }
    batch.create_namespaced_job(namespace, manual)
    done = wait_for(lambda: finished(batch, namespace, "backup-manual"))
    assert done.status.succeeded == 1
    # Deleting the CronJob collects its Jobs and their pods.
    batch.delete_namespaced_cron_job("backup", namespace)
    wait_for(lambda: not batch.list_namespaced_job(namespace).items)
    wait_for(lambda: not core.list_namespaced_pod(namespace).items)


def test_job_delete_orphans_pods_by_default_like_batch_v1(batch, core, namespace, api_client):
    batch.create_namespaced_job(namespace, job())
    wait_for(lambda: core.list_namespaced_pod(namespace).items)
    batch.delete_namespaced_job("migrate", namespace)
    assert core.list_namespaced_pod(namespace).items  # orphaned, as upstream warns
    batch.create_namespaced_job(namespace, job("again"))
    wait_for(lambda: core.list_namespaced_pod(namespace, label_selector="job-name=again").items)
    batch.delete_namespaced_job("again", namespace, propagation_policy="Background")
    assert not core.list_namespaced_pod(namespace, label_selector="job-name=again").items


def test_job_needs_never_or_on_failure(batch, namespace):
    body = job()
    del body["spec"]["template"]["spec"]["restartPolicy"]
    with pytest.raises(client.ApiException) as caught:
        batch.create_namespaced_job(namespace, body)
    assert status_of(caught.value)["message"] == (
        'Job.batch "migrate" is invalid: spec.template.spec.restartPolicy: Unsupported value: '
        '"Always": supported values: "OnFailure", "Never"'
    )


def test_events_are_recorded(apps, core, namespace):
    apply(apps, deployment(), namespace)
    wait_for(lambda: rolled_out(apps, namespace))
    events = core.list_namespaced_event(
        namespace, field_selector="involvedObject.kind=Deployment,involvedObject.name=web"
    ).items
    assert events[0].reason == "ScalingReplicaSet"
