"""Authentication (bearer token) and authorization (deny rules, access reviews)."""

from __future__ import annotations

import json

import pytest
from kubernetes import client, config

from .helpers import raw, status_of


def review(api_client, **attrs):
    body = {"spec": {"resourceAttributes": attrs}}
    return client.AuthorizationV1Api(api_client).create_self_subject_access_review(body)


def test_requests_without_the_token_are_401(api_client):
    code, _, data = raw(api_client, "GET", "/api/v1/namespaces", auth=False)
    assert code == 401
    assert json.loads(data) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "Unauthorized",
        "reason": "Unauthorized",
        "code": 401,
    }


def test_wrong_token_is_401(sandbox):
    kubeconfig = sandbox.kubeconfig()
    kubeconfig["users"][0]["user"]["token"] = "wrong"
    api = config.new_client_from_config_dict(kubeconfig)
    with pytest.raises(client.ApiException) as caught:
        client.CoreV1Api(api).list_namespace()
    assert caught.value.status == 401
    api.close()


def test_access_review_allows_by_default(api_client):
    answer = review(api_client, verb="delete", resource="namespaces", name="shop")
    assert answer.status.allowed is True


def test_denied_verb_is_reviewed_false_and_forbidden(sandbox, api_client, core, namespace):
    sandbox.deny(verb="delete", resource="namespaces")
    answer = review(api_client, verb="delete", resource="namespaces", name=namespace)
    assert answer.status.allowed is False
    assert review(api_client, verb="get", resource="namespaces").status.allowed is True

    with pytest.raises(client.ApiException) as caught:
        core.delete_namespace(namespace)
    assert caught.value.status == 403
    assert status_of(caught.value) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": (
            f'namespaces "{namespace}" is forbidden: User '
            '"system:serviceaccount:hangar:hangar" cannot delete resource "namespaces" in API '
            f'group "" in the namespace "{namespace}"'
        ),
        "reason": "Forbidden",
        "details": {"name": namespace, "kind": "namespaces"},
        "code": 403,
    }
    sandbox.clear_denials()
    core.delete_namespace(namespace)


def test_namespaced_denial_and_list_message(sandbox, api_client, namespace):
    sandbox.deny(verb="list", resource="deployments", group="apps", namespace=namespace)
    apps = client.AppsV1Api(api_client)
    with pytest.raises(client.ApiException) as caught:
        apps.list_namespaced_deployment(namespace)
    assert status_of(caught.value)["message"] == (
        'deployments.apps is forbidden: User "system:serviceaccount:hangar:hangar" cannot list '
        f'resource "deployments" in API group "apps" in the namespace "{namespace}"'
    )
    assert apps.list_namespaced_deployment("default").items == []
    assert (
        review(
            api_client, verb="list", group="apps", resource="deployments", namespace=namespace
        ).status.allowed
        is False
    )


def test_cluster_scope_message(sandbox, core):
    sandbox.deny(verb="list", resource="nodes")
    with pytest.raises(client.ApiException) as caught:
        core.list_node()
    assert status_of(caught.value)["message"].endswith(
        'cannot list resource "nodes" in API group "" at the cluster scope'
    )


def test_access_review_only_supports_create(api_client):
    code, _, data = raw(
        api_client, "GET", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews/x"
    )
    assert code == 405
    assert json.loads(data)["reason"] == "MethodNotAllowed"
