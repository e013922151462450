"""Transient failures are retried within bounds; permanent ones fail at once, readably."""

from __future__ import annotations

import socket
import time

import pytest
import yaml

from clusters.kube.client import KubeClient
from clusters.kube.errors import (
    KubeError,
    KubeForbidden,
    KubeInvalid,
    KubeTimeout,
    KubeUnauthorized,
    KubeUnreachable,
)
from clusters.kube.transport import RetryPolicy, Transport, build_api_client
from tests.clusters.kube.conftest import configmap_for

MANAGED = {"app.kubernetes.io/managed-by": "hangar"}


@pytest.fixture
def sandbox(sandbox_target):
    return sandbox_target.sandbox


@pytest.fixture
def kube(sandbox_target):
    return sandbox_target.kube


@pytest.fixture
def namespace(sandbox_target):
    return sandbox_target.namespace()


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retried_then_succeed(sandbox, kube, namespace, status):
    sandbox.faults.error(status, method="PATCH", path_regex="/configmaps/", times=2)
    kube.apply(configmap_for(namespace))
    assert kube.get("v1", "ConfigMap", "app-config", namespace)["data"]
    assert sandbox.requests.count("PATCH", "/configmaps/app-config") == 3


def test_throttling_honours_retry_after(sandbox, namespace):
    slept = []
    kube = KubeClient(
        Transport(
            build_api_client(yaml.safe_dump(sandbox.kubeconfig())),
            retry=RetryPolicy(attempts=3, deadline=30),
            sleep=slept.append,
        )
    )
    sandbox.faults.throttle(retry_after=2, method="GET", path_regex="/configmaps", times=1)
    assert kube.list("v1", "ConfigMap", namespace, label_selector=MANAGED) == []
    assert slept == [2.0]


def test_dropped_connections_are_retried(sandbox, kube, namespace):
    sandbox.faults.drop(method="GET", path_regex="/configmaps", times=1)
    assert kube.list("v1", "ConfigMap", namespace, label_selector=MANAGED) == []
    assert sandbox.requests.count("GET", f"/namespaces/{namespace}/configmaps$") == 2


def test_slow_answers_time_out_and_are_retried(sandbox, namespace):
    kube = KubeClient(
        Transport(
            build_api_client(yaml.safe_dump(sandbox.kubeconfig())),
            timeout=(1.0, 0.3),
            retry=RetryPolicy(attempts=3, deadline=10, base_delay=0.01, max_delay=0.05),
        )
    )
    sandbox.faults.delay(1.0, method="GET", path_regex="/configmaps", times=1)
    assert kube.list("v1", "ConfigMap", namespace, label_selector=MANAGED) == []


def test_retries_are_bounded(sandbox, namespace):
    kube = KubeClient(
        Transport(
            build_api_client(yaml.safe_dump(sandbox.kubeconfig())),
            retry=RetryPolicy(attempts=3, deadline=10, base_delay=0.01, max_delay=0.05),
        )
    )
    sandbox.faults.error(503, method="GET", path_regex="/configmaps", times=None)
    with pytest.raises(KubeError) as excinfo:
        kube.list("v1", "ConfigMap", namespace, label_selector=MANAGED)
    assert excinfo.value.status == 503 and excinfo.value.retryable
    assert sandbox.requests.count("GET", "/configmaps") == 3


def test_forbidden_fails_at_once_with_the_servers_message(sandbox, kube, namespace):
    sandbox.deny(verb="patch", resource="configmaps")
    with pytest.raises(KubeForbidden) as excinfo:
        kube.apply(configmap_for(namespace))
    assert 'cannot patch resource "configmaps"' in str(excinfo.value)
    assert sandbox.requests.count("PATCH", "/configmaps/") == 1


def test_invalid_fails_at_once(sandbox, kube, namespace):
    with pytest.raises(KubeInvalid):
        kube.apply(configmap_for(namespace, "Bad_Name"))
    assert sandbox.requests.count("PATCH", "/configmaps/") == 1


def test_wrong_token_is_unauthorized(sandbox):
    config = sandbox.kubeconfig()
    config["users"][0]["user"]["token"] = "wrong"
    kube = KubeClient(Transport(build_api_client(yaml.safe_dump(config))))
    with pytest.raises(KubeUnauthorized):
        kube.version()


def test_unreachable_cluster_fails_after_bounded_retries_with_a_clear_message():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
    }
    slept = []
    kube = KubeClient(
        Transport(
            build_api_client(yaml.safe_dump(config)),
            retry=RetryPolicy(attempts=4, deadline=30),
            sleep=slept.append,
        )
    )
    started = time.monotonic()
    with pytest.raises(KubeUnreachable) as excinfo:
        kube.version()
    assert "Cannot reach the API server" in str(excinfo.value)
    assert len(slept) == 3 and time.monotonic() - started < 5
    assert isinstance(excinfo.value, KubeError) and not isinstance(excinfo.value, KubeTimeout)


def _default_policy_client(sandbox) -> KubeClient:
    """The policy operations run with (only the pauses shortened)."""
    return KubeClient(
        Transport(build_api_client(yaml.safe_dump(sandbox.kubeconfig())), sleep=lambda s: None)
    )


def test_a_read_is_tried_three_times_at_most_per_run(sandbox, namespace):
    """The engine retries the operation itself (up to 5 runs): the transport adds at most
    3 tries per run, not 5 (which made 25 tries of one request)."""
    sandbox.faults.error(503, method="GET", path_regex="/configmaps", times=None)
    with pytest.raises(KubeError) as excinfo:
        _default_policy_client(sandbox).list("v1", "ConfigMap", namespace)
    assert excinfo.value.retryable  # for the engine to retry the operation
    assert sandbox.requests.count("GET", "/configmaps") == 3


def test_writes_other_than_applies_are_left_to_the_engine(sandbox, kube, namespace):
    kube.apply(configmap_for(namespace))
    sandbox.faults.error(503, method="PATCH", path_regex="/configmaps/app-config", times=1)
    with pytest.raises(KubeError) as excinfo:
        _default_policy_client(sandbox).merge_patch(
            "v1", "ConfigMap", "app-config", {"data": {"A": "1"}}, namespace
        )
    assert excinfo.value.retryable
    merge = "application/merge-patch+json"
    assert sandbox.requests.count("PATCH", "/configmaps/app-config", content_type=merge) == 1
    sandbox.faults.error(503, method="DELETE", path_regex="/configmaps/app-config", times=1)
    with pytest.raises(KubeError):
        _default_policy_client(sandbox).delete("v1", "ConfigMap", "app-config", namespace)
    assert sandbox.requests.count("DELETE", "/configmaps/app-config") == 1
