"""Namespace lifecycle: Active, Terminating with its contents gone, then gone itself."""

from __future__ import annotations

import pytest
from kubernetes import client

from .helpers import deployment, status_of, wait_for


def gone(core, name):
    try:
        core.read_namespace(name)
    except client.ApiException as exc:
        return exc.status == 404
    return False


def test_new_namespace_is_active_and_populated(core, namespace):
    ns = core.read_namespace(namespace)
    assert ns.status.phase == "Active"
    assert ns.metadata.labels["kubernetes.io/metadata.name"] == namespace
    assert ns.spec.finalizers == ["kubernetes"]
    assert core.read_namespaced_service_account("default", namespace)
    assert "ca.crt" in core.read_namespaced_config_map("kube-root-ca.crt", namespace).data


def test_system_namespaces_exist(core):
    assert {"default", "kube-system", "kube-public", "kube-node-lease"} <= {
        n.metadata.name for n in core.list_namespace().items
    }


def test_deletion_terminates_then_removes(sandbox, core, apps, namespace):
    # Long enough to look at the Terminating namespace, short enough to wait out.
    sandbox.controllers.namespace_deletion_delay = 0.5
    apps.create_namespaced_deployment(namespace, deployment())
    core.create_namespaced_secret(namespace, {"metadata": {"name": "s"}})
    deleted = core.delete_namespace(namespace)
    # The namespace comes back, not a Status, while it terminates.
    assert deleted["kind"] == "Namespace"
    assert deleted["status"]["phase"] == "Terminating"
    assert deleted["metadata"]["deletionTimestamp"]
    terminating = core.read_namespace(namespace)
    assert terminating.status.phase == "Terminating"
    assert apps.list_namespaced_deployment(namespace).items == []
    assert core.list_namespaced_secret(namespace).items == []

    with pytest.raises(client.ApiException) as caught:
        core.create_namespaced_config_map(namespace, {"metadata": {"name": "late"}})
    body = status_of(caught.value)
    assert caught.value.status == 403
    assert body["reason"] == "Forbidden"
    assert body["message"] == (
        f'configmaps "late" is forbidden: unable to create new content in namespace '
        f"{namespace} because it is being terminated"
    )
    assert body["details"]["causes"][0]["reason"] == "NamespaceTerminating"

    with pytest.raises(client.ApiException) as caught:
        core.delete_namespace(namespace)
    assert caught.value.status == 409
    assert status_of(caught.value)["message"] == (
        f'Operation cannot be fulfilled on namespaces "{namespace}": The system is ensuring all '
        "content is removed from this namespace.  Upon completion, this namespace will "
        "automatically be purged by the system."
    )

    wait_for(lambda: gone(core, namespace))
    core.create_namespace({"metadata": {"name": namespace}})
    assert core.read_namespace(namespace).status.phase == "Active"
