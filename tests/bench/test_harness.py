"""Smoke tests of the benchmark harness: the emulator the benchmarks run (as shipped, no
bench-only bookkeeping) rolls out through its indexes, the idle part's environments settle,
and a results file renders into tables and goals."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def sandbox():
    from clusters.sandbox import SandboxCluster

    with SandboxCluster(rollout_delay=0.0) as running:
        yield running


def deployment(image: str) -> dict:
    labels = {"app": "web"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "bench"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "web", "image": image}]},
            },
        },
    }


def test_the_emulator_rolls_out_and_lists_through_its_indexes(sandbox):
    import kubernetes

    from clusters.kube.client import KubeClient
    from clusters.kube.transport import Transport

    configuration = kubernetes.client.Configuration()
    configuration.host = sandbox.url
    kube = KubeClient(Transport(kubernetes.client.ApiClient(configuration)))
    kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench"}})
    for image in ("example.com/web:1", "example.com/web:2"):
        kube.apply(deployment(image))
        status = kube.wait_rollout("bench", "web", timeout=5, poll=0.02)
        assert status.done
    pods = kube.list("v1", "Pod", "bench")
    assert len(pods) == 2  # the old ReplicaSet's pods are gone, through the owner index
    assert {p["spec"]["containers"][0]["image"] for p in pods} == {"example.com/web:2"}
    assert [n["metadata"]["name"] for n in kube.list("v1", "Namespace")][:1] == ["bench"]


def test_the_idle_parts_environments_settle(sandbox):
    bench_sandbox = load("sandbox")
    assert bench_sandbox.populate(sandbox, 3)["environments"] == 3
    assert bench_sandbox.populate(sandbox, 3)["environments"] == 3  # adds none the second time
    bench_sandbox.settle(sandbox, timeout=10)
    pods = sandbox.list_objects("v1", "Pod")
    assert sorted(p["metadata"]["namespace"] for p in pods) == [
        "bench-env-00000",
        "bench-env-00001",
        "bench-env-00002",
    ]


def test_a_results_file_renders_with_its_goals():
    report = load("report")
    phases = {
        "provision": {"seconds": 2.0, "requests": {"writes": 24, "by_method": {"PATCH": 24}}},
        "image update": {"seconds": 1.0, "requests": {"writes": 2, "by_method": {"PATCH": 2}}},
        "no-op re-deploy": {"seconds": 0.5, "requests": {"writes": 0, "by_method": {"GET": 4}}},
    }
    results = {
        "machine": {"cores": 2},
        "fleet": {
            "environments": 2, "latency_seconds": 0.005, "concurrency": 8, "poll_seconds": 0.25,
            "workers": {"processes": 1, "pool": "threads", "concurrency_each": 8},
            "hangar": {"phases": phases}, "raw": {"phases": phases},
            "kubectl": {"unavailable": "no apt-get here"},
            "bound": {"image update": {"writes": 2, "seconds": 0.00125}},
        },
        "idle": {"runs": {"0": {"objects": 21, "core_percent": 0.0},
                          "200": {"objects": 3461, "core_percent": 0.4}}},
    }  # fmt: skip
    text = report.render(results)
    assert "Hangar fleet deploy" in text and "no apt-get here" in text
    goals = {g["goal"]: g for g in report.goals(results)}
    assert goals["no-op re-deploy writes"]["met"] is True
    assert goals["idle emulator CPU at 200 environments (% of a core)"]["met"] is True
    assert "The emulator at rest" in text
    assert goals["fleet image update vs raw 8-way apply (time ratio)"]["measured"] == 1.0
