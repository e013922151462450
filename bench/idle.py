"""The Kubernetes API emulator at rest: CPU it spends holding N environments, no requests.

    .venv/bin/python bench/idle.py --environments 0,40,200 --seconds 10

One emulator process (bench/sandbox.py, no added latency) is filled in-process with the
objects of N environments (bench/sandbox.py's `environment_objects`: namespace, Deployment
and its ReplicaSet and pod, Service, Ingress, ConfigMap, Secret, quota, limits, network
policy, disruption budget, one CronJob in five), left until every rollout is complete, then
watched for `--seconds` without a request: its user + system CPU time over that span, as a
share of one core. Sizes grow in one process (the next size adds environments to the last).
`make run` and the tests run the same emulator, so this is what a developer's idle sandbox
costs. See docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common


def options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--environments",
        default=os.environ.get("BENCH_IDLE_ENVS", "0,40,200"),
        help="comma-separated sizes, ascending",
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=float(os.environ.get("BENCH_IDLE_SECONDS", "10")),
        help="how long to watch each size",
    )
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    return parser.parse_args()


def measure(emulator: common.Sandbox, seconds: float) -> dict[str, Any]:
    before, started = emulator.cpu_seconds(), time.perf_counter()
    load_before = os.getloadavg()[0]
    time.sleep(seconds)
    used, span = emulator.cpu_seconds() - before, time.perf_counter() - started
    return {
        "cpu_seconds": round(used, 3),
        "span_seconds": round(span, 2),
        "core_percent": round(100 * used / span, 3),
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


def main() -> int:
    args = options()
    sizes = sorted(int(n) for n in args.environments.split(",") if n.strip())
    runs: dict[str, Any] = {}
    with common.sandbox(0.0) as emulator:
        for size in sizes:
            filled = emulator.populate(size)
            settled = emulator.settle()
            time.sleep(1.0)  # let the last writes' wake-ups pass
            found = measure(emulator, args.seconds)
            found.update(
                fill_seconds=round(filled["seconds"], 2),
                settle_seconds=round(settled["seconds"], 2),
                objects=sum(emulator.objects().values()),
            )
            runs[str(size)] = found
            common.log(
                f"idle emulator, {size} environments ({found['objects']} objects): "
                f"{found['core_percent']:.2f}% of a core over {found['span_seconds']:.0f}s "
                f"(load average {found['load_average']})"
            )
    result = {"seconds_watched": args.seconds, "runs": runs}
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    else:
        print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
