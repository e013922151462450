"""Server-side apply as Hangar calls it, with upstream's upsert, merge and ownership rules."""

from __future__ import annotations

import json

import pytest
import yaml
from kubernetes import client, config
from kubernetes.dynamic import DynamicClient

from clusters.sandbox import SandboxCluster

from .helpers import apply, deployment, raw, status_of, wait_for

APPLY = "application/apply-patch+yaml"


def test_apply_creates_then_merges(apps, namespace):
    created = apply(apps, deployment(), namespace)
    assert created.metadata.generation == 1
    entry = created.metadata.managed_fields[0]
    assert (entry.manager, entry.operation, entry.api_version) == ("hangar", "Apply", "apps/v1")
    assert entry.time is not None
    assert "f:spec" in entry.fields_v1

    # Another manager's label survives a later apply that does not mention it.
    apps.patch_namespaced_deployment("web", namespace, {"metadata": {"labels": {"team": "a"}}})
    body = deployment(replicas=3)
    merged = apply(apps, body, namespace)
    assert merged.spec.replicas == 3
    assert merged.metadata.labels == {"app": "web", "team": "a"}
    assert merged.metadata.generation == 2


def test_identical_apply_is_a_no_op(sandbox, apps, namespace):
    apply(apps, deployment(), namespace)
    # Once the rollout settled nobody writes, so any write would be the apply's.
    wait_for(lambda: apps.read_namespaced_deployment("web", namespace).status.available_replicas)
    sandbox.reconcile()
    before = apps.read_namespaced_deployment("web", namespace).metadata.resource_version
    again = apply(apps, deployment(), namespace)
    assert again.metadata.resource_version == before
    assert again.metadata.generation == 1


def test_no_op_apply_without_controllers():
    with SandboxCluster(controllers=False) as quiet:
        api = config.new_client_from_config_dict(quiet.kubeconfig())
        apps = client.AppsV1Api(api)
        first = apply(apps, deployment(), "default")
        revision = quiet.store.revision
        second = apply(apps, deployment(), "default")
        assert second.metadata.resource_version == first.metadata.resource_version
        assert quiet.store.revision == revision
        api.close()


def test_apply_removes_fields_the_manager_stops_applying(apps, namespace):
    body = deployment()
    body["spec"]["template"]["spec"]["containers"][0]["env"] = [
        {"name": "A", "value": "1"},
        {"name": "B", "value": "2"},
    ]
    body["metadata"]["annotations"] = {"hangar.dev/site": "shop"}
    apply(apps, body, namespace)
    body["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "A", "value": "1"}]
    del body["metadata"]["annotations"]
    updated = apply(apps, body, namespace)
    assert [e.name for e in updated.spec.template.spec.containers[0].env] == ["A"]
    assert not (updated.metadata.annotations or {}).get("hangar.dev/site")


def test_apply_conflicts_with_another_manager_unless_forced(apps, namespace):
    apply(apps, deployment(), namespace)
    apps.patch_namespaced_deployment(
        "web", namespace, {"spec": {"replicas": 5}}, field_manager="kubectl-scale"
    )
    with pytest.raises(client.ApiException) as caught:
        apply(apps, deployment(), namespace, force=False)
    body = status_of(caught.value)
    assert caught.value.status == 409
    assert body["reason"] == "Conflict"
    assert body["message"] == (
        'Apply failed with 1 conflict: conflict with "kubectl-scale" using apps/v1: .spec.replicas'
    )
    assert body["details"]["causes"] == [
        {
            "reason": "FieldManagerConflict",
            "message": 'conflict with "kubectl-scale" using apps/v1',
            "field": ".spec.replicas",
        }
    ]
    forced = apply(apps, deployment(), namespace, force=True)
    assert forced.spec.replicas == 2
    managers = {m.manager for m in forced.metadata.managed_fields}
    assert "kubectl-scale" not in managers  # it lost its only field
    assert "hangar" in managers


def test_apply_needs_a_field_manager(api_client, namespace):
    code, _, data = raw(
        api_client,
        "PATCH",
        f"/apis/apps/v1/namespaces/{namespace}/deployments/web",
        json.dumps(deployment()),
        content_type=APPLY,
    )
    assert code == 422
    assert json.loads(data) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": (
            'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: '
            "is required for apply patch"
        ),
        "reason": "Invalid",
        "details": {
            "group": "meta.k8s.io",
            "kind": "PatchOptions",
            "causes": [
                {
                    "reason": "FieldValueRequired",
                    "message": "Required value: is required for apply patch",
                    "field": "fieldManager",
                }
            ],
        },
        "code": 422,
    }


def test_apply_yaml_body_through_the_raw_client(api_client, namespace):
    manifest = yaml.safe_dump(deployment())
    code, _, data = raw(
        api_client,
        "PATCH",
        f"/apis/apps/v1/namespaces/{namespace}/deployments/web",
        manifest,
        content_type=APPLY,
        query=[("fieldManager", "hangar"), ("force", "true")],
    )
    assert code == 201
    assert json.loads(data)["metadata"]["name"] == "web"
    code, _, data = raw(
        api_client,
        "PATCH",
        f"/apis/apps/v1/namespaces/{namespace}/deployments/web",
        manifest,
        content_type=APPLY,
        query=[("fieldManager", "hangar"), ("force", "true")],
    )
    assert code == 200


def test_apply_with_the_dynamic_client(api_client, namespace):
    dynamic = DynamicClient(api_client)
    configmaps = dynamic.resources.get(api_version="v1", kind="ConfigMap")
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "cfg"},
        "data": {"a": "1"},
    }
    created = configmaps.server_side_apply(
        body=body, namespace=namespace, field_manager="hangar", force_conflicts=True
    )
    assert created.data.a == "1"
    body["data"] = {"b": "2"}
    updated = configmaps.server_side_apply(
        body=body, namespace=namespace, field_manager="hangar", force_conflicts=True
    )
    # The applier owned "a" alone, so dropping it from the configuration removes it.
    assert dict(updated.data) == {"b": "2"}


def test_apply_into_missing_or_terminating_namespace(apps, core, namespace):
    with pytest.raises(client.ApiException) as caught:
        apply(apps, deployment(), "ghost")
    assert status_of(caught.value)["message"] == 'namespaces "ghost" not found'
    core.delete_namespace(namespace)
    with pytest.raises(client.ApiException) as caught:
        apply(apps, deployment(), namespace)
    assert caught.value.status == 403


def test_apply_ignores_status_and_wrong_kind_is_400(apps, api_client, namespace):
    body = deployment()
    body["status"] = {"replicas": 42}
    created = apply(apps, body, namespace)
    assert created.status.replicas != 42
    wrong = deployment()
    wrong["apiVersion"] = "apps/v1beta1"
    code, _, data = raw(
        api_client,
        "PATCH",
        f"/apis/apps/v1/namespaces/{namespace}/deployments/web",
        json.dumps(wrong),
        content_type=APPLY,
        query=[("fieldManager", "hangar")],
    )
    assert code == 400
    assert json.loads(data)["message"] == (
        "the API version in the data (apps/v1beta1) does not match the expected API version "
        "(apps/v1)"
    )
