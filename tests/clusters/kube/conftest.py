"""The cluster the adapter tests talk to: the sandbox emulator by default, and also a real
cluster when KUBECONFIG is set (`KUBECONFIG=~/.kube/config pytest -m cluster`)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from clusters.kube.applied import Applied
from clusters.kube.client import KubeClient
from clusters.kube.transport import RetryPolicy, Transport, build_api_client
from clusters.sandbox import SandboxCluster

FAST_RETRY = RetryPolicy(attempts=4, deadline=10.0, base_delay=0.05, max_delay=0.5)


def configmap_for(namespace: str, name: str = "app-config", **data: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/managed-by": "hangar"},
        },
        "data": data or {"SITE_ENVIRONMENT": "production"},
    }


class MemoryDigests:
    def __init__(self) -> None:
        self.data: dict[str, Applied] = {}

    def get(self, key: str) -> Applied | None:
        return self.data.get(key)

    def set(self, key: str, record: Applied) -> None:
        self.data[key] = record

    def set_many(self, records: Mapping[str, Applied]) -> None:
        self.data.update(records)

    def forget(self, key: str) -> None:
        self.data.pop(key, None)

    def forget_many(self, keys: list[str]) -> None:
        for key in keys:
            self.forget(key)

    def forget_namespace(self, namespace: str) -> None:
        for key in self.keys(namespace):
            del self.data[key]

    def keys(self, namespace: str) -> set[str]:
        return {k for k in self.data if k.split("/")[-2] == namespace}


@dataclass
class Target:
    kube: KubeClient
    sandbox: SandboxCluster | None
    namespaces: list[str] = field(default_factory=list)

    def namespace(self) -> str:
        """A fresh namespace, deleted after the test."""
        name = f"hangar-test-{uuid.uuid4().hex[:8]}"
        self.kube.apply(
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "hangar"}},
            }
        )
        self.namespaces.append(name)
        return name

    def cleanup(self) -> None:
        for name in self.namespaces:
            self.kube.delete("v1", "Namespace", name)


def _client(kubeconfig_text: str) -> KubeClient:
    return KubeClient(
        Transport(build_api_client(kubeconfig_text), retry=FAST_RETRY),
        digests=MemoryDigests(),
        sleep=lambda s: __import__("time").sleep(min(s, 0.5)),
    )


@contextmanager
def running_sandbox() -> Iterator[Target]:
    with SandboxCluster(
        token="adapter-test-token",
        rollout_delay=0.1,
        job_duration=0.1,
        namespace_deletion_delay=0.2,
    ) as sandbox:
        target = Target(_client(yaml.safe_dump(sandbox.kubeconfig())), sandbox)
        yield target
        target.cleanup()


@pytest.fixture(params=["sandbox", pytest.param("real", marks=pytest.mark.cluster)])
def target(request) -> Iterator[Target]:
    """Tests using this run against the sandbox, and against KUBECONFIG's cluster too."""
    if request.param == "real":
        path = os.environ.get("KUBECONFIG")
        if not path:
            pytest.skip("KUBECONFIG is not set: no real cluster to test against")
        target = Target(_client(Path(path).expanduser().read_text()), None)
        yield target
        target.cleanup()
    else:
        with running_sandbox() as target:
            yield target


@pytest.fixture
def sandbox_target() -> Iterator[Target]:
    """For tests that need the sandbox's fault injection or request log."""
    with running_sandbox() as target:
        yield target
