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
    assert (
        goals["fleet image update vs raw apply + slowest rollout (time ratio)"]["measured"] == 1.0
    )


def fleet_phase(seconds: float, first: float, last: float, cpu: float, verbs: dict) -> dict:
    return {
        "seconds": seconds,
        "first_write_seconds": first,
        "last_write_seconds": last,
        "cpu": {"tool_cpu_seconds": cpu, "emulator_cpu_seconds": cpu / 10},
        "requests": {"writes": verbs.get("PATCH", 0), "by_method": verbs},
    }


def endpoint(**figures: float) -> dict:
    found = {"p50_ms": 1.0, "p99_ms": 50.0, "requests_per_second": 100.0, "non_2xx": 0}
    return {**found, "socket_errors": 0, **figures}


def test_every_tool_is_reported_side_by_side_and_each_goal_from_its_figures():
    """Ansible applied 4 of the 10 environments: its own rate, the projection labelled;
    each tool's first and last write, CPU and verbs per phase; goals computed, and a goal
    whose figure the run did not measure says so."""
    report = load("report")
    hangar = {
        "provision": fleet_phase(30.0, 1.0, 12.0, 9.5, {"GET": 10, "PATCH": 120}),
        "image update": fleet_phase(20.0, 0.5, 6.0, 4.25, {"GET": 10, "PATCH": 20}),
        "no-op re-deploy": fleet_phase(0.4, 0.0, 0.0, 0.75, {"GET": 5}),
    }
    raw = {phase: fleet_phase(10.0, 0.0, 9.75, 3.0, {"PATCH": 120}) for phase in hangar}
    ansible = {
        phase: {**fleet_phase(40.0, 1.0, 39.0, 88.0, {"GET": 48, "PATCH": 48}),
                "environments": 4, "seconds_per_environment": 10.0, "projected_seconds": 100.0}
        for phase in hangar
    }  # fmt: skip
    results = {
        "fleet": {
            "environments": 10, "latency_seconds": 0.005, "concurrency": 8,
            "poll_seconds": 0.25, "objects": {"total": 120},
            "workers": {"processes": 2, "pool": "threads", "concurrency_each": 4},
            "hangar": {"phases": hangar, "rollout_seconds": [3.0, 5.0]},
            "raw": {"phases": raw},
            "ansible": {"phases": ansible, "forks": 8, "environments": 10,
                        "environments_measured": 4, "projected": True},
        },
        "api": {
            "seed": {"rows": {"environments": 15, "operations": 20, "operation events": 40,
                              "environment usage days": 300}},
            "endpoints": {
                "dashboard (client owner)": endpoint(p95_ms=30.0, p95_vs_raw=2.5),
                "environments: detail": endpoint(p95_ms=9.0, p95_vs_raw=2.25),
            },
        },
    }  # fmt: skip
    text = report.render(results)
    table = text.split("\n| image update ")[1].split("\n\n")[0].splitlines()[2:]
    split = ([cell.strip() for cell in line.strip("|").split("|")] for line in table)
    image_update = {cells[0]: cells[1:] for cells in split}
    # environments, seconds, first write, last write, waiting after it, the tool's CPU, the
    # API server's, the requests by verb
    assert image_update["Hangar fleet deploy"] == [
        "10", "20.00", "0.50", "6.00", "14.00", "4.25", "0.42", "GET 10 PATCH 20"
    ]  # fmt: skip
    assert image_update["raw apply, 8-way"][:6] == ["10", "10.00", "0.00", "9.75", "0.25", "3.00"]
    assert image_update["Ansible kubernetes.core.k8s"][:2] == ["4", "40.00"]
    assert "measured on 4 of 10 environments; 10 PROJECTED" in text

    goals = {g["goal"]: g for g in report.goals(results)}
    assert goals["fleet image update vs raw apply + slowest rollout (time ratio)"][
        "measured"
    ] == pytest.approx(20.0 / 15.0)
    assert goals["fleet image update: last write vs raw apply (time ratio)"]["met"] is True
    assert goals["no-op re-deploy reads per environment"]["measured"] == 0.5
    assert goals["no-op re-deploy seconds (10 environments)"]["met"] is True
    assert goals["first provisioning vs raw apply (time ratio)"]["met"] is False
    measured = goals["Ansible measured, not extrapolated (environments applied)"]
    assert (measured["measured"], measured["met"]) == (4, False)  # fewer than min(40, 10)
    # per environment: Ansible 10 s each, Hangar 2 s each
    assert goals["faster than Ansible (x, per environment)"]["measured"] == 5.0
    assert goals["owner dashboard: p95 vs its baseline"]["met"] is True
    assert goals["detail pages: p95 vs raw baseline (worst)"]["met"] is False
    staff = goals["staff dashboard p95 (ms)"]
    assert (staff["measured"], staff["met"]) == (None, None)
    assert "| staff dashboard p95 (ms)" in text and "not measured" in text
