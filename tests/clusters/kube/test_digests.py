"""The database-backed digest store: remembers what was applied, in few queries."""

from __future__ import annotations

import pytest

from clusters.kube.applied import Applied
from clusters.kube.client import path_key
from clusters.kube.digests import DatabaseDigestStore
from clusters.models import AppliedObject

pytestmark = pytest.mark.django_db


def keys(namespace: str) -> list[str]:
    return [
        path_key("v1", "ConfigMap", "app-config", namespace),
        path_key("apps/v1", "Deployment", "web", namespace),
        path_key("networking.k8s.io/v1", "Ingress", "web", namespace),
    ]


def test_digests_persist_and_update(cluster):
    store = DatabaseDigestStore(cluster)
    first, second, _ = keys("acme-www-prod")
    assert store.get(first) is None
    store.set(first, Applied("a" * 64))
    store.set(second, Applied("b" * 64))
    store.set(first, Applied("c" * 64))  # an upsert, not a second row
    assert AppliedObject.objects.filter(cluster=cluster).count() == 2
    fresh = DatabaseDigestStore(cluster)
    assert fresh.get(first) == Applied("c" * 64) and fresh.get(second) == Applied("b" * 64)
    assert AppliedObject.objects.get(key=first).namespace == "acme-www-prod"
    fresh.forget(first)
    assert fresh.get(first) is None and DatabaseDigestStore(cluster).get(first) is None


def test_a_namespace_is_read_in_one_query(cluster, django_assert_num_queries):
    for key in keys("acme-www-prod") + keys("acme-www-dev"):
        DatabaseDigestStore(cluster).set(key, Applied("d" * 64))
    store = DatabaseDigestStore(cluster)
    with django_assert_num_queries(1):
        assert [store.get(key) for key in keys("acme-www-prod")] == [Applied("d" * 64)] * 3
        assert store.get(path_key("v1", "Secret", "app-env", "acme-www-prod")) is None
    with django_assert_num_queries(1):  # a write is one upsert, and is seen at once
        store.set(keys("acme-www-prod")[0], Applied("e" * 64))
    with django_assert_num_queries(0):
        assert store.get(keys("acme-www-prod")[0]) == Applied("e" * 64)
    with django_assert_num_queries(1):  # a batch's records too (issue 23)
        store.set_many({key: Applied("f" * 64) for key in keys("acme-www-prod")})
    with django_assert_num_queries(0):
        assert [store.get(key) for key in keys("acme-www-prod")] == [Applied("f" * 64)] * 3


def test_a_cluster_scoped_record_is_read_once(cluster, django_assert_num_queries):
    namespace = path_key("v1", "Namespace", "acme-www-prod", None)
    store = DatabaseDigestStore(cluster)
    with django_assert_num_queries(1):
        assert store.get(namespace) is None and store.get(namespace) is None
    store.set(namespace, Applied("j" * 64))
    with django_assert_num_queries(0):
        assert store.get(namespace) == Applied("j" * 64)
    store.forget(namespace)
    with django_assert_num_queries(0):
        assert store.get(namespace) is None
    assert DatabaseDigestStore(cluster).get(namespace) is None


def test_cluster_scoped_objects_and_forgetting_namespaces(cluster):
    store = DatabaseDigestStore(cluster)
    namespace = path_key("v1", "Namespace", "acme-www-prod", None)
    store.set(namespace, Applied("f" * 64))
    assert store.get(namespace) == Applied("f" * 64)
    for key in keys("acme-www-prod"):
        store.set(key, Applied("g" * 64))
    store.forget_namespace("acme-www-prod")
    assert all(store.get(key) is None for key in keys("acme-www-prod"))
    assert DatabaseDigestStore(cluster).get(keys("acme-www-prod")[1]) is None
    assert store.get(namespace) == Applied("f" * 64)  # the Namespace itself is forgotten on delete


def test_a_record_keeps_what_the_server_answered(cluster):
    live = {"metadata": {"uid": "u-1", "resourceVersion": "42", "generation": 3}}
    record = Applied.confirmed("h" * 64, live)
    key = keys("acme-www-prod")[1]
    DatabaseDigestStore(cluster).set(key, record)
    assert DatabaseDigestStore(cluster).get(key) == Applied("h" * 64, "u-1", "42", 3)
    # Same object, same spec: status writes (a new resourceVersion) do not matter.
    assert record.matches({"metadata": {"uid": "u-1", "resourceVersion": "50", "generation": 3}})
    # A spec change (kubectl set image), or the object deleted and made again: no match.
    assert not record.matches(
        {"metadata": {"uid": "u-1", "resourceVersion": "51", "generation": 4}}
    )
    assert not record.matches({"metadata": {"uid": "u-2", "resourceVersion": "1", "generation": 3}})
    assert not record.matches(None)
    # Kinds without a generation compare resourceVersions.
    plain = Applied.confirmed("i" * 64, {"metadata": {"uid": "u-3", "resourceVersion": "7"}})
    assert plain.matches({"metadata": {"uid": "u-3", "resourceVersion": "7"}})
    assert not plain.matches({"metadata": {"uid": "u-3", "resourceVersion": "8"}})
