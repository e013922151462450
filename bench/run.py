"""`make bench`: every benchmark in one run on one machine, side by side with the
alternatives; JSON under bench/results/ and the tables on stdout. See docs/performance.md.

    .venv/bin/python bench/run.py                       # everything (~15 min on 2 cores)
    .venv/bin/python bench/run.py --only fleet,api      # some parts
    .venv/bin/python bench/run.py --quick               # small sizes, to try the harness

Parts, each a process of its own with a database of its own (created and dropped):

- billing  bench/billing.py   a month of invoices for 1,000 clients x 10 environments
- fleet    bench/fleet.py     provisioning, a new base image and a no-op re-deploy on N
                              environments: Hangar, raw apply, kubectl, Ansible, the bound
- memory   bench/fleet.py     the fleet rollout again with 10x the environments (Hangar
                              only), for the workers' peak RSS against the fleet part's
- api      bench/api.py       gunicorn + wrk on list/detail endpoints and the dashboard over
                              agency volumes (bench_seed), against raw values() baselines
- idle     bench/idle.py      the emulator's CPU at rest holding 0, 40 and 200 environments
                              (no requests): a share of one core
- soak     bench/soak.py      fleet deploys on 100 environments under faults (5xx, 429,
                              timeouts, lost answers, a worker killed, the broker down,
                              PostgreSQL restarted, the API server's state lost): false
                              successes, stalls, time to converge (docs/reliability.md)

Sizes come from the environment (BENCH_FLEET_ENVS=200, BENCH_MEMORY_ENVS=2000,
BENCH_LATENCY=0.005, BENCH_ANSIBLE_ENVS=40, BENCH_CLIENTS=1000, BENCH_API_SECONDS=10, ...;
see each part's --help). Benchmarks are not tests: nothing here fails on a slow figure.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common, report

RESULTS = common.BENCH / "results"
PARTS = ("billing", "fleet", "memory", "api", "idle", "soak")
QUICK = {
    "BENCH_CLIENTS": "50",
    "BENCH_OPERATIONS": "5000",
    "BENCH_USAGE_DAYS": "30",
    "BENCH_API_SECONDS": "3",
    "BENCH_FLEET_ENVS": "20",
    "BENCH_MEMORY_ENVS": "60",
    "BENCH_ANSIBLE_ENVS": "8",
    "BENCH_SOAK_ENVS": "20",
    "BENCH_SOAK_PACE": "0.4",
    "BENCH_IDLE_ENVS": "0,20",
    "BENCH_IDLE_SECONDS": "3",
}


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def wait_until_quiet(limit: float, seconds: float) -> dict[str, Any]:
    """Other work on the machine skews every figure: wait (a while) for it to calm down."""
    started = time.monotonic()
    while os.getloadavg()[0] > limit and time.monotonic() - started < seconds:
        time.sleep(5)
    return {"waited_seconds": round(time.monotonic() - started), "load": load()}


def run_part(name: str, command: list[str], env: dict[str, str], timeout: float) -> dict:
    """Run one part in a process of its own; its JSON, or what went wrong."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        out = Path(handle.name)
    print(f"\n== {name} (load average {load()})", flush=True)
    before = load()
    started = time.perf_counter()
    try:
        done = subprocess.run(  # noqa: S603
            [*command, "--json", str(out)], cwd=common.ROOT, env=env, timeout=timeout,
            stdout=sys.stdout, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        if done.returncode != 0 or not out.stat().st_size:
            return {"error": f"exit {done.returncode}: {done.stderr.strip()[-1500:]}"}
        found = json.loads(out.read_text())
    except subprocess.TimeoutExpired:
        return {"error": f"did not finish within {timeout:.0f}s"}
    finally:
        out.unlink(missing_ok=True)
    found["wall_seconds"] = time.perf_counter() - started
    found["load_average"] = {"before": before, "after": load()}
    print(f"   ({name}: {found['wall_seconds']:.0f}s)", flush=True)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", default=",".join(PARTS), help=f"some of {', '.join(PARTS)}")
    parser.add_argument("--quick", action="store_true", help="small sizes (tries the harness)")
    parser.add_argument(
        "--quiet-load", type=float, default=float(os.environ.get("BENCH_QUIET_LOAD", "1.5")),
        help="wait for the 1-minute load average to drop below this first",
    )  # fmt: skip
    parser.add_argument(
        "--quiet-wait", type=float, default=float(os.environ.get("BENCH_QUIET_WAIT", "120")),
        help="seconds to wait for that at most",
    )  # fmt: skip
    parser.add_argument("--out", type=Path, default=None, help="results file (default: dated)")
    parser.add_argument(
        "--write-docs", action="store_true", help="put the tables into docs/performance.md"
    )
    args = parser.parse_args()
    only = [part for part in args.only.split(",") if part]
    unknown = set(only) - set(PARTS)
    if unknown:
        parser.error(f"unknown parts: {', '.join(sorted(unknown))}")
    env = {**os.environ, **(QUICK if args.quick else {})}
    env["PYTHONPATH"] = str(common.ROOT)
    started = time.perf_counter()
    stamp = datetime.datetime.now(datetime.UTC)
    results: dict[str, Any] = {
        "started_at": stamp.isoformat(timespec="seconds"),
        "quick": args.quick,
        "machine": common.machine(),
    }
    print("Machine:", json.dumps(results["machine"]), flush=True)
    quiet = wait_until_quiet(args.quiet_load, args.quiet_wait)
    results["load"] = {"before": quiet["load"], "waited_for_quiet_seconds": quiet["waited_seconds"]}
    print(f"Load average: {quiet['load']} (waited {quiet['waited_seconds']}s)", flush=True)
    python = common.PYTHON
    fleet_envs = env.get("BENCH_FLEET_ENVS", "200")
    memory_envs = env.get("BENCH_MEMORY_ENVS", "2000")
    if "billing" in only:
        clients = env.get("BENCH_BILLING_CLIENTS", "50" if args.quick else "1000")
        results["billing"] = run_part(
            "billing", [python, "bench/billing.py"], {**env, "BENCH_CLIENTS": clients}, 900
        )
    if "fleet" in only or "memory" in only:
        every = os.environ.get("BENCH_FLEET_ONLY", "hangar,raw,kubectl,ansible")
        parts = every if "fleet" in only else "hangar"
        results["fleet"] = run_part(
            "fleet", [python, "bench/fleet.py", "--environments", fleet_envs, "--only", parts],
            env, 3600,  # Ansible's 40 environments take minutes on a busy machine
        )  # fmt: skip
    if "memory" in only:
        big = run_part(
            "memory",
            [python, "bench/fleet.py", "--environments", memory_envs, "--only", "hangar",
             "--phases", "provision,image update", "--database", "hangar_bench_memory"],
            env, 3600,
        )  # fmt: skip
        runs: dict[str, Any] = {}
        if not results["fleet"].get("error"):
            runs[fleet_envs] = {**results["fleet"]["hangar"], "note": "the fleet part's run"}
        if big.get("error"):
            results["memory"] = {"error": big["error"], "runs": runs}
        else:
            runs[memory_envs] = {**big["hangar"], "note": "same settings, 10x the environments"}
            results["memory"] = {"runs": runs, "settings": {
                k: big.get(k) for k in ("latency_seconds", "concurrency", "workers")}}  # fmt: skip
    if "api" in only:
        results["api"] = run_part("api", [python, "bench/api.py"], env, 1800)
    if "idle" in only:
        results["idle"] = run_part("idle", [python, "bench/idle.py"], env, 900)
    if "soak" in only:
        results["soak"] = run_part("soak", [python, "bench/soak.py"], env, 1500)
    results["load"]["after"] = load()
    results["seconds"] = time.perf_counter() - started
    results["goals"] = report.goals(results)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = args.out or RESULTS / f"{stamp:%Y-%m-%dT%H%M%SZ}{'-quick' if args.quick else ''}.json"
    text = json.dumps(results, indent=2, default=str)
    out.write_text(text)
    (RESULTS / "latest.json").write_text(text)
    rendered = report.render(results)
    (RESULTS / "latest.md").write_text(rendered)
    print("\n" + rendered)
    print(f"results: {out.relative_to(common.ROOT) if out.is_relative_to(common.ROOT) else out}")
    if args.write_docs:
        if only != ["soak"]:  # the soak alone leaves docs/performance.md's table be
            write_docs(rendered)
        if isinstance(results.get("soak"), dict) and "cluster" in results["soak"]:
            write_soak_docs(report.soak_section(results["soak"]), out)
    return 0


def write_docs(rendered: str) -> None:
    """Replace the table between the markers of docs/performance.md."""
    _between_markers("performance.md", "bench:results", f"```text\n{rendered}```")


def write_soak_docs(rendered: str, source: Path) -> None:
    """The soak's table into docs/reliability.md, between its markers."""
    name = source.relative_to(common.ROOT) if source.is_relative_to(common.ROOT) else source
    _between_markers("reliability.md", "soak:results", f"```text\n{rendered}\n```\n\n({name})")


def _between_markers(doc: str, marker: str, body: str) -> None:
    path = common.ROOT / "docs" / doc
    start, end = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
    text = path.read_text()
    if start not in text or end not in text:
        print(f"docs/{doc} has no {marker} markers; left alone")
        return
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    path.write_text(f"{head}{start}\n\n{body}\n\n{end}{tail}")


if __name__ == "__main__":
    sys.exit(main())
