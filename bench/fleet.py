"""Fleet rollout: provision N environments on the emulator, deploy a new base image to all of
them with Hangar's fleet deploy (real Celery workers on Redis), deploy it again (a no-op),
and do the same with the alternatives, in the same run, each on a fresh emulator:

- raw apply: the official client applying every object 8-way in parallel (a reference: no
  database, no engine, no skipping);
- kubectl apply --server-side -f (Debian's kubernetes-client), one process, and 8 at once;
- Ansible's kubernetes.core.k8s module, as Flight Deck Cluster deploys (one k8s task per
  object, one host per environment, forks = the concurrency), really applying 40 of them
  (--ansible-environments), last and alone;
- the bound: writes that must happen x latency / allowed concurrency.

    python bench/fleet.py --environments 200 --json out.json

Run by bench/run.py; a process of its own, because Django's settings (the database, the
broker) are set up once per process.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common
from bench.common import log

IMAGE_V1 = "registry.example.com/agency/web:2025.1"
IMAGE_V2 = "registry.example.com/agency/web:2025.2-security"
SITES_PER_CLIENT = 5


def options() -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--environments", type=int, default=int(env("BENCH_FLEET_ENVS", "200")))
    parser.add_argument("--latency", type=float, default=float(env("BENCH_LATENCY", "0.005")))
    parser.add_argument(
        "--concurrency", type=int, default=int(env("BENCH_FLEET_CONCURRENCY", "8")),
        help="Cluster.max_concurrent_operations, and the alternatives' parallelism",
    )  # fmt: skip
    parser.add_argument("--workers", type=int, default=int(env("BENCH_WORKERS", "2")))
    parser.add_argument("--pool", default=env("BENCH_WORKER_POOL", "threads"))
    parser.add_argument(
        "--worker-concurrency", type=int, default=int(env("BENCH_WORKER_CONCURRENCY", "16")),
        help="threads per worker: more in all than the cluster's limit, for the waiting",
    )  # fmt: skip
    parser.add_argument("--poll-seconds", default=env("BENCH_POLL_SECONDS", "0.25"))
    parser.add_argument(
        "--rollout-seconds", type=float, default=float(env("BENCH_ROLLOUT_SECONDS", "0")),
        help="how long the emulator's rollouts take (Hangar's run; 0: at once)",
    )  # fmt: skip
    parser.add_argument(
        "--rollout-spread", type=float, default=float(env("BENCH_ROLLOUT_SPREAD", "0")),
        help="up to this many seconds more per rollout, varying from one to the next",
    )  # fmt: skip
    parser.add_argument("--sweep-seconds", type=float, default=30.0)
    parser.add_argument(
        "--only", default=env("BENCH_FLEET_ONLY", "hangar,raw,kubectl,ansible"),
        help="comma-separated: hangar, raw, kubectl, ansible",
    )  # fmt: skip
    parser.add_argument(
        "--ansible-environments", type=int, default=int(env("BENCH_ANSIBLE_ENVS", "40")),
        help="environments Ansible really applies (0: all); its per-environment rate is "
        "reported, and a projection to all of them only labelled as one",
    )  # fmt: skip
    parser.add_argument(
        "--phases", default="provision,image update,no-op re-deploy",
        help="Hangar's phases to run (provisioning always runs)",
    )  # fmt: skip
    parser.add_argument("--database", default="hangar_bench_fleet")
    parser.add_argument("--json", type=Path, default=None)
    return parser.parse_args()


# --- Hangar ------------------------------------------------------------------------------


class Sweeper(threading.Thread):
    """What celery beat does in production: the sweeper every HANGAR_SWEEP_SECONDS."""

    def __init__(self, seconds: float) -> None:
        super().__init__(daemon=True, name="bench-sweeper")
        self.seconds = seconds
        self.stopping = threading.Event()
        self.runs = 0

    def run(self) -> None:
        from django.db import connection

        from clusters.engine.sweeper import sweep

        try:
            while not self.stopping.wait(self.seconds):
                sweep()
                self.runs += 1
        finally:
            connection.close()

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=10)


class MemorySampler(threading.Thread):
    """Samples the RSS of every worker process while a phase runs."""

    def __init__(self, workers: list[common.Worker], interval: float = 0.2) -> None:
        super().__init__(daemon=True, name="bench-memory")
        self.workers = workers
        self.interval = interval
        self.stopping = threading.Event()
        self.max_per_process: dict[int, float] = {}
        self.max_total = 0.0

    def run(self) -> None:
        while not self.stopping.wait(self.interval):
            total = 0.0
            for worker in self.workers:
                for pid in worker.pids():
                    rss = common.rss_mib(pid)
                    total += rss
                    self.max_per_process[pid] = max(self.max_per_process.get(pid, 0.0), rss)
            self.max_total = max(self.max_total, total)

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=5)


def wait_finished(query: Any, total: int, timeout: float, what: str) -> float:
    """Poll until every operation of `query` has finished; returns when that was seen."""
    from clusters.models import Operation

    def done() -> bool:
        return query.filter(status__in=Operation.FINISHED).count() >= total

    common.wait_for(done, timeout, interval=0.05, what=what)
    return time.perf_counter()


def outcome(query: Any) -> dict[str, Any]:
    from django.db.models import Count, Max, Min

    from clusters.models import Operation

    statuses = dict(query.values_list("status").annotate(n=Count("pk")))
    failed = list(query.filter(status=Operation.Status.FAILED).values_list("error", flat=True)[:3])
    span = query.aggregate(first=Min("started_at"), last=Max("finished_at"))
    return {"statuses": statuses, "errors": failed, "span": span}


def counters_since(database: str, before: dict[str, int]) -> dict[str, int]:
    after = common.database_counters(database)
    return {key: after[key] - before.get(key, 0) for key in after}


def write_times(stats: dict[str, Any], wall: float) -> dict[str, float | None]:
    """Seconds from the phase's start to its first and last write to the API server: the
    rest of the phase is waiting for rollouts."""
    return {
        f"{which}_write_seconds": None if at is None else round(at - wall, 3)
        for which, at in (
            ("first", stats.get("first_write_at")),
            ("last", stats.get("last_write_at")),
        )
    }


def children_cpu_seconds() -> float:
    """User + system CPU of this process's children that have ended and been waited for
    (their own children included, once waited for): what kubectl and Ansible used."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def hangar_cpu(cpu: dict[str, float]) -> dict[str, float]:
    """The meter's figures, with Hangar's own share summed: its workers, their PostgreSQL
    backends and this process (which makes the calls a user would, and polls)."""
    parts = ("workers_cpu_seconds", "postgres_cpu_seconds", "harness_cpu_seconds")
    return {**cpu, "tool_cpu_seconds": sum(cpu.get(part, 0.0) for part in parts)}


def run_hangar(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    from django.db import connection

    from clusters.models import Cluster, Operation
    from controlpanel.core.models import User
    from controlpanel.management.commands.bench_seed import seed
    from sites import services
    from sites.models import Environment
    from sites.selectors import FleetFilter
    from sites.services import fleet_deploy

    result: dict[str, Any] = {
        "phases": {},
        "rollout_seconds": [args.rollout_seconds, args.rollout_seconds + args.rollout_spread],
    }
    with common.sandbox(
        args.latency, args.rollout_seconds, rollout_spread=args.rollout_spread
    ) as emulator:
        seed(
            clients=args.environments // SITES_PER_CLIENT,
            sites_per_client=SITES_PER_CLIENT,
            environments_per_site=1,
            operations=0,
            usage_days=0,
            clusters=1,
            cluster_url=emulator.url,
            cluster_token=common.SANDBOX_TOKEN,
            max_concurrent_operations=args.concurrency,
            status=Environment.Status.NEW,
            image=IMAGE_V1,
        )
        admin = User.objects.get(email="admin@bench.test")
        cluster = Cluster.objects.get()
        environments = list(Environment.objects.select_related("site__client").order_by("pk"))
        connection.close()  # the workers get the connections; this process polls
        env = {
            **os.environ,
            "HANGAR_OPERATION_DISPATCH": "celery",
        }
        workers = common.start_workers(args.workers, env, args.pool, args.worker_concurrency, work)
        sweeper = Sweeper(args.sweep_seconds)
        sweeper.start()
        try:
            # 1. First provisioning: every object of every environment, and its rollout.
            emulator.reset()
            worker_pids = [pid for worker in workers for pid in worker.pids()]
            meter = common.CpuMeter(
                {
                    "emulator": [emulator.process.pid],
                    "workers": worker_pids,
                    "postgres": lambda: common.backend_pids(args.database),
                }
            ).start()
            counters = common.database_counters(args.database)
            started, wall = time.perf_counter(), time.time()
            for environment in environments:
                services.environment_provision(actor=admin, environment=environment)
            enqueued = time.perf_counter()
            query = Operation.objects.filter(kind="environment.provision")
            ended = wait_finished(query, len(environments), 1800, "the provisioning")
            stats = emulator.stats()
            result["phases"]["provision"] = {
                "seconds": ended - started,
                "enqueue_seconds": enqueued - started,
                **write_times(stats, wall),
                "requests": stats,
                "cpu": hangar_cpu(meter.stop()),
                "database": counters_since(args.database, counters),
                **outcome(query),
            }
            log(f"hangar provision: {ended - started:.1f}s")

            # 2. The new base image to every environment, then 3. the same again.
            wanted = [p for p in ("image update", "no-op re-deploy") if p in args.phases]
            for phase in wanted:
                emulator.reset()
                pids = [pid for worker in workers for pid in worker.pids()]
                reset = all(common.reset_peak_rss(pid) for pid in pids)
                sampler = MemorySampler(workers)
                sampler.start()
                meter = common.CpuMeter(
                    {
                        "emulator": [emulator.process.pid],
                        "workers": pids,
                        "postgres": lambda: common.backend_pids(args.database),
                    }
                ).start()
                counters = common.database_counters(args.database)
                started, wall = time.perf_counter(), time.time()

                batch, operations = fleet_deploy(
                    actor=admin, image=IMAGE_V2, where=FleetFilter(cluster=cluster)
                )
                enqueued = time.perf_counter()
                query = Operation.objects.filter(batch=batch)
                ended = wait_finished(query, len(operations), 1800, phase)
                sampler.stop()
                peaks = {pid: common.peak_rss_mib(pid) for pid in pids}
                stats = emulator.stats()
                result["phases"][phase] = {
                    "seconds": ended - started,
                    "enqueue_seconds": enqueued - started,
                    **write_times(stats, wall),
                    "requests": stats,
                    "cpu": hangar_cpu(meter.stop()),
                    "database": counters_since(args.database, counters),
                    "memory": {
                        "peak_rss_mib_per_process": sorted(peaks.values(), reverse=True),
                        "peak_rss_mib_max": max(peaks.values()),
                        "peak_rss_mib_total": sum(peaks.values()),
                        "hwm_reset": reset,
                        "sampled_max_total_mib": sampler.max_total,
                    },
                    **outcome(query),
                }
                log(f"hangar {phase}: {ended - started:.1f}s")
        finally:
            sweeper.stop()
            for worker in workers:
                worker.stop()
        result["sweeps"] = sweeper.runs
        result["objects_in_emulator"] = emulator.objects()
    return result


def desired_objects(image: str) -> list[list[dict]]:
    """Every environment's objects with `image`, as Hangar renders them."""
    from sites.desired import desired_objects
    from sites.handlers.converge import load_environment, with_overrides
    from sites.models import Environment

    return [
        desired_objects(with_overrides(load_environment(pk), {"image": image}))
        for pk in Environment.objects.order_by("pk").values_list("pk", flat=True)
    ]


# --- Raw apply with the official client --------------------------------------------------


def raw_apply(url: str, per_environment: list[list[dict]], threads: int) -> float:
    """Server-side apply of every object, environments spread over `threads` threads (each
    environment's objects in order: the namespace first)."""
    import yaml

    from clusters.kube.client import APPLY
    from clusters.kube.kinds import kind_for
    from clusters.kube.transport import Transport, build_api_client

    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "b", "cluster": {"server": url}}],
        "users": [{"name": "b", "user": {"token": common.SANDBOX_TOKEN}}],
        "contexts": [{"name": "b", "context": {"cluster": "b", "user": "b"}}],
        "current-context": "b",
    }
    transport = Transport(build_api_client(yaml.safe_dump(kubeconfig)))

    def apply(objects: list[dict]) -> None:
        for obj in objects:
            meta = obj["metadata"]
            transport.request(
                "PATCH",
                kind_for(obj).path(namespace=meta.get("namespace"), name=meta["name"]),
                body=obj,
                content_type=APPLY,
                query=[("fieldManager", "raw-apply"), ("force", "true")],
            )

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(apply, per_environment))
    return time.perf_counter() - started


def run_raw(args: argparse.Namespace, v1: list[list[dict]], v2: list[list[dict]]) -> dict:
    result: dict[str, Any] = {"phases": {}}
    with common.sandbox(args.latency) as emulator:
        for phase, objects in (("provision", v1), ("image update", v2), ("no-op re-deploy", v2)):
            emulator.reset()
            meter = common.CpuMeter({"emulator": [emulator.process.pid]}).start()
            wall = time.time()
            seconds = raw_apply(emulator.url, objects, args.concurrency)
            stats = emulator.stats()
            cpu = meter.stop()
            result["phases"][phase] = {
                "seconds": seconds,
                **write_times(stats, wall),
                "requests": stats,
                # the client runs in this process
                "cpu": {**cpu, "tool_cpu_seconds": cpu["harness_cpu_seconds"]},
            }
            log(f"raw apply {phase}: {seconds:.1f}s")
    return result


# --- kubectl -----------------------------------------------------------------------------


def write_manifests(directory: Path, per_environment: list[list[dict]]) -> list[Path]:
    """One multi-document YAML file per environment, as `to_yaml` renders it."""
    from sites.manifests import to_yaml

    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, objects in enumerate(per_environment):
        path = directory / f"env{index:05d}.yaml"
        path.write_text(to_yaml(objects))
        paths.append(path)
    return paths


def kubectl_apply(tool: dict, kubeconfig: Path, cache: Path, chunks: list[list[Path]]) -> float:
    """`kubectl apply --server-side` over `chunks`, one process per chunk, all at once.
    --validate=false: the emulator serves no OpenAPI document to validate against."""
    base = [tool["path"], "--kubeconfig", str(kubeconfig), "--cache-dir", str(cache), "apply",
            "--server-side", "--force-conflicts", "--validate=false"]  # fmt: skip
    started = time.perf_counter()
    processes = []
    for chunk in chunks:
        files = [arg for path in chunk for arg in ("-f", str(path))]
        processes.append(
            subprocess.Popen(  # noqa: S603
                [*base, *files], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
            )
        )
    errors = [p.communicate()[1] for p in processes]
    elapsed = time.perf_counter() - started
    failed = [error for p, error in zip(processes, errors, strict=True) if p.returncode != 0]
    if failed:
        raise RuntimeError(f"kubectl failed: {failed[0][-500:]}")
    return elapsed


def run_kubectl(
    args: argparse.Namespace, work: Path, v1: list[list[dict]], v2: list[list[dict]]
) -> dict:
    from bench.tools import Unavailable, ensure_kubectl

    try:
        tool = ensure_kubectl()
    except Unavailable as exc:
        return {"unavailable": str(exc)}
    files = {"v1": write_manifests(work / "kubectl" / "v1", v1),
             "v2": write_manifests(work / "kubectl" / "v2", v2)}  # fmt: skip
    result: dict[str, Any] = {"tool": tool, "variants": {}}
    for variant, processes in (
        ("1 process", 1),
        (f"{args.concurrency} processes", args.concurrency),
    ):
        phases: dict[str, Any] = {}
        with common.sandbox(args.latency) as emulator:
            kubeconfig = emulator.kubeconfig(work / "kubectl" / "kubeconfig.json")
            for phase, version in (("provision", "v1"), ("image update", "v2"),
                                   ("no-op re-deploy", "v2")):  # fmt: skip
                paths = files[version]
                chunks = [paths[i::processes] for i in range(processes)]
                emulator.reset()
                meter = common.CpuMeter({"emulator": [emulator.process.pid]}).start()
                wall, children = time.time(), children_cpu_seconds()
                seconds = kubectl_apply(tool, kubeconfig, work / "kubectl" / "cache", chunks)
                stats = emulator.stats()
                phases[phase] = {
                    "seconds": seconds,
                    **write_times(stats, wall),
                    "requests": stats,
                    "cpu": {
                        **meter.stop(),
                        "tool_cpu_seconds": children_cpu_seconds() - children,
                    },
                }
                log(f"kubectl ({variant}) {phase}: {seconds:.1f}s")
        result["variants"][variant] = {"phases": phases}
    return result


# --- Ansible -----------------------------------------------------------------------------

PLAYBOOK = """\
# What Flight Deck Cluster does: kubernetes.core.k8s, state present, one task per object.
- hosts: all
  gather_facts: false
  tasks:
    - name: Apply the environment's objects
      kubernetes.core.k8s:
        kubeconfig: "{{ kubeconfig }}"
        state: present
        definition: "{{ item }}"
      loop: "{{ lookup('file', manifest) | from_yaml_all | list }}"
      loop_control:
        label: "{{ item.kind }}/{{ item.metadata.name }}"
"""


def run_ansible(
    args: argparse.Namespace, work: Path, v1: list[list[dict]], v2: list[list[dict]]
) -> dict:
    """Ansible really applies `--ansible-environments` of the fleet (all by default when the
    fleet is no larger), each phase timed as it ran. It runs after the other tools, alone:
    at ~0.4 s of CPU per object it would skew their figures on the same cores. When it
    applies fewer than the fleet, its per-environment rate is the figure, and the time for
    the whole fleet is recorded as a projection, named so."""
    from bench.tools import Unavailable, ensure_ansible

    try:
        tool = ensure_ansible()
    except Unavailable as exc:
        return {"unavailable": str(exc)}
    measured = min(args.ansible_environments or len(v1), len(v1))
    directory = work / "ansible"
    files = {"v1": write_manifests(directory / "v1", v1[:measured]),
             "v2": write_manifests(directory / "v2", v2[:measured])}  # fmt: skip
    (directory / "fleet.yml").write_text(PLAYBOOK)
    result: dict[str, Any] = {
        "tool": tool,
        "environments": len(v1),
        "environments_measured": measured,
        "projected": measured < len(v1),
        "forks": args.concurrency,
        "phases": {},
    }
    with common.sandbox(args.latency) as emulator:
        kubeconfig = emulator.kubeconfig(directory / "kubeconfig.json")
        for phase, version in (("provision", "v1"), ("image update", "v2"),
                               ("no-op re-deploy", "v2")):  # fmt: skip
            inventory = {
                "all": {
                    "vars": {
                        "ansible_connection": "local",
                        "ansible_python_interpreter": tool["python"],
                        "kubeconfig": str(kubeconfig),
                    },
                    "hosts": {
                        f"env{i:05d}": {"manifest": str(path)}
                        for i, path in enumerate(files[version])
                    },
                }
            }
            (directory / "inventory.json").write_text(json.dumps(inventory))
            emulator.reset()
            meter = common.CpuMeter({"emulator": [emulator.process.pid]}).start()
            wall, children = time.time(), children_cpu_seconds()
            started = time.perf_counter()
            done = subprocess.run(  # noqa: S603
                [tool["playbook"], "-i", str(directory / "inventory.json"),
                 str(directory / "fleet.yml")],
                env={**os.environ, "ANSIBLE_FORKS": str(args.concurrency),
                     "ANSIBLE_NOCOLOR": "1", "ANSIBLE_HOST_KEY_CHECKING": "0",
                     "ANSIBLE_LOCAL_TEMP": str(directory / "tmp"),
                     "ANSIBLE_HOME": str(directory / "home")},
                capture_output=True,
                text=True,
            )  # fmt: skip
            seconds = time.perf_counter() - started
            if done.returncode != 0:
                return {**result, "unavailable": f"ansible-playbook failed: {done.stdout[-800:]}"}
            stats = emulator.stats()
            per_environment = seconds / measured
            result["phases"][phase] = {
                "seconds": seconds,
                "environments": measured,
                "seconds_per_environment": per_environment,
                **write_times(stats, wall),
                "requests": stats,
                "cpu": {**meter.stop(), "tool_cpu_seconds": children_cpu_seconds() - children},
                # Not measured: the measured rate times the fleet, for scale only.
                "projected_seconds": per_environment * len(v1) if result["projected"] else None,
            }
            log(
                f"ansible {phase}: {seconds:.1f}s for {measured} environments "
                f"({per_environment:.2f}s each)"
            )
    return result


def bound(args: argparse.Namespace, writes: int) -> float:
    """The least time `writes` requests can take at this latency and concurrency."""
    return writes * args.latency / args.concurrency


# --- main --------------------------------------------------------------------------------


def main() -> int:
    args = options()
    only = set(args.only.split(","))
    database = common.Database(args.database)
    redis = common.Redis()
    results: dict[str, Any] = {
        "environments": args.environments,
        "latency_seconds": args.latency,
        "concurrency": args.concurrency,
        "workers": {
            "processes": args.workers,
            "pool": args.pool,
            "concurrency_each": args.worker_concurrency,
        },
        "poll_seconds": float(args.poll_seconds),
        "images": [IMAGE_V1, IMAGE_V2],
    }
    work = Path(tempfile.mkdtemp(prefix="hangar-bench-fleet-"))
    try:
        database.create()
        redis.start()
        os.environ.update(
            {
                "DATABASE_URL": database.url,
                "DJANGO_SETTINGS_MODULE": "bench.settings",
                "CELERY_BROKER_URL": redis.url,
                "HANGAR_OPERATION_DISPATCH": "celery",
                "HANGAR_POLL_SECONDS": str(args.poll_seconds),
                "HANGAR_SWEEP_SECONDS": str(args.sweep_seconds),
            }
        )
        import django

        django.setup()
        if "hangar" in only:
            results["hangar"] = run_hangar(args, work)
        if only - {"hangar"}:
            if "hangar" not in only:
                raise SystemExit("the alternatives apply what Hangar rendered: include hangar")
            v1, v2 = desired_objects(IMAGE_V1), desired_objects(IMAGE_V2)
            results["objects"] = {
                "total": sum(len(objects) for objects in v1),
                "per_environment": sum(len(objects) for objects in v1) / len(v1),
            }
            if "raw" in only:
                results["raw"] = run_raw(args, v1, v2)
            if "kubectl" in only:
                results["kubectl"] = run_kubectl(args, work, v1, v2)
            if "ansible" in only:
                results["ansible"] = run_ansible(args, work, v1, v2)
            hangar = results["hangar"]["phases"]
            # Hangar's own writes are the ones that must happen: the image update rewrites
            # only the Deployment and the CronJobs that run the image.
            results["bound"] = {
                phase: {
                    "writes": hangar[phase]["requests"]["writes"],
                    "seconds": bound(args, hangar[phase]["requests"]["writes"]),
                }
                for phase in hangar
            }
    finally:
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        redis.stop()
        database.drop()
        shutil.rmtree(work, ignore_errors=True)
    common.write_results(results, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
