"""The adapter against a live API server: objects read back from the server, not calls."""

from __future__ import annotations

import pytest

from clusters.kube.errors import KubeConflict, KubeError, KubeInvalid, KubeNotFound, KubeTimeout
from tests.clusters.kube.conftest import configmap_for


def deployment(namespace: str, replicas: int = 2, image: str = "nginx:1.27") -> dict:
    labels = {"app.kubernetes.io/name": "web"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": namespace, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "web", "image": image}]},
            },
        },
    }


def test_apply_creates_and_get_reads_it_back(target):
    namespace = target.namespace()
    target.kube.apply(configmap_for(namespace, GREETING="hello"))
    live = target.kube.get("v1", "ConfigMap", "app-config", namespace)
    assert live["data"] == {"GREETING": "hello"}
    assert any(m["manager"] == "hangar" for m in live["metadata"]["managedFields"])


def test_apply_changes_the_live_object(target):
    namespace = target.namespace()
    target.kube.apply(configmap_for(namespace, A="1"))
    target.kube.apply(configmap_for(namespace, A="2", B="3"))
    assert target.kube.get("v1", "ConfigMap", "app-config", namespace)["data"] == {
        "A": "2",
        "B": "3",
    }


def test_applying_the_same_object_twice_writes_once(target):
    namespace = target.namespace()
    first = target.kube.apply(configmap_for(namespace))
    second = target.kube.apply(configmap_for(namespace))
    assert first is not None and second is None
    live = target.kube.get("v1", "ConfigMap", "app-config", namespace)
    assert live["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
    if target.sandbox is not None:
        assert target.sandbox.requests.count("PATCH", r"/configmaps/app-config$") == 1
    # A forced write (drift repair) goes through again.
    assert target.kube.apply(configmap_for(namespace), force_write=True) is not None


def test_list_by_label_selector(target):
    namespace = target.namespace()
    for name, tier in (("a", "web"), ("b", "web"), ("c", "cron")):
        obj = configmap_for(namespace, name)
        obj["metadata"]["labels"]["tier"] = tier
        target.kube.apply(obj)
    names = {
        o["metadata"]["name"]
        for o in target.kube.list("v1", "ConfigMap", namespace, label_selector={"tier": "web"})
    }
    assert names == {"a", "b"}
    listed = target.kube.list("v1", "ConfigMap", namespace, label_selector="tier!=web")
    assert [o["metadata"]["name"] for o in listed if o["metadata"]["name"] in "abc"] == ["c"]
    assert all(o["kind"] == "ConfigMap" for o in listed)


def test_missing_objects_are_not_found(target):
    namespace = target.namespace()
    with pytest.raises(KubeNotFound, match='"nope" not found'):
        target.kube.get("v1", "ConfigMap", "nope", namespace)
    assert target.kube.get_or_none("v1", "ConfigMap", "nope", namespace) is None
    assert target.kube.delete("v1", "ConfigMap", "nope", namespace) is False


def test_stale_replace_is_a_conflict_with_the_servers_message(target):
    namespace = target.namespace()
    live = target.kube.apply(configmap_for(namespace, A="1"))
    stale = dict(live)
    target.kube.apply(configmap_for(namespace, A="2"))
    stale["data"] = {"A": "3"}
    with pytest.raises(KubeConflict) as excinfo:
        target.kube.replace(stale)
    assert "the object has been modified" in str(excinfo.value)
    assert excinfo.value.status == 409
    assert target.kube.get("v1", "ConfigMap", "app-config", namespace)["data"] == {"A": "2"}


def test_invalid_objects_fail_at_once_with_the_reason(target):
    namespace = target.namespace()
    bad = configmap_for(namespace, "Not_A_Valid_Name")
    with pytest.raises(KubeInvalid) as excinfo:
        target.kube.apply(bad)
    assert excinfo.value.status == 422
    assert "Not_A_Valid_Name" in str(excinfo.value)


def test_rollout_is_waited_for(target):
    namespace = target.namespace()
    target.kube.apply(deployment(namespace, replicas=2))
    seen = []
    status = target.kube.wait_rollout(
        namespace, "web", timeout=60, poll=0.05, on_progress=seen.append
    )
    assert status.done and status.available == 2 and status.progress == 1.0
    assert seen and seen[-1].done


def test_logs_are_readable(target):
    namespace = target.namespace()
    target.kube.apply(deployment(namespace, replicas=1))
    target.kube.wait_rollout(namespace, "web", timeout=60, poll=0.05)
    pods = target.kube.list(
        "v1", "Pod", namespace, label_selector={"app.kubernetes.io/name": "web"}
    )
    assert pods
    pod = pods[0]["metadata"]["name"]
    if target.sandbox is not None:
        target.sandbox.set_pod_logs(namespace, pod, "one\ntwo\nthree\n")
        assert target.kube.pod_logs(namespace, pod, tail_lines=2) == "two\nthree\n"
    assert isinstance(target.kube.pod_logs(namespace, pod, container="web"), str)
    with pytest.raises(KubeError) as excinfo:
        target.kube.pod_logs(namespace, pod, container="missing")
    assert excinfo.value.status == 400


def test_jobs_run_from_a_cronjob_and_report_success(target):
    namespace = target.namespace()
    target.kube.apply(
        {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": {"name": "cron-drupal", "namespace": namespace},
            "spec": {
                "schedule": "*/15 * * * *",
                "concurrencyPolicy": "Forbid",
                "jobTemplate": {
                    "spec": {
                        "backoffLimit": 0,
                        "template": {
                            "spec": {
                                "restartPolicy": "Never",
                                "containers": [
                                    {
                                        "name": "cron",
                                        "image": "busybox:1.36",
                                        "command": ["/bin/sh", "-c", "true"],
                                    }
                                ],
                            }
                        },
                    }
                },
            },
        }
    )
    job = target.kube.create_job_from_cronjob(namespace, "cron-drupal", "cron-drupal-manual-1")
    assert job["metadata"]["ownerReferences"][0]["kind"] == "CronJob"
    status = target.kube.wait_job(namespace, "cron-drupal-manual-1", timeout=120, poll=0.05)
    assert status.done and status.ok


def test_namespace_deletion_is_waited_for(target):
    namespace = target.namespace()
    target.kube.apply(configmap_for(namespace))
    assert target.kube.delete("v1", "Namespace", namespace) is True
    target.kube.wait_namespace_deleted(namespace, timeout=120, poll=0.05)
    assert target.kube.get_or_none("v1", "Namespace", namespace) is None
    target.namespaces.remove(namespace)


def test_waiting_gives_up_with_a_clear_message(target):
    namespace = target.namespace()
    target.kube.apply(configmap_for(namespace))
    with pytest.raises(KubeTimeout, match=r"Timed out after 0\.2s waiting for namespace"):
        target.kube.wait_namespace_deleted(namespace, timeout=0.2, poll=0.05)


def test_a_batch_the_server_refuses_in_part_writes_nothing(target):
    """apply_all dry-runs every object of a batch (dryRun=All) before writing any: the
    server's 422 for the last one leaves the first unwritten and unrecorded."""
    namespace = target.namespace()
    good = configmap_for(namespace, "first", A="1")
    bad = configmap_for(namespace, "Not_Valid", B="2")
    with pytest.raises(KubeInvalid) as excinfo:
        target.kube.apply_all([good, bad])
    assert "Not_Valid" in str(excinfo.value)
    assert target.kube.get_or_none("v1", "ConfigMap", "first", namespace) is None
    # Nothing recorded: the next apply writes.
    outcome = target.kube.apply_all([good])
    assert (outcome.written, outcome.skipped) == (1, 0)
    assert target.kube.get("v1", "ConfigMap", "first", namespace)["data"] == {"A": "1"}


def test_a_single_write_is_not_dry_run_first(sandbox_target):
    namespace = sandbox_target.namespace()
    sandbox_target.sandbox.requests.clear()
    sandbox_target.kube.apply_all(
        [configmap_for(namespace, "one"), configmap_for(namespace, "two")]
    )
    assert sandbox_target.sandbox.requests.count("PATCH") == 4  # two dry runs, two writes
    sandbox_target.sandbox.requests.clear()
    sandbox_target.kube.apply_all([configmap_for(namespace, "one", A="2")])
    assert [r.query.get("dryRun") for r in sandbox_target.sandbox.requests.filter("PATCH")] == [
        None
    ]
