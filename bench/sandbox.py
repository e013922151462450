"""The Kubernetes API emulator in a process of its own, with a fixed latency per request.

    python bench/sandbox.py --port 0 --latency 0.005

Prints one line ``ready <url>`` once listening, then answers commands on stdin, one per
line, with one line of JSON on stdout:

    stats   requests received since the last reset: by HTTP method, writes, applies
    reset   forget the requests received so far
    objects how many objects of each kind it holds
    populate N      add environments (in-process, no requests) until it holds N of them
    settle  wait until every Deployment has rolled out; the seconds waited
    fault <json>    add a fault rule (the keyword arguments of Faults.add), for the soak
    clear-faults    remove every fault rule but the fixed latency
    lose-state      forget every object, as an API server whose etcd was lost
    quit    stop

A process of its own, so the emulator's own CPU time (it is Python too) does not share a
GIL with the harness or the tools being measured. It runs the emulator as shipped: its
store indexes objects by kind, namespace, owner and uid, its kinds are cached until a CRD
changes, and its controllers sleep until a write or a deadline concerns them, so its
bookkeeping is proportional to what changes, not to what it holds.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from clusters.sandbox import SandboxCluster, cert_manager_crds

APPLY = "application/apply-patch+yaml"
ENVIRONMENT_PREFIX = "bench-env-"


def environment_objects(index: int) -> list[dict[str, Any]]:
    """The kinds of objects one Hangar environment has, with small specs (for idle CPU)."""
    ns = f"{ENVIRONMENT_PREFIX}{index:05d}"
    labels = {"app": "site"}

    def obj(api_version: str, kind: str, name: str, **body: Any) -> dict[str, Any]:
        return {
            "apiVersion": api_version,
            "kind": kind,
            "metadata": {"name": name, "namespace": ns, "labels": dict(labels)},
            **body,
        }

    container = {"name": "web", "image": "nginx:1.27", "ports": [{"containerPort": 80}]}
    found = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
        obj("v1", "ServiceAccount", "site"),
        obj("v1", "ConfigMap", "site-config", data={"SITE": ns}),
        obj("v1", "Secret", "site-secrets", type="Opaque", stringData={"KEY": "x"}),
        obj("v1", "ResourceQuota", "quota", spec={"hard": {"pods": "10"}}),
        obj("v1", "LimitRange", "limits",
            spec={"limits": [{"type": "Container", "default": {"memory": "256Mi"}}]}),
        obj("networking.k8s.io/v1", "NetworkPolicy", "isolate",
            spec={"podSelector": {}, "policyTypes": ["Ingress"]}),
        obj("policy/v1", "PodDisruptionBudget", "site",
            spec={"minAvailable": 1, "selector": {"matchLabels": labels}}),
        obj("apps/v1", "Deployment", "site", spec={
            "replicas": 1, "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
        }),
        obj("v1", "Service", "site",
            spec={"selector": labels, "ports": [{"port": 80, "targetPort": 80}]}),
        obj("networking.k8s.io/v1", "Ingress", "site", spec={"rules": [{
            "host": f"{ns}.example.test", "http": {"paths": [{
                "path": "/", "pathType": "Prefix",
                "backend": {"service": {"name": "site", "port": {"number": 80}}}}]}}]}),
    ]  # fmt: skip
    if index % 5 == 0:
        found.append(
            obj("batch/v1", "CronJob", "backup", spec={
                "schedule": "0 3 * * *",
                "jobTemplate": {"spec": {"template": {"spec": {
                    "restartPolicy": "Never", "containers": [container]}}}},
            })
        )  # fmt: skip
    return found


def populate(sandbox: SandboxCluster, total: int) -> dict:
    """Add environments until there are ``total``; how many there are and how long it took."""
    started = time.perf_counter()
    have = sum(
        1
        for ns in sandbox.list_objects("v1", "Namespace")
        if ns["metadata"]["name"].startswith(ENVIRONMENT_PREFIX)
    )
    for index in range(have, total):
        for obj in environment_objects(index):
            sandbox.create_object(obj)
    return {"environments": max(have, total), "seconds": time.perf_counter() - started}


def settle(sandbox: SandboxCluster, timeout: float = 300.0) -> dict:
    """Wait until every Deployment reports its rollout complete."""
    started = time.perf_counter()

    def rolled_out() -> bool:
        for deployment in sandbox.list_objects("apps/v1", "Deployment"):
            desired = int((deployment.get("spec") or {}).get("replicas", 1))
            status = deployment.get("status") or {}
            if status.get("observedGeneration") != deployment["metadata"].get("generation"):
                return False
            if (status.get("updatedReplicas", 0), status.get("availableReplicas", 0)) != (
                desired,
                desired,
            ):
                return False
        return True

    sandbox.wait_until(rolled_out, timeout=timeout, interval=0.2)
    return {"seconds": time.perf_counter() - started}


def stats(sandbox: SandboxCluster) -> dict:
    records = list(sandbox.requests)
    methods = Counter(r.method for r in records)
    statuses = Counter(str(r.status) for r in records)
    writes = [r.at for r in records if r.is_write]
    return {
        # Wall-clock times (time.time()) of the first and last write since the reset.
        "first_write_at": min(writes, default=None),
        "last_write_at": max(writes, default=None),
        "requests": len(records),
        "by_method": dict(sorted(methods.items())),
        "writes": sum(1 for r in records if r.is_write),
        "applies": sum(
            1 for r in records if r.method == "PATCH" and r.content_type.startswith(APPLY)
        ),
        "by_status": dict(sorted(statuses.items())),
    }


def objects(sandbox: SandboxCluster) -> dict:
    counts: Counter[str] = Counter()
    for _group, plural, _ns, _name in list(sandbox.store._objects):
        counts[plural] += 1
    return dict(sorted(counts.items()))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.005)
    parser.add_argument("--rollout-delay", type=float, default=0.0)
    parser.add_argument(
        "--rollout-spread", type=float, default=0.0, help="up to this many seconds more each"
    )
    parser.add_argument("--token", default=None, help="require this bearer token")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    sandbox = SandboxCluster(
        args.host,
        args.port,
        token=args.token,
        rollout_delay=args.rollout_delay,
        rollout_spread=args.rollout_spread,
        nodes=[{"name": f"bench-node-{i}", "pool": "bench"} for i in range(3)],
        objects=cert_manager_crds(),
    )
    if args.latency > 0:
        sandbox.faults.add(latency=args.latency, times=None)
    sandbox.start()
    print(f"ready {sandbox.url}", flush=True)
    try:
        for line in sys.stdin:
            command = line.strip()
            if command == "stats":
                answer: dict = stats(sandbox)
            elif command == "reset":
                sandbox.requests.clear()
                answer = {"ok": True}
            elif command == "objects":
                answer = objects(sandbox)
            elif command.startswith("populate "):
                answer = populate(sandbox, int(command.split(" ", 1)[1]))
            elif command == "settle":
                answer = settle(sandbox)
            elif command.startswith("fault "):
                rule = sandbox.faults.add(**json.loads(command.split(" ", 1)[1]))
                answer = {"ok": True, "rule": repr(rule)}
            elif command == "clear-faults":
                for rule in sandbox.faults.rules:
                    if rule.times is not None or rule.status or rule.drop or rule.lose_answer:
                        sandbox.faults.remove(rule)
                answer = {"ok": True}
            elif command == "lose-state":
                answer = {"lost": sandbox.lose_state()}
            elif command == "quit":
                break
            else:
                answer = {"error": f"unknown command {command!r}"}
            print(json.dumps(answer), flush=True)
    finally:
        sandbox.stop()


if __name__ == "__main__":
    main()
