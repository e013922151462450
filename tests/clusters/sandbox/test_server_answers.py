"""What a real kube-apiserver (1.28-1.31) was seen to answer where the sandbox once answered
otherwise: each test runs on the sandbox and, under `pytest -m cluster`, on KUBECONFIG's
cluster, so the sandbox's answer is checked against the real one."""

from __future__ import annotations

import base64
import json

import pytest
from kubernetes import client, watch

from .helpers import apply, deployment, raw, status_of, wait_for

APPLY = "application/apply-patch+yaml"


def invalid(call) -> dict:
    with pytest.raises(client.ApiException) as caught:
        call()
    assert caught.value.status == 422, caught.value.body
    return status_of(caught.value)


# ----- quantities -------------------------------------------------------------------------


def test_quantities_are_stored_in_canonical_form(apps, core, namespace):
    body = deployment()
    body["spec"]["template"]["spec"]["containers"][0]["resources"] = {
        "requests": {"cpu": "0.5", "memory": "3072Mi"},
        "limits": {"cpu": "1000m", "memory": "262144Mi"},
    }
    created = apps.create_namespaced_deployment(namespace, body)
    resources = created.spec.template.spec.containers[0].resources
    assert resources.requests == {"cpu": "500m", "memory": "3Gi"}
    assert resources.limits == {"cpu": "1", "memory": "256Gi"}
    quota = core.create_namespaced_resource_quota(
        namespace,
        {
            "metadata": {"name": "q"},
            "spec": {"hard": {"requests.memory": "1536Mi", "pods": "2000"}},
        },
    )
    assert quota.spec.hard == {"requests.memory": "1536Mi", "pods": "2k"}


def test_applying_a_quantity_in_another_unit_changes_nothing(apps, namespace):
    body = deployment()
    body["spec"]["template"]["spec"]["containers"][0]["resources"] = {
        "limits": {"memory": "3072Mi"}
    }
    first = apply(apps, body, namespace)
    again = apply(apps, body, namespace)
    # The spec did not change (controllers may still write the status meanwhile).
    assert again.metadata.generation == first.metadata.generation == 1
    assert again.spec.template.spec.containers[0].resources.limits == {"memory": "3Gi"}


# ----- content negotiation ----------------------------------------------------------------


def test_a_client_accepting_only_text_gets_406_even_for_a_missing_pod(api_client, namespace):
    for path in (
        f"/api/v1/namespaces/{namespace}/pods/ghost/log",
        f"/api/v1/namespaces/{namespace}/configmaps/kube-root-ca.crt",
    ):
        code, _, data = raw(api_client, "GET", path, accept="text/plain")
        assert code == 406, data
        assert json.loads(data)["message"].startswith(
            "only the following media types are accepted: application/json, application/yaml"
        )
    # What kubectl sends is fine, and a missing pod is then a 404.
    code, _, _ = raw(
        api_client,
        "GET",
        f"/api/v1/namespaces/{namespace}/pods/ghost/log",
        accept="application/json, */*",
    )
    assert code == 404


def test_a_form_body_is_415(api_client, namespace):
    code, _, data = raw(
        api_client,
        "POST",
        f"/api/v1/namespaces/{namespace}/configmaps",
        json.dumps({"metadata": {"name": "form"}}),
        content_type="application/x-www-form-urlencoded",
    )
    assert code == 415
    body = json.loads(data)
    assert body["reason"] == "UnsupportedMediaType"
    assert body["message"].startswith(
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json, application/yaml"
    )
    assert (
        client.CoreV1Api(api_client)
        .list_namespaced_config_map(namespace, field_selector="metadata.name=form")
        .items
        == []
    )


# ----- CronJobs -----------------------------------------------------------------------------


def cronjob(name: str = "nightly", schedule: str = "0 3 * * *") -> dict:
    return {
        "metadata": {"name": name},
        "spec": {
            "schedule": schedule,
            "suspend": True,
            "jobTemplate": {
                "spec": {
                    "template": {
                        "spec": {
                            "restartPolicy": "Never",
                            "containers": [{"name": "c", "image": "busybox"}],
                        }
                    }
                }
            },
        },
    }


@pytest.mark.parametrize(
    ("schedule", "why"),
    [
        ("0 3 * * 7", "end of range (7) above maximum (6): 7"),
        ("0 3 L * *", 'failed to parse int from L: strconv.Atoi: parsing "L": invalid syntax'),
        (
            "0 3 15W * *",
            'failed to parse int from 15W: strconv.Atoi: parsing "15W": invalid syntax',
        ),
        (
            "0 3 * * 1#2",
            'failed to parse int from 1#2: strconv.Atoi: parsing "1#2": invalid syntax',
        ),
        ("0 3 * *", "expected exactly 5 fields, found 4: [0 3 * *]"),
        ("0 5-3 * * *", "beginning of range (5) beyond end of range (3): 5-3"),
    ],
)
def test_cron_schedules_the_server_refuses(batch, namespace, schedule, why):
    body = invalid(lambda: batch.create_namespaced_cron_job(namespace, cronjob(schedule=schedule)))
    assert body["details"]["causes"] == [
        {
            "reason": "FieldValueInvalid",
            "message": f'Invalid value: "{schedule}": {why}',
            "field": "spec.schedule",
        }
    ]


def test_cron_schedules_the_server_accepts(batch, namespace):
    for i, schedule in enumerate(
        ("*/15 1-5 * JAN-mar mon-FRI", "0 3 ? * 0", "@hourly", "5 4 * * 6")
    ):
        batch.create_namespaced_cron_job(namespace, cronjob(f"ok{i}", schedule))


def test_cronjob_names_stop_at_52_characters(batch, namespace):
    batch.create_namespaced_cron_job(namespace, cronjob("c" * 52))
    body = invalid(lambda: batch.create_namespaced_cron_job(namespace, cronjob("c" * 53)))
    assert body["details"]["causes"] == [
        {
            "reason": "FieldValueInvalid",
            "message": f'Invalid value: "{"c" * 53}": must be no more than 52 characters',
            "field": "metadata.name",
        }
    ]


# ----- size limits --------------------------------------------------------------------------


def test_configmaps_and_secrets_hold_at_most_1_mib(core, namespace):
    # 34 variables of 32 KiB: what made every later deploy fail on a real cluster.
    data = {f"VAR_{i}": "x" * 32 * 1024 for i in range(34)}
    body = invalid(
        lambda: core.create_namespaced_config_map(
            namespace, {"metadata": {"name": "big"}, "data": data}
        )
    )
    assert body["message"] == (
        'ConfigMap "big" is invalid: []: Too long: must have at most 1048576 bytes'
    )
    assert body["details"]["causes"] == [
        {
            "reason": "FieldValueTooLong",
            "message": "Too long: must have at most 1048576 bytes",
            "field": "[]",
        }
    ]
    encoded = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
    body = invalid(
        lambda: core.create_namespaced_secret(
            namespace, {"metadata": {"name": "big"}, "data": encoded}
        )
    )
    assert body["message"] == (
        'Secret "big" is invalid: data: Too long: must have at most 1048576 bytes'
    )
    # Exactly 1 MiB is allowed.
    core.create_namespaced_config_map(
        namespace, {"metadata": {"name": "full"}, "data": {"a": "x" * 1024 * 1024}}
    )


# ----- Pod Security admission -------------------------------------------------------------


def pod(**security: object) -> dict:
    container: dict = {"name": "app", "image": "registry.k8s.io/pause:3.9"}
    if security:
        container["securityContext"] = security
    return {"metadata": {"name": "p"}, "spec": {"containers": [container]}}


def test_a_restricted_namespace_refuses_a_pod_that_breaks_the_profile(core, make_namespace):
    namespace = make_namespace(
        "strict", labels={"pod-security.kubernetes.io/enforce": "restricted"}
    )
    with pytest.raises(client.ApiException) as caught:
        core.create_namespaced_pod(namespace, pod())
    assert caught.value.status == 403
    body = status_of(caught.value)
    assert body["reason"] == "Forbidden"
    assert body["message"] == (
        'pods "p" is forbidden: violates PodSecurity "restricted:latest": '
        "allowPrivilegeEscalation != false "
        '(container "app" must set securityContext.allowPrivilegeEscalation=false), '
        "unrestricted capabilities "
        '(container "app" must set securityContext.capabilities.drop=["ALL"]), '
        "runAsNonRoot != true "
        '(pod or container "app" must set securityContext.runAsNonRoot=true), '
        "seccompProfile "
        '(pod or container "app" must set securityContext.seccompProfile.type to '
        '"RuntimeDefault" or "Localhost")'
    )
    compliant = pod(
        allowPrivilegeEscalation=False,
        capabilities={"drop": ["ALL"]},
        runAsNonRoot=True,
        runAsUser=65534,
        seccompProfile={"type": "RuntimeDefault"},
    )
    assert core.create_namespaced_pod(namespace, compliant).metadata.name == "p"


def test_a_restricted_namespace_refuses_a_controllers_pods_too(apps, core, make_namespace):
    namespace = make_namespace(
        "strict", labels={"pod-security.kubernetes.io/enforce": "restricted"}
    )
    apps.create_namespaced_deployment(namespace, deployment(replicas=1))

    def refused():
        events = core.list_namespaced_event(namespace).items
        return [e for e in events if e.reason == "FailedCreate"]

    (event,) = wait_for(refused)[:1]
    assert event.involved_object.kind == "ReplicaSet"
    assert event.message.startswith("Error creating: pods ")
    assert 'is forbidden: violates PodSecurity "restricted:latest": ' in event.message
    assert core.list_namespaced_pod(namespace).items == []


# ----- watches ------------------------------------------------------------------------------


def test_a_watch_from_an_expired_resource_version_is_an_error_event_410(core, namespace):
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "a"}})
    events = watch.Watch().stream(
        core.list_namespaced_config_map, namespace, resource_version="1", timeout_seconds=2
    )
    with pytest.raises(client.ApiException) as caught:
        next(iter(events))
    assert caught.value.status == 410
    assert caught.value.reason.startswith("Expired: too old resource version: 1 (")


# ----- Jobs ---------------------------------------------------------------------------------


def test_a_job_without_labels_shows_its_generated_ones(batch, namespace):
    body = {
        "metadata": {"name": "once"},
        "spec": {
            "suspend": True,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "c", "image": "busybox"}],
                }
            },
        },
    }
    created = batch.create_namespaced_job(namespace, body)
    uid = created.metadata.uid
    expected = {
        "batch.kubernetes.io/controller-uid": uid,
        "batch.kubernetes.io/job-name": "once",
        "controller-uid": uid,
        "job-name": "once",
    }
    assert batch.read_namespaced_job("once", namespace).metadata.labels == expected
    assert created.spec.template.metadata.labels == expected
    assert created.spec.selector.match_labels == {"batch.kubernetes.io/controller-uid": uid}
    # A Job without labels of its own but with template labels takes those.
    body["metadata"]["name"] = "twice"
    body["spec"]["template"]["metadata"] = {"labels": {"app": "tool"}}
    assert batch.create_namespaced_job(namespace, body).metadata.labels == {"app": "tool"}


# ----- server-side apply ----------------------------------------------------------------------


def test_conflicts_name_appliers_without_a_version_and_group_by_manager(apps, namespace):
    apply(apps, deployment(), namespace, manager="first")
    changed = deployment(replicas=5, image="nginx:1.28")
    with pytest.raises(client.ApiException) as caught:
        apply(apps, changed, namespace, manager="second", force=False)
    body = status_of(caught.value)
    assert caught.value.status == 409
    assert body["message"] == (
        'Apply failed with 2 conflicts: conflicts with "first":\n'
        "- .spec.replicas\n"
        '- .spec.template.spec.containers[name="app"].image'
    )
    assert body["details"] == {
        "causes": [
            {
                "reason": "FieldManagerConflict",
                "message": 'conflict with "first"',
                "field": ".spec.replicas",
            },
            {
                "reason": "FieldManagerConflict",
                "message": 'conflict with "first"',
                "field": '.spec.template.spec.containers[name="app"].image',
            },
        ]
    }


def test_container_ports_are_keyed_by_port_and_protocol(apps, namespace):
    body = deployment()
    container = body["spec"]["template"]["spec"]["containers"][0]
    container["ports"] = [
        {"name": "dns-tcp", "containerPort": 53},
        {"name": "dns-udp", "containerPort": 53, "protocol": "UDP"},
    ]
    created = apply(apps, body, namespace)
    ports = created.spec.template.spec.containers[0].ports
    assert [(p.container_port, p.protocol) for p in ports] == [(53, "TCP"), (53, "UDP")]
    mine = next(m for m in created.metadata.managed_fields if m.manager == "hangar")
    listed = mine.fields_v1["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"app"}']
    assert {key for key in listed["f:ports"] if key.startswith("k:")} == {
        'k:{"containerPort":53,"protocol":"TCP"}',
        'k:{"containerPort":53,"protocol":"UDP"}',
    }
    # Dropping the UDP port from the applied configuration removes only that one.
    container["ports"] = container["ports"][:1]
    updated = apply(apps, body, namespace)
    ports = updated.spec.template.spec.containers[0].ports
    assert [(p.container_port, p.protocol) for p in ports] == [(53, "TCP")]
