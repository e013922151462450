"""``watch=true`` streams, through the client's own Watch helper."""

from __future__ import annotations

import threading

from kubernetes import watch


def test_watch_sees_initial_state_and_changes(core, namespace):
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "a"}})

    def later():
        core.create_namespaced_config_map(namespace, {"metadata": {"name": "b"}})
        core.patch_namespaced_config_map("b", namespace, {"data": {"k": "v"}})
        core.delete_namespaced_config_map("b", namespace)

    seen = []
    stream = watch.Watch().stream(
        core.list_namespaced_config_map,
        namespace,
        timeout_seconds=2,
        field_selector="metadata.name!=kube-root-ca.crt",
    )
    for event in stream:
        seen.append((event["type"], event["object"].metadata.name))
        if len(seen) == 1:
            threading.Thread(target=later).start()
        if len(seen) == 4:
            break
    assert seen == [("ADDED", "a"), ("ADDED", "b"), ("MODIFIED", "b"), ("DELETED", "b")]


def test_watch_from_resource_version_and_selector(core, namespace):
    listed = core.list_namespaced_config_map(namespace)
    core.create_namespaced_config_map(
        namespace, {"metadata": {"name": "x", "labels": {"app": "web"}}}
    )
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "y"}})
    # Leaving the selector looks like a deletion to the watcher.
    core.patch_namespaced_config_map("x", namespace, {"metadata": {"labels": {"app": "db"}}})
    events = []
    for event in watch.Watch().stream(
        core.list_namespaced_config_map,
        namespace,
        label_selector="app=web",
        resource_version=listed.metadata.resource_version,
        timeout_seconds=2,
    ):
        events.append((event["type"], event["object"].metadata.name))
        if len(events) == 2:
            break
    # "y" never matched, so it would have come second had the selector leaked.
    assert events == [("ADDED", "x"), ("DELETED", "x")]
