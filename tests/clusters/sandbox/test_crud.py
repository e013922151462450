"""Create, get, list, replace, patch and delete with upstream status codes and bodies."""

from __future__ import annotations

import json
import uuid

import pytest
from kubernetes import client

from .helpers import deployment, raw, status_of


def test_create_returns_server_owned_metadata(apps, namespace):
    created = apps.create_namespaced_deployment(namespace, deployment())
    meta = created.metadata
    assert meta.uid and meta.resource_version.isdigit()
    assert meta.generation == 1
    assert meta.creation_timestamp is not None
    assert meta.namespace == namespace
    # Defaulting, as the API server does it.
    assert created.spec.strategy.type == "RollingUpdate"
    assert created.spec.template.spec.containers[0].ports[0].protocol == "TCP"


def test_client_sent_status_is_ignored_on_create(apps, namespace):
    body = deployment()
    body["status"] = {"replicas": 99, "readyReplicas": 99}
    created = apps.create_namespaced_deployment(namespace, body)
    assert created.status.replicas is None


def test_already_exists(apps, namespace):
    apps.create_namespaced_deployment(namespace, deployment())
    with pytest.raises(client.ApiException) as caught:
        apps.create_namespaced_deployment(namespace, deployment())
    assert caught.value.status == 409
    assert status_of(caught.value) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'deployments.apps "web" already exists',
        "reason": "AlreadyExists",
        "details": {"name": "web", "group": "apps", "kind": "deployments"},
        "code": 409,
    }


def test_not_found(apps, core, namespace):
    with pytest.raises(client.ApiException) as caught:
        apps.read_namespaced_deployment("web", namespace)
    assert status_of(caught.value) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'deployments.apps "web" not found',
        "reason": "NotFound",
        "details": {"name": "web", "group": "apps", "kind": "deployments"},
        "code": 404,
    }
    with pytest.raises(client.ApiException) as caught:
        core.read_namespaced_config_map("nope", namespace)
    # The core group has no "group" in details.
    assert status_of(caught.value)["details"] == {"name": "nope", "kind": "configmaps"}


def test_create_in_missing_namespace_is_namespace_not_found(core):
    with pytest.raises(client.ApiException) as caught:
        core.create_namespaced_config_map("ghost", {"metadata": {"name": "cfg"}})
    body = status_of(caught.value)
    assert caught.value.status == 404
    assert body["message"] == 'namespaces "ghost" not found'
    assert body["details"] == {"name": "ghost", "kind": "namespaces"}


def test_invalid_name_is_422_with_causes(apps, core, namespace):
    with pytest.raises(client.ApiException) as caught:
        apps.create_namespaced_deployment(namespace, deployment(name="Bad_Name"))
    body = status_of(caught.value)
    assert caught.value.status == 422
    assert body["reason"] == "Invalid"
    assert body["message"].startswith(
        'Deployment.apps "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": '
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters"
    )
    assert body["message"].endswith(
        "(e.g. 'example.com', regex used for validation is "
        "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
    )
    assert body["details"]["kind"] == "Deployment"
    assert body["details"]["causes"][0]["reason"] == "FieldValueInvalid"
    assert body["details"]["causes"][0]["field"] == "metadata.name"

    with pytest.raises(client.ApiException) as caught:
        core.create_namespace({"metadata": {"name": "a.b"}})
    assert "a lowercase RFC 1123 label must consist" in status_of(caught.value)["message"]


def test_missing_name_is_required(core, namespace):
    with pytest.raises(client.ApiException) as caught:
        core.create_namespaced_config_map(namespace, {"metadata": {}})
    body = status_of(caught.value)
    assert body["message"] == (
        'ConfigMap "" is invalid: metadata.name: Required value: name or generateName is required'
    )
    assert body["details"]["causes"] == [
        {
            "reason": "FieldValueRequired",
            "message": "Required value: name or generateName is required",
            "field": "metadata.name",
        }
    ]


def test_generate_name(core, namespace):
    created = core.create_namespaced_config_map(namespace, {"metadata": {"generateName": "cfg-"}})
    assert created.metadata.name.startswith("cfg-")
    assert len(created.metadata.name) == len("cfg-") + 5


def test_selector_must_match_template_labels(apps, namespace):
    body = deployment()
    body["spec"]["selector"] = {"matchLabels": {"app": "other"}}
    with pytest.raises(client.ApiException) as caught:
        apps.create_namespaced_deployment(namespace, body)
    assert status_of(caught.value)["details"]["causes"][0]["field"] == (
        "spec.template.metadata.labels"
    )


def test_resource_version_is_global_and_monotonic(core, namespace):
    versions = []
    for i in range(3):
        created = core.create_namespaced_config_map(namespace, {"metadata": {"name": f"c{i}"}})
        versions.append(int(created.metadata.resource_version))
    listed = core.list_namespaced_config_map(namespace)
    assert versions == sorted(versions) and len(set(versions)) == 3
    assert int(listed.metadata.resource_version) >= versions[-1]


def test_list_shape(api_client, namespace):
    core = client.CoreV1Api(api_client)
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "a"}})
    code, _, data = raw(api_client, "GET", f"/api/v1/namespaces/{namespace}/configmaps")
    assert code == 200
    body = json.loads(data)
    assert body["kind"] == "ConfigMapList"
    assert body["apiVersion"] == "v1"
    assert body["metadata"]["resourceVersion"].isdigit()
    # Every namespace starts with the root CA bundle, as on a real cluster.
    assert {i["metadata"]["name"] for i in body["items"]} == {"a", "kube-root-ca.crt"}


def test_list_across_namespaces_and_pagination(apps, namespace, other_namespace):
    run = uuid.uuid4().hex[:8]  # a real cluster has other deployments
    for ns, name in ((namespace, "a"), (other_namespace, "b")):
        body = deployment(name)
        body["metadata"]["labels"]["run"] = run
        apps.create_namespaced_deployment(ns, body)
    selector = f"run={run}"
    everywhere = apps.list_deployment_for_all_namespaces(label_selector=selector)
    assert {(d.metadata.namespace, d.metadata.name) for d in everywhere.items} == {
        (namespace, "a"),
        (other_namespace, "b"),
    }
    first = apps.list_deployment_for_all_namespaces(limit=1, label_selector=selector)
    assert len(first.items) == 1 and first.metadata._continue
    # Upstream counts what remains only for lists without selectors.
    assert first.metadata.remaining_item_count is None
    second = apps.list_deployment_for_all_namespaces(
        limit=1, label_selector=selector, _continue=first.metadata._continue
    )
    assert second.items[0].metadata.name != first.items[0].metadata.name
    assert not second.metadata._continue


def test_generation_moves_only_with_spec(apps, namespace):
    created = apps.create_namespaced_deployment(namespace, deployment())
    labelled = apps.patch_namespaced_deployment(
        "web", namespace, {"metadata": {"labels": {"team": "a"}}}
    )
    assert labelled.metadata.generation == 1
    assert int(labelled.metadata.resource_version) > int(created.metadata.resource_version)
    status = apps.patch_namespaced_deployment_status(
        "web", namespace, {"status": {"observedGeneration": 1}}
    )
    assert status.metadata.generation == 1
    scaled = apps.patch_namespaced_deployment("web", namespace, {"spec": {"replicas": 3}})
    assert scaled.metadata.generation == 2


def test_replace_with_stale_resource_version_conflicts(apps, namespace):
    # Paused, so no controller write races the fresh read and the replace below.
    body = deployment()
    body["spec"]["paused"] = True
    created = apps.create_namespaced_deployment(namespace, body)
    apps.patch_namespaced_deployment("web", namespace, {"spec": {"replicas": 3}})
    created.spec.replicas = 5
    with pytest.raises(client.ApiException) as caught:
        apps.replace_namespaced_deployment("web", namespace, created)
    assert caught.value.status == 409
    assert status_of(caught.value) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": (
            'Operation cannot be fulfilled on deployments.apps "web": the object has been '
            "modified; please apply your changes to the latest version and try again"
        ),
        "reason": "Conflict",
        "details": {"name": "web", "group": "apps", "kind": "deployments"},
        "code": 409,
    }
    fresh = apps.read_namespaced_deployment("web", namespace)
    fresh.spec.replicas = 5
    assert apps.replace_namespaced_deployment("web", namespace, fresh).spec.replicas == 5


def test_replace_missing_is_404_and_keeps_status(api_client, namespace):
    net = client.NetworkingV1Api(api_client)
    ingress = {"metadata": {"name": "web"}, "spec": {"rules": [{"host": "a.example.com"}]}}
    with pytest.raises(client.ApiException) as caught:
        net.replace_namespaced_ingress("web", namespace, ingress)
    assert caught.value.status == 404
    net.create_namespaced_ingress(namespace, ingress)
    lb = {"loadBalancer": {"ingress": [{"ip": "203.0.113.7"}]}}
    net.patch_namespaced_ingress_status("web", namespace, {"status": lb})
    # Only the status subresource writes status; the main resource ignores it.
    replaced = net.replace_namespaced_ingress(
        "web", namespace, {**ingress, "status": {"loadBalancer": {}}}
    )
    assert replaced.status.load_balancer.ingress[0].ip == "203.0.113.7"


def test_unchanged_update_keeps_resource_version(core, namespace):
    created = core.create_namespaced_config_map(
        namespace, {"metadata": {"name": "cfg"}, "data": {"a": "1"}}
    )
    patched = core.patch_namespaced_config_map("cfg", namespace, {"data": {"a": "1"}})
    assert patched.metadata.resource_version == created.metadata.resource_version


def test_patch_flavours(apps, api_client, namespace):
    body = deployment()
    body["spec"]["template"]["spec"]["containers"].append({"name": "sidecar", "image": "busybox"})
    apps.create_namespaced_deployment(namespace, body)
    # The client's default patch type is strategic merge: containers merge by name.
    patched = apps.patch_namespaced_deployment(
        "web",
        namespace,
        {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "nginx:1.28"}]}}}},
    )
    containers = {c.name: c for c in patched.spec.template.spec.containers}
    assert containers["app"].image == "nginx:1.28"
    assert containers["app"].ports[0].container_port == 8080
    assert "sidecar" in containers
    # A JSON merge patch replaces lists wholesale.
    merged = apps.patch_namespaced_deployment(
        "web",
        namespace,
        {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "nginx:1"}]}}}},
        _content_type="application/merge-patch+json",
    )
    assert [c.name for c in merged.spec.template.spec.containers] == ["app"]
    # JSON patch operations.
    jsonpatched = apps.patch_namespaced_deployment(
        "web",
        namespace,
        [
            {"op": "replace", "path": "/spec/replicas", "value": 4},
            {"op": "add", "path": "/metadata/labels/tier", "value": "front"},
        ],
        _content_type="application/json-patch+json",
    )
    assert jsonpatched.spec.replicas == 4
    assert jsonpatched.metadata.labels["tier"] == "front"


def test_strategic_merge_directives(core, namespace):
    core.create_namespaced_config_map(
        namespace, {"metadata": {"name": "cfg", "finalizers": ["a/b"]}, "data": {"x": "1"}}
    )
    patched = core.patch_namespaced_config_map(
        "cfg", namespace, {"metadata": {"finalizers": ["c/d"]}, "data": {"x": None, "y": "2"}}
    )
    assert patched.data == {"y": "2"}
    assert patched.metadata.finalizers == ["a/b", "c/d"]


def test_unsupported_patch_type_is_415(api_client, namespace):
    client.CoreV1Api(api_client).create_namespaced_config_map(
        namespace, {"metadata": {"name": "c"}}
    )
    code, _, data = raw(
        api_client,
        "PATCH",
        f"/api/v1/namespaces/{namespace}/configmaps/c",
        "{}",
        content_type="text/plain",
    )
    assert code == 415
    body = json.loads(data)
    assert body["reason"] == "UnsupportedMediaType"
    assert body["message"].startswith(
        "the body of the request was in an unknown format - accepted media types include: "
    )


def test_delete_returns_success_status(apps, namespace):
    created = apps.create_namespaced_deployment(namespace, deployment())
    # Client 37 returns the raw body: a Status here, the object for some kinds.
    result = apps.delete_namespaced_deployment("web", namespace)
    assert result == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": {
            "name": "web",
            "group": "apps",
            "kind": "deployments",
            "uid": created.metadata.uid,
        },
    }
    with pytest.raises(client.ApiException) as caught:
        apps.delete_namespaced_deployment("web", namespace)
    assert caught.value.status == 404


def test_delete_precondition_conflict(core, namespace):
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "cfg"}})
    with pytest.raises(client.ApiException) as caught:
        core.delete_namespaced_config_map(
            "cfg", namespace, body={"preconditions": {"uid": "not-it"}}
        )
    assert caught.value.status == 409
    assert "Precondition failed: UID in precondition: not-it" in status_of(caught.value)["message"]


def test_finalizers_hold_deletion(core, namespace):
    core.create_namespaced_config_map(
        namespace, {"metadata": {"name": "cfg", "finalizers": ["hangar.dev/keep"]}}
    )
    held = core.delete_namespaced_config_map("cfg", namespace)
    assert held is not None
    pending = core.read_namespaced_config_map("cfg", namespace)
    assert pending.metadata.deletion_timestamp is not None
    core.patch_namespaced_config_map(
        "cfg",
        namespace,
        {"metadata": {"finalizers": None}},
        _content_type="application/merge-patch+json",
    )
    with pytest.raises(client.ApiException) as caught:
        core.read_namespaced_config_map("cfg", namespace)
    assert caught.value.status == 404


def test_cluster_scoped_and_networking_kinds(api_client, namespace):
    net = client.NetworkingV1Api(api_client)
    net.create_ingress_class({"metadata": {"name": "nginx"}, "spec": {"controller": "k8s.io/x"}})
    net.create_namespaced_network_policy(
        namespace,
        {
            "metadata": {"name": "deny"},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
        },
    )
    ingress = net.create_namespaced_ingress(
        namespace,
        {
            "metadata": {"name": "web"},
            "spec": {"ingressClassName": "nginx", "rules": [{"host": "shop.example.com"}]},
        },
    )
    assert ingress.metadata.generation == 1
    assert [c.metadata.name for c in net.list_ingress_class().items] == ["nginx"]
    hpa = client.AutoscalingV2Api(api_client).create_namespaced_horizontal_pod_autoscaler(
        namespace,
        {
            "metadata": {"name": "web"},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                "minReplicas": 1,
                "maxReplicas": 3,
            },
        },
    )
    assert hpa.spec.max_replicas == 3
    pdb = client.PolicyV1Api(api_client).create_namespaced_pod_disruption_budget(
        namespace,
        {
            "metadata": {"name": "web"},
            "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}},
        },
    )
    assert pdb.spec.min_available == 1
    core = client.CoreV1Api(api_client)
    service = core.create_namespaced_service(
        namespace, {"metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}]}}
    )
    assert service.spec.cluster_ip.startswith("10.96.")
    assert service.spec.ports[0].target_port == 80
    core.create_namespaced_resource_quota(
        namespace, {"metadata": {"name": "q"}, "spec": {"hard": {"pods": "10"}}}
    )
    core.create_namespaced_limit_range(
        namespace,
        {
            "metadata": {"name": "l"},
            "spec": {"limits": [{"type": "Container", "default": {"cpu": "500m"}}]},
        },
    )
    core.create_namespaced_service_account(namespace, {"metadata": {"name": "app"}})
    assert {s.metadata.name for s in core.list_namespaced_service_account(namespace).items} == {
        "app",
        "default",
    }


def test_service_name_must_be_dns1035(core, namespace):
    with pytest.raises(client.ApiException) as caught:
        core.create_namespaced_service(
            namespace, {"metadata": {"name": "1web"}, "spec": {"ports": [{"port": 80}]}}
        )
    assert "a DNS-1035 label must consist" in status_of(caught.value)["message"]


def test_scale_subresource(apps, namespace):
    apps.create_namespaced_deployment(namespace, deployment())
    scale = apps.read_namespaced_deployment_scale("web", namespace)
    assert scale.spec.replicas == 2 and scale.status.selector == "app=web"
    apps.patch_namespaced_deployment_scale("web", namespace, {"spec": {"replicas": 0}})
    assert apps.read_namespaced_deployment("web", namespace).spec.replicas == 0


def test_replacing_an_object_as_read_is_a_no_op(core, namespace):
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "cfg"}, "data": {"a": "1"}})
    read = core.read_namespaced_config_map("cfg", namespace)
    # The client re-serializes managedFields timestamps; that is not a change.
    replaced = core.replace_namespaced_config_map("cfg", namespace, read)
    assert replaced.metadata.resource_version == read.metadata.resource_version


def test_job_status_subresource(sandbox, batch, namespace):
    batch.create_namespaced_job(
        namespace,
        {
            "metadata": {"name": "j", "annotations": {"sandbox.hangar.dev/run-seconds": "60"}},
            "spec": {
                "template": {
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [{"name": "c", "image": "busybox"}],
                    }
                }
            },
        },
    )
    patched = batch.patch_namespaced_job_status("j", namespace, {"status": {"failed": 3}})
    assert patched.status.failed == 3
    assert patched.metadata.generation == 1
    assert batch.read_namespaced_job_status("j", namespace).status.failed == 3


def test_creating_with_a_resource_version_is_an_error(core, namespace):
    created = core.create_namespaced_config_map(namespace, {"metadata": {"name": "cfg"}})
    created.metadata.name = "copy"
    with pytest.raises(client.ApiException) as caught:
        core.create_namespaced_config_map(namespace, created)
    assert caught.value.status == 500
    assert status_of(caught.value) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "resourceVersion should not be set on objects to be created",
        "code": 500,
    }
