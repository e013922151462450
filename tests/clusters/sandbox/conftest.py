"""Fixtures for the sandbox conformance tests: a running sandbox and official clients on it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kubernetes import client, config

from clusters.sandbox import SandboxCluster

TOKEN = "sandbox-test-token"


@pytest.fixture
def sandbox() -> Iterator[SandboxCluster]:
    # Short controller delays keep the whole directory fast; tests that care
    # about the timing set their own with annotations.
    with SandboxCluster(
        token=TOKEN, rollout_delay=0.05, job_duration=0.05, namespace_deletion_delay=0.1
    ) as running:
        yield running


@pytest.fixture
def api_client(sandbox: SandboxCluster) -> Iterator[client.ApiClient]:
    api = config.new_client_from_config_dict(sandbox.kubeconfig())
    yield api
    api.close()


@pytest.fixture
def core(api_client: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api_client)


@pytest.fixture
def apps(api_client: client.ApiClient) -> client.AppsV1Api:
    return client.AppsV1Api(api_client)


@pytest.fixture
def batch(api_client: client.ApiClient) -> client.BatchV1Api:
    return client.BatchV1Api(api_client)


@pytest.fixture
def namespace(core: client.CoreV1Api) -> str:
    core.create_namespace({"metadata": {"name": "shop"}})
    return "shop"
