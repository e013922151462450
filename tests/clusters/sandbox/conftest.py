"""Fixtures for the emulator's behaviour tests: official clients on the sandbox (always) and
on KUBECONFIG's cluster too under `pytest -m cluster`, so that every behaviour the sandbox
claims is one a real API server can be checked against. Tests that drive the sandbox's own
controls (fault injection, access rules, kubelet states, request log) take the `sandbox`
fixture and are skipped on a real cluster."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from kubernetes import client, config

from clusters.sandbox import SandboxCluster

from . import helpers

TOKEN = "sandbox-test-token"
# A real cluster pulls images and schedules pods: its waits get this many times longer.
REAL_PATIENCE = 40.0


@pytest.fixture(params=["sandbox", pytest.param("real", marks=pytest.mark.cluster)])
def where(request) -> str:
    """ "sandbox" or "real": which API server the test's clients talk to."""
    if request.param == "real" and not os.environ.get("KUBECONFIG"):
        pytest.skip("KUBECONFIG is not set: no real cluster to test against")
    return request.param


@pytest.fixture
def sandbox(where: str) -> Iterator[SandboxCluster]:
    if where == "real":
        pytest.skip("drives the emulator's own controls, which a real cluster does not have")
    # Short controller delays keep the whole directory fast; tests that care
    # about the timing set their own with annotations.
    with SandboxCluster(
        token=TOKEN, rollout_delay=0.05, job_duration=0.05, namespace_deletion_delay=0.1
    ) as running:
        yield running


@pytest.fixture
def api_client(where: str, request) -> Iterator[client.ApiClient]:
    if where == "real":
        kubeconfig = yaml.safe_load(Path(os.environ["KUBECONFIG"]).expanduser().read_text())
        api = config.new_client_from_config_dict(kubeconfig)
        helpers.PATIENCE = REAL_PATIENCE
    else:
        api = config.new_client_from_config_dict(request.getfixturevalue("sandbox").kubeconfig())
    yield api
    helpers.PATIENCE = 1.0
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
def make_namespace(where: str, core: client.CoreV1Api) -> Iterator:
    """Creates namespaces ("shop", "other" on the sandbox; unique names on a shared real
    cluster), deleted after the test on a real cluster."""
    made: list[str] = []

    def make(name: str, labels: dict[str, str] | None = None) -> str:
        if where == "real":
            name = f"hangar-test-{name}-{uuid.uuid4().hex[:6]}"
        meta: dict = {"name": name}
        if labels:
            meta["labels"] = labels
        core.create_namespace({"metadata": meta})
        made.append(name)
        return name

    yield make
    if where == "real":
        for name in made:
            try:
                core.delete_namespace(name)
            except client.ApiException as exc:
                if exc.status != 404:
                    raise


@pytest.fixture
def namespace(make_namespace) -> str:
    return make_namespace("shop")


@pytest.fixture
def other_namespace(make_namespace) -> str:
    return make_namespace("other")
