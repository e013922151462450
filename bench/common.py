"""What every benchmark shares: databases of their own, a private Redis, Celery workers,
the emulator in a process of its own, process memory, and the machine's description.

Everything listens on and talks to 127.0.0.1 only, and every process started here is
stopped by the code that started it (by its own pid, never by name).
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
TOOLS = BENCH / ".tools"
PYTHON = sys.executable
SERVER_URL = os.environ.get("BENCH_DATABASE_SERVER", "postgres://postgres@127.0.0.1:5432")
SANDBOX_TOKEN = "bench-sandbox-token"  # noqa: S105 - the emulator's, guards nothing real


def log(message: str) -> None:
    print(f"  {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(
    condition: Callable[[], Any], timeout: float, interval: float = 0.05, what: str = "it"
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)


# --- PostgreSQL --------------------------------------------------------------------------


def database_url(name: str) -> str:
    parts = urlsplit(SERVER_URL)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", "", ""))


def _admin_sql(*statements: str) -> None:
    import psycopg

    with psycopg.connect(database_url("postgres"), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


class Database:
    """A database of the benchmark's own, migrated on start and dropped on stop."""

    def __init__(self, name: str) -> None:
        if not re.fullmatch(r"[a-z0-9_]+", name):
            raise ValueError(name)
        self.name = name
        self.url = database_url(name)

    def create(self, settings: str = "bench.settings") -> Database:
        self.drop()
        _admin_sql(f'CREATE DATABASE "{self.name}"')
        env = {**os.environ, "DATABASE_URL": self.url, "DJANGO_SETTINGS_MODULE": settings}
        subprocess.run(  # noqa: S603
            [PYTHON, "manage.py", "migrate", "--noinput", "--skip-checks", "-v0"],
            cwd=ROOT,
            env=env,
            check=True,
        )
        return self

    def drop(self) -> None:
        _admin_sql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def backend_pids(name: str) -> list[int]:
    """The server processes of every connection to database `name` (their CPU is the
    database's share of a benchmark)."""
    import psycopg

    with psycopg.connect(database_url("postgres"), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s", [name]
        ).fetchall()
    return [row[0] for row in rows]


def database_counters(name: str) -> dict[str, int]:
    """PostgreSQL's cumulative counters of one database (sessions opened, transactions,
    rows), to difference around a phase."""
    import psycopg

    with psycopg.connect(database_url("postgres"), autocommit=True) as conn:
        row = conn.execute(
            "SELECT sessions, xact_commit, xact_rollback, tup_returned, tup_fetched, "
            "tup_inserted, tup_updated FROM pg_stat_database WHERE datname = %s",
            [name],
        ).fetchone()
    keys = ("sessions", "commits", "rollbacks", "rows_returned", "rows_fetched",
            "rows_inserted", "rows_updated")  # fmt: skip
    return dict(zip(keys, row or (0,) * len(keys), strict=True))


def server_version() -> str:
    import psycopg

    with psycopg.connect(database_url("postgres")) as conn:
        return conn.execute("SHOW server_version").fetchone()[0]


# --- Processes ---------------------------------------------------------------------------


def stop_process(process: subprocess.Popen | None, timeout: float = 15) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


class Redis:
    """A private redis-server on a free port, without persistence."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="hangar-bench-redis-")
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> Redis:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        self.process = subprocess.Popen(  # noqa: S603
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip

        def answers() -> bool:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return True
            except OSError:
                return False

        wait_for(answers, 10, what="redis-server")
        return self

    def stop(self) -> None:
        stop_process(self.process)
        shutil.rmtree(self.dir, ignore_errors=True)

    def version(self) -> str:
        binary = shutil.which("redis-server") or "redis-server"
        out = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout  # noqa: S603
        found = re.search(r"v=(\S+)", out)
        return found.group(1) if found else out.strip()


class Worker:
    """One `celery worker` process (and, with prefork, its children) on the bench database."""

    def __init__(
        self, index: int, env: dict[str, str], pool: str, concurrency: int, log_dir: Path
    ) -> None:
        self.log_path = log_dir / f"worker{index}.log"
        self.process = subprocess.Popen(  # noqa: S603
            [PYTHON, "-m", "celery", "-A", "controlpanel", "worker", f"--pool={pool}",
             f"--concurrency={concurrency}", "--loglevel=WARNING", "--without-gossip",
             "--without-mingle", "--without-heartbeat", "-n", f"bench{index}@%h"],
            cwd=ROOT,
            env=env,
            stdout=self.log_path.open("w"),
            stderr=subprocess.STDOUT,
        )  # fmt: skip

    def pids(self) -> list[int]:
        """The worker process and its pool's child processes."""
        pids = [self.process.pid]
        with contextlib.suppress(OSError):
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
            pids += [int(p) for p in children.read_text().split()]
        return pids

    def stop(self) -> None:
        if self.process.poll() is None:
            # Warm shutdown: finish the task at hand, then exit.
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_workers(
    count: int, env: dict[str, str], pool: str, concurrency: int, log_dir: Path
) -> list[Worker]:
    workers = [Worker(i, env, pool, concurrency, log_dir) for i in range(count)]

    def ready() -> bool:
        for worker in workers:
            if worker.process.poll() is not None:
                raise RuntimeError(f"a worker died: {worker.log_path.read_text()[-2000:]}")
        # --loglevel=WARNING hides "ready."; the pool's children exist once it is up.
        if pool == "prefork":
            return all(len(worker.pids()) > concurrency for worker in workers)
        return True

    wait_for(ready, 60, interval=0.2, what="the celery workers")
    time.sleep(2.0 if pool != "prefork" else 0.5)  # connect to the broker, start consuming
    return workers


# --- Memory ------------------------------------------------------------------------------


def _status_kib(pid: int, field: str) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def rss_mib(pid: int) -> float:
    return _status_kib(pid, "VmRSS") / 1024


def peak_rss_mib(pid: int) -> float:
    """The process's resident-set high-water mark since start or the last reset."""
    return _status_kib(pid, "VmHWM") / 1024


def reset_peak_rss(pid: int) -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0, writing "5" to clear_refs)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


# --- CPU ---------------------------------------------------------------------------------


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time a process used so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """How busy the whole machine was between start() and stop(), and the CPU seconds that
    chosen groups of processes used over the same span. A group is a list of pids or a
    function returning them, asked at start and at stop (processes born in between count
    from zero). This process is the group "harness"; "other" is the rest of the machine."""

    def __init__(self, groups: dict[str, Any] | None = None) -> None:
        self.groups = {**(groups or {}), "harness": [os.getpid()]}

    @staticmethod
    def _machine() -> tuple[int, int]:
        fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        idle = fields[3] + fields[4]  # idle + iowait
        return sum(fields) - idle, sum(fields)

    def _sample(self) -> dict[str, dict[int, float]]:
        sample = {}
        for name, pids in self.groups.items():
            found = pids() if callable(pids) else pids
            sample[name] = {pid: process_cpu_seconds(pid) for pid in found}
        return sample

    @staticmethod
    def _everything() -> dict[int, tuple[str, float]]:
        found = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                name = stat[stat.index("(") + 1 : stat.rindex(")")]
                fields = stat.rsplit(")", 1)[1].split()
                found[int(entry.name)] = (name, int(fields[11]) + int(fields[12]))
        return found

    def start(self) -> CpuMeter:
        self._busy, self._total = self._machine()
        self._start = self._sample()
        self._all = self._everything()
        return self

    def stop(self) -> dict[str, float]:
        busy, total = self._machine()
        end = self._sample()
        ticks = os.sysconf("SC_CLK_TCK")
        result = {
            "machine_busy": (busy - self._busy) / max(total - self._total, 1),
            "machine_cpu_seconds": (busy - self._busy) / ticks,
        }
        known = 0.0
        for name, pids in end.items():
            before = self._start.get(name, {})
            used = sum(max(0.0, cpu - before.get(pid, 0.0)) for pid, cpu in pids.items())
            result[f"{name}_cpu_seconds"] = used
            known += used
        result["other_cpu_seconds"] = max(0.0, result["machine_cpu_seconds"] - known)
        # Who the rest were, by process name (processes that ended meanwhile are missed).
        mine = {pid for pids in end.values() for pid in pids}
        others: dict[str, float] = {}
        for pid, (name, cpu) in self._everything().items():
            if pid not in mine:
                used = (cpu - self._all.get(pid, (name, 0))[1]) / ticks
                if used > 0:
                    others[name] = others.get(name, 0.0) + used
        result["other_top"] = dict(sorted(others.items(), key=lambda kv: -kv[1])[:6])
        return result


def foreign_cores(own: dict[str, Any], seconds: float = 1.0) -> float:
    """Cores' worth of CPU that processes other than `own` used over `seconds`."""
    meter = CpuMeter(own).start()
    time.sleep(seconds)
    return meter.stop()["other_cpu_seconds"] / seconds


def wait_for_foreign_quiet(own: dict[str, Any], limit: float, timeout: float) -> float:
    """Wait (at most `timeout` s) until other work on the machine uses under `limit` cores
    (someone's test suite on a shared machine skews everything); returns the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < timeout and foreign_cores(own) > limit:
        pass
    return time.monotonic() - started


# --- The emulator ------------------------------------------------------------------------


class Sandbox:
    """bench/sandbox.py in a process of its own, steered over its stdin. It asks for no
    token: kubectl does not send one to a plain-HTTP server (the clients still carry one)."""

    def __init__(
        self,
        latency: float,
        rollout_delay: float = 0.0,
        quiet: bool = False,
        rollout_spread: float = 0.0,
    ) -> None:
        self.latency = latency
        self.process = subprocess.Popen(  # noqa: S603
            [PYTHON, str(BENCH / "sandbox.py"), "--latency", str(latency),
             "--rollout-delay", str(rollout_delay), "--rollout-spread", str(rollout_spread)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            # quiet: the soak's clients give up on purpose; their broken pipes are noise
            stderr=subprocess.DEVNULL if quiet else None,
            text=True,
        )  # fmt: skip
        line = self.process.stdout.readline().strip()
        if not line.startswith("ready "):
            raise RuntimeError(f"the sandbox did not start: {line!r}")
        self.url = line.split(" ", 1)[1]

    def _ask(self, command: str) -> dict:
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def stats(self) -> dict:
        return self._ask("stats")

    def reset(self) -> None:
        self._ask("reset")

    def objects(self) -> dict:
        return self._ask("objects")

    def populate(self, environments: int) -> dict:
        """Add environments in-process until it holds this many (bench/sandbox.py)."""
        return self._ask(f"populate {environments}")

    def settle(self) -> dict:
        """Wait until every Deployment has rolled out."""
        return self._ask("settle")

    def fault(self, **rule: Any) -> dict:
        """Add a fault rule (clusters.sandbox.faults.Faults.add's keyword arguments)."""
        return self._ask("fault " + json.dumps(rule))

    def clear_faults(self) -> dict:
        return self._ask("clear-faults")

    def lose_state(self) -> dict:
        return self._ask("lose-state")

    def cpu_seconds(self) -> float:
        """User + system CPU time the emulator used so far."""
        return process_cpu_seconds(self.process.pid)

    def kubeconfig(self, path: Path) -> Path:
        path.write_text(
            json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [{"name": "bench", "cluster": {"server": self.url}}],
                    "users": [{"name": "bench", "user": {"token": SANDBOX_TOKEN}}],
                    "contexts": [
                        {"name": "bench", "context": {"cluster": "bench", "user": "bench"}}
                    ],
                    "current-context": "bench",
                }
            )
        )
        return path

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(OSError, ValueError):
                self.process.stdin.write("quit\n")
                self.process.stdin.flush()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                stop_process(self.process)


@contextlib.contextmanager
def sandbox(
    latency: float, rollout_delay: float = 0.0, quiet: bool = False, rollout_spread: float = 0.0
) -> Iterator[Sandbox]:
    emulator = Sandbox(latency, rollout_delay, quiet, rollout_spread)
    try:
        yield emulator
    finally:
        emulator.stop()


# --- The machine -------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory_gib = 0.0
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gib = int(line.split()[1]) / 1024 / 1024
    info: dict[str, Any] = {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(memory_gib, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
    }
    with contextlib.suppress(Exception):
        info["postgresql"] = server_version()
    with contextlib.suppress(Exception):
        info["redis"] = Redis().version()
    with contextlib.suppress(Exception):
        import django
        import kubernetes

        info["django"] = django.get_version()
        info["kubernetes_client"] = kubernetes.__version__
    with contextlib.suppress(Exception):
        import celery

        info["celery"] = celery.__version__
    return info


def write_results(results: dict[str, Any], path: Path | None) -> None:
    """A part's results as JSON: to `path` (bench/run.py reads it), or to stdout."""
    text = json.dumps(results, indent=2, default=str)
    if path is not None:
        path.write_text(text)
    else:
        print(text)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]
