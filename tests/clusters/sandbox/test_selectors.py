"""Label and field selector semantics, operator by operator."""

from __future__ import annotations

import pytest
from kubernetes import client

from clusters.sandbox.selectors import SelectorError, parse_label_selector

from .helpers import status_of

LABELS = {
    "a": {"app": "web", "tier": "front", "env": "prod"},
    "b": {"app": "web", "tier": "back"},
    "c": {"app": "db", "env": "dev"},
    "d": {},
}


@pytest.fixture
def labelled(core, namespace):
    for name, labels in LABELS.items():
        core.create_namespaced_config_map(namespace, {"metadata": {"name": name, "labels": labels}})
    return namespace


def names(core, namespace, **kw):
    listed = core.list_namespaced_config_map(namespace, **kw).items
    return {i.metadata.name for i in listed} - {"kube-root-ca.crt"}


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("app=web", {"a", "b"}),
        ("app==web", {"a", "b"}),
        ("app!=web", {"c", "d"}),  # an absent key satisfies !=
        ("app in (web,db)", {"a", "b", "c"}),
        ("tier notin (front)", {"b", "c", "d"}),  # and notin
        ("env", {"a", "c"}),
        ("!env", {"b", "d"}),
        ("app=web,tier=back", {"b"}),
        ("app in (web), !env", {"b"}),
        ("", {"a", "b", "c", "d"}),
    ],
)
def test_label_selector_operators(core, labelled, selector, expected):
    assert names(core, labelled, label_selector=selector) == expected


def test_malformed_label_selector_is_400(core, labelled):
    with pytest.raises(client.ApiException) as caught:
        core.list_namespaced_config_map(labelled, label_selector="app in web")
    assert caught.value.status == 400
    assert status_of(caught.value)["reason"] == "BadRequest"
    assert status_of(caught.value)["message"].startswith("unable to parse requirement")


def test_field_selectors(core, labelled, other_namespace):
    assert names(core, labelled, field_selector="metadata.name=b") == {"b"}
    assert names(core, labelled, field_selector="metadata.name!=b") == {"a", "c", "d"}
    core.create_namespaced_config_map(other_namespace, {"metadata": {"name": "b"}})
    everywhere = core.list_config_map_for_all_namespaces(
        field_selector=f"metadata.namespace={labelled},metadata.name=b"
    )
    assert [(i.metadata.namespace, i.metadata.name) for i in everywhere.items] == [
        (labelled, "b"),
    ]


def test_unsupported_field_selector_is_400(core, labelled):
    with pytest.raises(client.ApiException) as caught:
        core.list_namespaced_config_map(labelled, field_selector="data.x=1")
    assert caught.value.status == 400
    assert status_of(caught.value)["message"] == "field label not supported: data.x"


def test_parser_unit():
    reqs = parse_label_selector("a=b, c notin (d, e),!f,g")
    assert [(r.key, r.op, r.values) for r in reqs] == [
        ("a", "=", ("b",)),
        ("c", "notin", ("d", "e")),
        ("f", "!", ()),
        ("g", "exists", ()),
    ]
    with pytest.raises(SelectorError):
        parse_label_selector("a=b=c")
