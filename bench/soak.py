"""Fault soak: fleet deploys on 100 environments while everything that can fail does, then
a count of what the database claims against what the cluster runs.

    python bench/soak.py --json out.json            # ~6-8 minutes on 2 cores

Real processes: a PostgreSQL server of the soak's own (restarted on purpose; never the
shared one), a private Redis (stopped for a while), Celery workers as deployed (two for
operations, one for periodic work and webhooks), celery beat, and the emulator in a process
of its own whose faults are steered over its stdin. The harness makes the requests as the
panel would (the same services) and samples the Operation table once a second.

The matrix (docs/reliability.md): random 5xx, 429, dropped connections, lost answers to
applied writes and read timeouts all along; a worker killed, the broker down, PostgreSQL
restarted and the API server's state lost at fixed moments. Reported: operations accepted,
succeeded, failed; false successes (an active environment whose Deployment differs from
what the database says it runs: image, replicas, or missing); stalls (the longest time
with work queued and no operation making progress); time to converge after the faults;
refused deliveries; the latency of a fleet deploy while the broker is down.

Bounded: every phase has a deadline and the whole run stops by itself. Everything listens
on 127.0.0.1; every process is stopped by the pid the soak started.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common
from bench.common import log

IMAGE = "registry.example.com/agency/web:soak-{}"
SITES_PER_CLIENT = 5
# One of these, at random (seeded), every few seconds while faults are on.
BACKGROUND_FAULTS: list[dict[str, Any]] = [
    {"status": 503, "times": 3},
    {"status": 500, "times": 2},
    {"status": 429, "retry_after": 1, "times": 3},
    {"drop": True, "times": 2},
    {"lose_answer": True, "method": "PATCH", "path_regex": "/deployments/web$", "times": 1},
    {"latency": 35.0, "method": "GET", "path_regex": "/deployments/web$", "times": 1},
]


def options() -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--environments", type=int, default=int(env("BENCH_SOAK_ENVS", "100")))
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--converge-seconds", type=float, default=180.0)
    parser.add_argument(
        "--pace", type=float, default=float(env("BENCH_SOAK_PACE", "1.0")),
        help="stretch (or shrink, below 1) the fault timeline; 1: 240 s of faults",
    )  # fmt: skip
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the processes' logs")
    return parser.parse_args()


# --- A PostgreSQL server of the soak's own ----------------------------------------------


def _pg_bin(name: str) -> str:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    if found:
        return str(found[-1])
    binary = shutil.which(name)
    if binary is None:
        raise RuntimeError(f"{name} not found (apt-get install postgresql)")
    return binary


class PrivatePostgres:
    """initdb in a temporary directory, served on a free port of 127.0.0.1, as the user
    postgres when run as root (PostgreSQL refuses root); fsync off (a benchmark's data)."""

    def __init__(self) -> None:
        self.port = common.free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="hangar-soak-pg-"))
        self.data = self.dir / "data"
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *args: str) -> None:
        subprocess.run(  # noqa: S603
            [*self.as_user, *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )

    def start(self) -> PrivatePostgres:
        if self.as_user:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run(_pg_bin("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                  "--no-sync", "-E", "UTF8")  # fmt: skip
        self._ctl("start")
        return self

    def _ctl(self, action: str, *extra: str) -> None:
        self._run(
            _pg_bin("pg_ctl"), "-D", str(self.data), "-w", "-l", str(self.dir / "log"),
            "-o", f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c max_connections=200", *extra, action,
        )  # fmt: skip

    def restart(self) -> None:
        self._ctl("restart", "-m", "fast")

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._ctl("stop", "-m", "immediate")
        shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, name: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"


# --- Processes ----------------------------------------------------------------------------


class Process:
    """A celery worker or beat process with its log."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name, self.args, self.env, self.log_dir = name, args, env, log_dir
        self.log_path = log_dir / f"{name}.log"
        self.process = subprocess.Popen(  # noqa: S603
            [common.PYTHON, "-m", "celery", "-A", "controlpanel", *args],
            cwd=common.ROOT, env=env, stdout=self.log_path.open("a"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    def again(self) -> Process:
        return Process(self.name, self.args, self.env, self.log_dir)

    def kill(self) -> None:
        """SIGKILL the process and its pool (its own process group)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


def worker(name: str, queues: str, concurrency: int, env: dict, log_dir: Path) -> Process:
    return Process(
        name,
        ["worker", "--pool=threads", f"--concurrency={concurrency}", f"--queues={queues}",
         "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
         "-n", f"{name}@%h"],
        env, log_dir,
    )  # fmt: skip


# --- Sampling -----------------------------------------------------------------------------


class Sampler(threading.Thread):
    """Once a second: how much work is queued, and whether any operation moved (a new log
    line is written at every claim, step, retry and finish). Its own connection, reopened
    after the database restart; a sample that fails counts as no progress."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True, name="soak-sampler")
        self.url = url
        self.stopping = threading.Event()
        self.samples: list[tuple[float, int | None, int | None]] = []

    def run(self) -> None:
        import psycopg

        conn = None
        while not self.stopping.wait(1.0):
            try:
                if conn is None or conn.closed:
                    conn = psycopg.connect(self.url, autocommit=True, connect_timeout=2)
                row = conn.execute(
                    "SELECT (SELECT count(*) FROM clusters_operation WHERE status IN "
                    "('pending', 'running')), (SELECT max(id) FROM clusters_operationevent)"
                ).fetchone()
                self.samples.append((time.monotonic(), row[0], row[1]))
            except Exception:
                self.samples.append((time.monotonic(), None, None))
                with contextlib.suppress(Exception):
                    conn.close()
                conn = None
        with contextlib.suppress(Exception):
            conn.close()

    def longest_stall(self) -> float:
        """The longest time with work queued (or the database unreadable) during which no
        operation wrote a log line."""
        longest = 0.0
        since: float | None = None
        last_event = None
        for at, queued, event in self.samples:
            moved = event is not None and event != last_event
            if event is not None:
                last_event = event
            if moved or queued == 0:
                since = None
                continue
            since = at if since is None else since
            longest = max(longest, at - since)
        return longest


# --- The soak -----------------------------------------------------------------------------


def live_deployments(emulator: common.Sandbox) -> dict[str, tuple[str, int]]:
    """namespace -> (web container's image, spec.replicas), straight from the emulator."""
    import yaml

    from clusters.kube.client import KubeClient
    from clusters.kube.errors import KubeError
    from clusters.kube.transport import Transport, build_api_client

    config = {
        "apiVersion": "v1", "kind": "Config", "current-context": "s",
        "clusters": [{"name": "s", "cluster": {"server": emulator.url}}],
        "users": [{"name": "s", "user": {"token": common.SANDBOX_TOKEN}}],
        "contexts": [{"name": "s", "context": {"cluster": "s", "user": "s"}}],
    }  # fmt: skip
    kube = KubeClient(Transport(build_api_client(yaml.safe_dump(config))))
    # The observer reads through the same injected faults as Hangar: a dropped answer is
    # asked again, so the look itself never goes missing.
    for attempt in range(20):
        try:
            deployments = kube.list("apps/v1", "Deployment")
            break
        except KubeError:
            if attempt == 19:
                raise
            time.sleep(0.5)
    found = {}
    for deployment in deployments:
        if deployment["metadata"]["name"] != "web":
            continue
        containers = deployment["spec"]["template"]["spec"]["containers"]
        web = next((c for c in containers if c["name"] == "web"), containers[0])
        found[deployment["metadata"]["namespace"]] = (web["image"], deployment["spec"]["replicas"])
    return found


def verdict(emulator: common.Sandbox, *, settled_only: bool = False) -> dict[str, Any]:
    """Every environment: what the database says against what the cluster runs.
    `settled_only`: only environments with no operation under way (a mid-soak look)."""
    from clusters.models import Operation
    from sites.models import Environment

    live = live_deployments(emulator)
    missing = image = replicas = after_success = 0
    examples = []
    environments = Environment.objects.filter(status=Environment.Status.ACTIVE)
    if settled_only:
        busy = Operation.objects.exclude(status__in=Operation.FINISHED).filter(
            target_type="environment"
        )
        environments = environments.exclude(pk__in=busy.values("target_id"))
    for environment in environments:
        found = live.get(environment.namespace)
        wrong = (
            "missing" if found is None
            else "image" if found[0] != environment.image
            else "replicas" if found[1] != environment.replicas
            else ""
        )  # fmt: skip
        if not wrong:
            continue
        missing += wrong == "missing"
        image += wrong == "image"
        replicas += wrong == "replicas"
        last = (
            Operation.objects.filter(target_type="environment", target_id=environment.pk)
            .order_by("-pk")
            .values_list("status", flat=True)
            .first()
        )
        after_success += last == Operation.Status.SUCCEEDED
        if len(examples) < 5:
            examples.append({
                "namespace": environment.namespace, "differs": wrong,
                "database": [environment.image, environment.replicas],
                "cluster": list(found) if found else None, "last_operation": last,
            })  # fmt: skip
    return {
        "environments_compared": environments.count(),
        "false_successes": missing + image + replicas,
        "by_difference": {"missing": missing, "image": image, "replicas": replicas},
        "whose_last_operation_succeeded": after_success,
        "examples": examples,
    }


def counts_in_logs(log_dir: Path) -> dict[str, int]:
    text = "".join(path.read_text(errors="replace") for path in log_dir.glob("*.log"))
    return {
        "runs_refused": text.count("'not-claimed'"),
        "runs_that_lost_their_claim": text.count(": 'lost'"),
        "runs_succeeded": text.count(": 'succeeded'"),
        "runs_failed": text.count(": 'failed'"),
        "runs_retried": text.count(": 'pending'"),
        "worker_errors": text.count("ERROR/"),
    }


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    postgres = PrivatePostgres().start()
    redis = common.Redis().start()
    result: dict[str, Any] = {"environments": args.environments, "events": []}
    processes: list[Process] = []
    rng = random.Random(args.seed)  # noqa: S311 - a reproducible fault schedule
    try:
        import psycopg

        with psycopg.connect(postgres.url("postgres"), autocommit=True) as conn:
            conn.execute('CREATE DATABASE "hangar_soak"')
        env = {
            **os.environ,
            "PYTHONPATH": str(common.ROOT),
            "DATABASE_URL": postgres.url("hangar_soak"),
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "CELERY_BROKER_URL": redis.url,
            "HANGAR_OPERATION_DISPATCH": "celery",
            "HANGAR_SWEEP_SECONDS": "5",
            "HANGAR_HEARTBEAT_SECONDS": "3",
            "HANGAR_STALE_AFTER_SECONDS": "20",
            "HANGAR_RETRY_DELAYS": "2,5,10,20",
            "HANGAR_POLL_SECONDS": "0.5",
            "HANGAR_ROLLOUT_TIMEOUT": "90",
            "HANGAR_RECONCILE_SECONDS": "20",
            "HANGAR_DRIFT_BATCH": "25",
            "HANGAR_DRIFT_BUDGET_SECONDS": "15",
            "CONN_MAX_AGE": "60",
            "LOG_LEVEL": "WARNING",
        }
        os.environ.update({k: v for k, v in env.items() if k != "PYTHONPATH"})
        subprocess.run(  # noqa: S603
            [common.PYTHON, "manage.py", "migrate", "--noinput", "--skip-checks", "-v0"],
            cwd=common.ROOT, env=env, check=True,
        )  # fmt: skip
        import django

        django.setup()
        from django.db import close_old_connections, connection

        from clusters.models import Cluster, Operation
        from controlpanel.core.models import User
        from controlpanel.management.commands.bench_seed import seed
        from sites import services as actions
        from sites.models import Environment
        from sites.selectors import FleetFilter
        from sites.services import fleet_deploy

        with common.sandbox(0.0, rollout_delay=1.0, quiet=True) as emulator:
            seed(
                clients=args.environments // SITES_PER_CLIENT, sites_per_client=SITES_PER_CLIENT,
                environments_per_site=1, operations=0, usage_days=0, clusters=1,
                cluster_url=emulator.url, cluster_token=common.SANDBOX_TOKEN,
                max_concurrent_operations=8, status=Environment.Status.NEW, image=IMAGE.format(1),
            )  # fmt: skip
            admin = User.objects.get(email="admin@bench.test")
            cluster = Cluster.objects.get()
            connection.close()
            ops_queues = "operation-retries,operations"
            processes += [
                worker("ops1", ops_queues, 4, env, work),
                worker("ops2", ops_queues, 4, env, work),
                worker("periodic", "periodic,webhooks", 4, env, work),
                Process("beat", ["beat", "--loglevel=INFO", "-s", str(work / "beat")], env, work),
            ]
            sampler = Sampler(postgres.url("hangar_soak"))
            sampler.start()
            started = time.monotonic()

            def event(what: str, **detail: Any) -> None:
                at = round(time.monotonic() - started, 1)
                result["events"].append({"at": at, "what": what, **detail})
                log(f"{at:6.1f}s {what} {detail or ''}")

            def attempt(what: str, action: Any) -> Any:
                """An action as a request would make it; the database may be down."""
                close_old_connections()
                began = time.perf_counter()
                try:
                    value = action()
                except Exception as exc:
                    event(f"{what}: refused", error=f"{exc.__class__.__name__}: {exc}"[:200])
                    connection.close()
                    return None
                event(what, seconds=round(time.perf_counter() - began, 3))
                return value

            # Provision everything without faults; the soak starts from a working fleet.
            for environment in Environment.objects.order_by("pk"):
                actions.environment_provision(actor=admin, environment=environment)
            common.wait_for(
                lambda: not Operation.objects.exclude(status__in=Operation.FINISHED).exists(),
                600, interval=1.0, what="the first provisioning",
            )  # fmt: skip
            event("provisioned", seconds=round(time.monotonic() - started, 1))
            accepted_before = Operation.objects.count()
            version = [1]

            def deploy() -> None:
                version[0] += 1
                attempt(
                    f"fleet deploy v{version[0]}",
                    lambda: fleet_deploy(
                        actor=admin, image=IMAGE.format(version[0]),
                        where=FleetFilter(cluster=cluster),
                    ),
                )  # fmt: skip

            def scale_half() -> None:
                def go() -> int:
                    chosen = Environment.objects.filter(status=Environment.Status.ACTIVE)
                    for environment in chosen.order_by("pk")[::2]:
                        actions.environment_scale(actor=admin, environment=environment, replicas=2)
                    return 0

                attempt("scale half the fleet to 2", go)

            def kill_worker() -> None:
                processes[0].kill()
                processes[0].name = "ops1-killed"  # the supervisor leaves it down a while
                event("worker ops1 killed (SIGKILL)")

            def restart_worker() -> None:
                processes[0] = worker("ops1", ops_queues, 4, env, work)
                event("worker ops1 started again")

            def broker_down() -> None:
                redis.stop()
                event("broker stopped")

            def broker_up() -> None:
                Path(redis.dir).mkdir(parents=True, exist_ok=True)
                redis.start()
                event("broker started")

            def restart_postgres() -> None:
                began = time.perf_counter()
                postgres.restart()
                event("PostgreSQL restarted", seconds=round(time.perf_counter() - began, 1))

            def settled() -> bool:
                supervise()
                close_old_connections()
                try:
                    return not Operation.objects.exclude(status__in=Operation.FINISHED).exists()
                except Exception:
                    connection.close()
                    return False

            def lose_state() -> None:
                # What the faults so far left behind, before the state loss hides it: let
                # the work under way finish first (bounded), then compare.
                with contextlib.suppress(TimeoutError):
                    common.wait_for(settled, 90 * args.pace, interval=1.0, what="a settled fleet")
                try:
                    result["before_state_loss"] = verdict(emulator, settled_only=True)
                except Exception as exc:
                    result["before_state_loss"] = {"error": str(exc)[:200]}
                event("API server state lost", **emulator.lose_state())

            timeline = [
                (0, deploy), (30, kill_worker), (35, restart_worker), (45, deploy),
                (70, broker_down), (75, deploy), (115, broker_up), (130, deploy),
                (150, restart_postgres), (175, scale_half), (200, lose_state), (215, deploy),
            ]  # fmt: skip
            timeline = [(at * args.pace, step) for at, step in timeline]
            fault_end = 240.0 * args.pace
            soak_start = time.monotonic()
            next_fault = 0.0
            restarts = [0]

            def supervise() -> None:
                """What the kubelet (or compose's restart policy) does: start again a
                worker or beat process that exited."""
                for index, process in enumerate(processes):
                    if process.process.poll() is not None and process.name != "ops1-killed":
                        processes[index] = process.again()
                        restarts[0] += 1
                        event(
                            f"{process.name} exited ({process.process.returncode}); started again"
                        )

            while time.monotonic() - soak_start < fault_end:
                supervise()
                now = time.monotonic() - soak_start
                while timeline and timeline[0][0] <= now:
                    timeline.pop(0)[1]()
                if now >= next_fault:
                    emulator.fault(**rng.choice(BACKGROUND_FAULTS))
                    next_fault = now + 4.0
                time.sleep(0.2)
            for _, step in timeline:  # what a long settle at the state loss pushed out
                step()
            emulator.clear_faults()
            event("faults off")
            deploy()  # the last word: every environment should end on this image
            final_image = IMAGE.format(version[0])
            faults_off = time.monotonic()

            try:
                common.wait_for(settled, args.converge_seconds, interval=1.0, what="convergence")
                converged = round(time.monotonic() - faults_off, 1)
            except TimeoutError:
                converged = None
            event("converged" if converged is not None else "did not converge in time")
            sampler.stopping.set()
            sampler.join(timeout=5)
            close_old_connections()
            from django.db.models import Count

            soak_ops = Operation.objects.filter(pk__gt=accepted_before)
            statuses = dict(soak_ops.values_list("status").annotate(n=Count("pk")))
            failures: dict[str, int] = {}
            for error in soak_ops.filter(status=Operation.Status.FAILED).values_list(
                "error", flat=True
            ):
                # One line per cause: namespaces and names vary, the message does not.
                cause = re.sub(r'"[^"]*"|/namespaces/[^/ ]+', "…", error)[:120]
                failures[cause] = failures.get(cause, 0) + 1
            errors = dict(sorted(failures.items(), key=lambda kv: -kv[1])[:6])
            unfinished = [
                {
                    "kind": op.kind,
                    "status": op.status,
                    "attempts": op.attempts,
                    "progress": op.progress_message,
                    "worker": op.worker,
                    "last_event": getattr(op.events.order_by("-pk").first(), "message", ""),
                }
                for op in soak_ops.exclude(status__in=Operation.FINISHED).order_by("pk")[:5]
            ]
            result.update(
                {
                    "operations": {
                        "accepted": soak_ops.count(),
                        "by_status": statuses,
                        "errors": errors,
                        "unfinished_examples": unfinished,
                    },
                    "cluster": verdict(emulator),
                    "on_final_image": Environment.objects.filter(image=final_image).count(),
                    "longest_stall_seconds": round(sampler.longest_stall(), 1),
                    "converge_seconds": converged,
                    "soak_seconds": round(time.monotonic() - soak_start, 1),
                    "logs": counts_in_logs(work),
                    "processes_restarted": restarts[0],
                }
            )
            connection.close()
    finally:
        for process in processes:
            process.stop()
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        redis.stop()
        postgres.stop()
    return result


def main() -> int:
    args = options()
    work = Path(tempfile.mkdtemp(prefix="hangar-soak-"))
    try:
        results = run(args, work)
    finally:
        if args.keep:
            print(f"logs: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    common.write_results(results, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
