"""The Kubernetes API emulator in a process of its own, with a fixed latency per request.

    python bench/sandbox.py --port 0 --latency 0.005

Prints one line ``ready <url>`` once listening, then answers commands on stdin, one per
line, with one line of JSON on stdout:

    stats   requests received since the last reset: by HTTP method, writes, applies
    reset   forget the requests received so far
    objects how many objects of each kind it holds
    quit    stop

A process of its own, so the emulator's own CPU time (it is Python too) does not share a
GIL with the harness or the tools being measured.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from clusters.sandbox import SandboxCluster, cert_manager_crds

APPLY = "application/apply-patch+yaml"


def stats(sandbox: SandboxCluster) -> dict:
    records = list(sandbox.requests)
    methods = Counter(r.method for r in records)
    statuses = Counter(str(r.status) for r in records)
    return {
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
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    sandbox = SandboxCluster(
        args.host,
        args.port,
        rollout_delay=args.rollout_delay,
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
            elif command == "quit":
                break
            else:
                answer = {"error": f"unknown command {command!r}"}
            print(json.dumps(answer), flush=True)
    finally:
        sandbox.stop()


if __name__ == "__main__":
    main()
