"""Helpers shared by the sandbox conformance tests."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from kubernetes import client

from tests import helpers

T = TypeVar("T")
# Multiplies every wait; the conftest raises it on a real cluster, which is slower.
PATIENCE = 1.0


def wait_for(condition: Callable[[], T], timeout: float = 3.0) -> T:
    """The sandbox answers within milliseconds: poll often, give up soon (later on a real
    cluster: PATIENCE)."""
    return helpers.wait_for(condition, timeout * PATIENCE, interval=0.01)


def raw(
    api_client: client.ApiClient,
    method: str,
    path: str,
    body: Any = None,
    *,
    content_type: str | None = None,
    query: list[tuple[str, str]] | None = None,
    auth: bool = True,
    accept: str = "application/json",
) -> tuple[int, dict[str, str], bytes]:
    """One request through the client's own transport, without raising on errors."""
    headers = {"Accept": accept}
    if content_type:
        headers["Content-Type"] = content_type
    response = api_client.call_api(
        *api_client.param_serialize(
            method,
            path,
            query_params=query or [],
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"] if auth else [],
        )
    )
    response.read()
    return response.status, dict(response.headers), response.data


def status_of(exc: client.ApiException) -> dict[str, Any]:
    """The Status body of a failed call."""
    return json.loads(exc.body)


def deployment(
    name: str = "web", replicas: int = 2, image: str = "nginx:1.27", **annotations: str
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": {"app": name}}
    if annotations:
        meta["annotations"] = annotations
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta,
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "containers": [
                        {"name": "app", "image": image, "ports": [{"containerPort": 8080}]},
                    ]
                },
            },
        },
    }


def apply(
    api: client.AppsV1Api,
    body: dict[str, Any],
    namespace: str,
    *,
    manager: str = "hangar",
    force: bool = True,
) -> Any:
    """Server-side apply the way Hangar calls it: the typed client with the apply content type."""
    return api.patch_namespaced_deployment(
        body["metadata"]["name"],
        namespace,
        body,
        field_manager=manager,
        force=force,
        _content_type="application/apply-patch+yaml",
    )
