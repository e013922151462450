"""Fault injection and the request log, as tests of Hangar's retry logic will use them."""

from __future__ import annotations

import json
import time

import pytest
import urllib3
from kubernetes import client

from .helpers import apply, deployment, status_of


def test_503_twice_then_ok(sandbox, apps, namespace):
    sandbox.faults.add(method="GET", path_regex=r"/apis/apps/v1/.*", status=503, times=2)
    apps.create_namespaced_deployment(namespace, deployment())
    failures = []
    for _ in range(3):
        try:
            found = apps.read_namespaced_deployment("web", namespace)
            break
        except client.ApiException as exc:
            failures.append(exc)
    assert [f.status for f in failures] == [503, 503]
    assert status_of(failures[0]) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "the server is currently unable to handle the request",
        "reason": "ServiceUnavailable",
        "code": 503,
    }
    assert found.metadata.name == "web"
    faulted = [r for r in sandbox.requests.filter(method="GET") if r.fault]
    assert len(faulted) == 2


@pytest.mark.parametrize("code", [500, 502, 504])
def test_other_server_errors(sandbox, core, code):
    sandbox.faults.error(code, path_regex="/api/v1/namespaces$")
    with pytest.raises(client.ApiException) as caught:
        core.list_namespace()
    assert caught.value.status == code
    assert core.list_namespace().items


def test_429_carries_retry_after(sandbox, core):
    sandbox.faults.throttle(retry_after=7, method="POST")
    with pytest.raises(client.ApiException) as caught:
        core.create_namespace({"metadata": {"name": "throttled"}})
    assert caught.value.status == 429
    assert caught.value.headers["Retry-After"] == "7"
    body = status_of(caught.value)
    assert body["reason"] == "TooManyRequests"
    assert body["details"] == {"retryAfterSeconds": 7}


def test_urllib3_honours_retry_after_on_reads_by_itself(sandbox, core):
    # urllib3's default Retry re-sends GETs answered 429/503 with a Retry-After
    # header, after sleeping that long: the caller never sees those.
    sandbox.faults.throttle(retry_after=0, method="GET", times=2)
    assert core.list_namespace().items
    assert sandbox.requests.count(method="GET") == 3


def test_dropped_connection_is_a_urllib3_error(sandbox, core):
    sandbox.faults.drop(method="POST")
    with pytest.raises(urllib3.exceptions.HTTPError):
        core.create_namespace({"metadata": {"name": "dropped"}})
    # The server never saw the create through: nothing was written.
    with pytest.raises(client.ApiException):
        core.read_namespace("dropped")


def test_urllib3_retries_a_dropped_get_by_itself(sandbox, core):
    sandbox.faults.drop(method="GET", path_regex="/api/v1/namespaces$")
    assert core.list_namespace().items
    assert sandbox.requests.count(method="GET", path_regex="/api/v1/namespaces$") == 2


def test_latency(sandbox, core):
    sandbox.faults.delay(0.3, method="GET")
    started = time.monotonic()
    core.list_namespace()
    assert time.monotonic() - started >= 0.3
    # A write is not retried by urllib3, so a client timeout surfaces.
    sandbox.faults.delay(1.0, method="POST")
    with pytest.raises(urllib3.exceptions.ReadTimeoutError):
        core.create_namespace({"metadata": {"name": "slow"}}, _request_timeout=0.2)


def test_rules_expire_and_can_be_cleared(sandbox, core):
    rule = sandbox.faults.add(status=500, times=None)
    for _ in range(3):
        with pytest.raises(client.ApiException):
            core.list_namespace()
    assert rule.hits == 3
    sandbox.faults.clear()
    assert core.list_namespace().items


def test_request_log_counts_writes(sandbox, apps, namespace):
    sandbox.requests.clear()
    apply(apps, deployment(), namespace)
    apply(apps, deployment(), namespace)
    apps.read_namespaced_deployment("web", namespace)
    writes = sandbox.requests.writes
    assert [(w.method, w.content_type) for w in writes] == [
        ("PATCH", "application/apply-patch+yaml"),
        ("PATCH", "application/apply-patch+yaml"),
    ]
    assert writes[0].query["fieldManager"] == ["hangar"]
    assert writes[0].status == 201 and writes[1].status == 200
    assert sandbox.requests.count(method="GET") == 1
    assert len(sandbox.requests) == 3


def test_body_over_3_mib_is_413(core, namespace):
    big = {"metadata": {"name": "big"}, "data": {"blob": "x" * (3 * 1024 * 1024 + 10)}}
    with pytest.raises(client.ApiException) as caught:
        core.create_namespaced_config_map(namespace, big)
    assert caught.value.status == 413
    assert json.loads(caught.value.body) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "Request entity too large: limit is 3145728",
        "reason": "RequestEntityTooLarge",
        "code": 413,
    }
    # The connection is still usable afterwards.
    assert core.read_namespace(namespace)


def test_a_lost_answer_applies_the_write_but_the_client_hears_nothing(sandbox, apps, namespace):
    apply(apps, deployment(), namespace)
    changed = deployment()
    changed["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.27"
    rule = sandbox.faults.lose_answer(method="PATCH", path_regex="/deployments/web$")
    with pytest.raises(urllib3.exceptions.HTTPError):
        apply(apps, changed, namespace)
    assert rule.hits == 1
    live = apps.read_namespaced_deployment("web", namespace)
    assert live.spec.template.spec.containers[0].image == "nginx:1.27"  # it was written
    [lost] = [r for r in sandbox.requests.filter(method="PATCH") if r.fault]
    assert lost.status == 200


def test_a_read_timeout_on_one_path_leaves_the_others_answering(sandbox, core, namespace):
    sandbox.faults.delay(1.0, method="GET", path_regex="/configmaps$", times=None)
    # (urllib3 retries a GET by itself, then gives up: every try timed out)
    with pytest.raises(urllib3.exceptions.HTTPError, match="Read timed out"):
        core.list_namespaced_config_map(namespace, _request_timeout=(1, 0.2))
    assert core.list_namespaced_secret(namespace, _request_timeout=(1, 0.2)) is not None
    assert core.read_namespace(namespace, _request_timeout=(1, 0.2)).metadata.name == namespace


def test_state_loss_forgets_every_object_but_the_clusters_own(sandbox, core, apps, namespace):
    apply(apps, deployment(), namespace)
    sandbox.add_node("pool-a-1")
    assert sandbox.lose_state() > 0
    names = {ns.metadata.name for ns in core.list_namespace().items}
    assert namespace not in names
    assert {"default", "kube-system", "kube-public", "kube-node-lease"} <= names
    with pytest.raises(client.ApiException) as caught:
        apps.read_namespaced_deployment("web", namespace)
    assert caught.value.status == 404
    assert [n.metadata.name for n in core.list_node().items] == ["pool-a-1"]
    # The server works on: applying again recreates what was lost.
    core.create_namespace({"metadata": {"name": namespace}})
    apply(apps, deployment(), namespace)
    assert apps.read_namespaced_deployment("web", namespace).metadata.name == "web"
