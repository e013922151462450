"""Discovery endpoints, and that the official clients can use them unchanged."""

from __future__ import annotations

import json

from kubernetes import client
from kubernetes.dynamic import DynamicClient

from clusters.sandbox.schemas import GIT_VERSION, KUBERNETES_MINOR, schema_dir
from tests.sites.test_manifests import KUBERNETES_VERSIONS as MANIFEST_SCHEMA_VERSIONS

from .helpers import raw


def raw_get(api_client: client.ApiClient, path: str) -> dict:
    code, _, data = raw(api_client, "GET", path)
    assert code == 200
    return json.loads(data)


def test_version(api_client, where):
    info = client.VersionApi(api_client).get_code()
    assert info.git_version.startswith(f"v{info.major}.{info.minor.rstrip('+')}.")
    if where == "sandbox":
        # The one minor whose upstream schemas the sandbox takes its rules from, and which
        # Hangar's manifests are validated against.
        assert info.git_version == GIT_VERSION == f"v{KUBERNETES_MINOR}.0"
        assert schema_dir().is_dir()
        assert KUBERNETES_MINOR in MANIFEST_SCHEMA_VERSIONS


def test_core_versions_and_resources(api_client):
    assert raw_get(api_client, "/api")["versions"] == ["v1"]
    resources = client.CoreV1Api(api_client).get_api_resources()
    assert resources.group_version == "v1"
    by_name = {r.name: r for r in resources.resources}
    assert by_name["namespaces"].namespaced is False
    assert by_name["pods"].short_names == ["po"]
    assert "pods/log" in by_name
    assert by_name["secrets"].kind == "Secret"


def test_group_list_and_group_versions(api_client):
    groups = {g.name: g for g in client.ApisApi(api_client).get_api_versions().groups}
    for name, version in [
        ("apps", "v1"),
        ("batch", "v1"),
        ("networking.k8s.io", "v1"),
        ("autoscaling", "v2"),
        ("policy", "v1"),
        ("authorization.k8s.io", "v1"),
        ("apiextensions.k8s.io", "v1"),
    ]:
        assert groups[name].preferred_version.group_version == f"{name}/{version}"
    apps = client.AppsV1Api(api_client).get_api_resources()
    by_name = {r.name: r for r in apps.resources}
    assert by_name["deployments"].short_names == ["deploy"]
    assert by_name["deployments/scale"].kind == "Scale"
    assert raw_get(api_client, "/apis/apps")["preferredVersion"]["version"] == "v1"


def test_unknown_path_is_a_404_status(api_client):
    for path in ("/apis/nope.example.com/v1", "/api/v1/widgets", "/what"):
        code, _, data = raw(api_client, "GET", path)
        assert code == 404
        assert json.loads(data) == {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": "the server could not find the requested resource",
            "reason": "NotFound",
            "details": {},
            "code": 404,
        }


def test_dynamic_client_discovers_kinds(api_client, namespace):
    dynamic = DynamicClient(api_client)
    secrets = dynamic.resources.get(api_version="v1", kind="Secret")
    secrets.create(body={"metadata": {"name": "s"}, "stringData": {"a": "b"}}, namespace=namespace)
    assert secrets.get(name="s", namespace=namespace).data.a == "Yg=="
    hpa = dynamic.resources.get(api_version="autoscaling/v2", kind="HorizontalPodAutoscaler")
    assert hpa.namespaced
