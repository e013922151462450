"""API at scale: gunicorn on loopback over a database of agency volume (bench_seed's
defaults: 1,000 clients, 15,000 environments, 200,000 operations with a million events, a
year of usage, last month's invoices), loaded by wrk on the list and detail endpoints of
environments and operations, on the dashboard page, a client's costs page and the staff
billing console, the API ones side by side with a raw baseline that returns `values()` of
the same rows as JSON (bench/urls.py, benchmarks only).

Also counts each endpoint's queries at page sizes 10, 50 and 200 (in process, Django's
test client), to show they do not grow with the page.

    python bench/api.py --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common
from bench.common import log

LUA = """\
local paths = {%(paths)s}
local i = 0
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %%d, "duration_us": %%d, "p50_us": %%d, "p95_us": %%d, "p99_us": %%d, '
    .. '"mean_us": %%.1f, "max_us": %%d, "non_2xx": %%d, "socket_errors": %%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.mean, latency.max, e.status,
    e.connect + e.read + e.write + e.timeout))
end
"""


def options() -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=int(env("BENCH_CLIENTS", "1000")))
    parser.add_argument("--operations", type=int, default=int(env("BENCH_OPERATIONS", "200000")))
    parser.add_argument("--usage-days", type=int, default=int(env("BENCH_USAGE_DAYS", "365")))
    parser.add_argument("--duration", type=float, default=float(env("BENCH_API_SECONDS", "10")))
    parser.add_argument("--connections", type=int, default=int(env("BENCH_API_CONNECTIONS", "4")))
    parser.add_argument(
        "--gunicorn-workers", type=int, default=int(env("BENCH_GUNICORN_WORKERS", "4"))
    )
    parser.add_argument(
        "--quiet-wait", type=float, default=float(env("BENCH_API_QUIET_WAIT", "20")),
        help="seconds to wait, before each endpoint, for other work on the machine to calm",
    )  # fmt: skip
    parser.add_argument("--database", default=env("BENCH_API_DATABASE", "hangar_bench_api"))
    parser.add_argument("--json", type=Path, default=None)
    return parser.parse_args()


def sessions() -> dict[str, str]:
    """Signed-in sessions, as the sign-in form leaves them: a client owner, and agency staff
    with a verified TOTP device (staff must have one)."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from controlpanel.core.models import User

    found = {}
    for label, email in (("owner", "owner@c0001.bench.test"), ("staff", "admin@bench.test")):
        user = User.objects.get(email=email)
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        if label == "staff":
            device = TOTPDevice.objects.create(user=user, name="bench", confirmed=True)
            store[DEVICE_ID_SESSION_KEY] = device.persistent_id
        store.create()
        found[label] = store.session_key
    return found


def tokens() -> dict[str, str]:
    from controlpanel.core.models import User
    from controlpanel.integrations.tokens import token_create

    return {
        "staff": token_create(
            actor=User.objects.get(email="admin@bench.test"), name="bench", scopes=["read"]
        )[1],
        "owner": token_create(
            actor=User.objects.get(email="owner@c0001.bench.test"), name="bench", scopes=["read"]
        )[1],
    }


def endpoints(auth: dict[str, str], cookies: dict[str, str]) -> list[dict[str, Any]]:
    """What wrk loads: (name, paths rotated through, headers, baseline name)."""
    from clusters.models import Operation
    from sites.models import Environment

    rng = random.Random(7)  # noqa: S311 - sampling ids, not security
    env_ids = list(Environment.objects.values_list("pk", flat=True))
    op_ids = list(Operation.objects.values_list("pk", flat=True))
    envs = rng.sample(env_ids, 200)
    ops = rng.sample(op_ids, 200)
    staff = {"Authorization": f"Bearer {auth['staff']}"}
    owner = {"Authorization": f"Bearer {auth['owner']}"}
    found = [
        {"name": "environments: list", "paths": ["/api/v1/environments/"], "headers": staff,
         "raw": "raw environments: list"},
        {"name": "environments: list (client owner)", "paths": ["/api/v1/environments/"],
         "headers": owner, "raw": "raw environments: list"},
        {"name": "environments: detail",
         "paths": [f"/api/v1/environments/{pk}/" for pk in envs], "headers": staff,
         "raw": "raw environments: detail"},
        {"name": "operations: list", "paths": ["/api/v1/operations/"], "headers": staff,
         "raw": "raw operations: list"},
        {"name": "operations: list (client owner)", "paths": ["/api/v1/operations/"],
         "headers": owner, "raw": "raw operations: list"},
        {"name": "operations: detail", "paths": [f"/api/v1/operations/{pk}/" for pk in ops],
         "headers": staff, "raw": "raw operations: detail"},
        {"name": "dashboard (client owner)", "paths": ["/"],
         "headers": {"Cookie": f"sessionid={cookies['owner']}"}, "raw": "raw dashboard"},
        {"name": STAFF_FIRST, "paths": ["/"],
         "headers": {"Cookie": f"sessionid={cookies['staff']}"}},
        {"name": STAFF_FILTERED, "paths": staff_filtered(rng),
         "headers": {"Cookie": f"sessionid={cookies['staff']}"}},
        {"name": STAFF_SEARCH, "paths": staff_searches(rng),
         "headers": {"Cookie": f"sessionid={cookies['staff']}"}},
        {"name": "costs page (client owner)", "paths": [costs_path()],
         "headers": {"Cookie": f"sessionid={cookies['owner']}"}},
        {"name": "billing console (agency staff)", "paths": ["/staff/billing/"],
         "headers": {"Cookie": f"sessionid={cookies['staff']}"}},
        {"name": "raw environments: list", "paths": ["/bench/raw/environments/"], "headers": {}},
        {"name": "raw environments: detail",
         "paths": [f"/bench/raw/environments/{pk}/" for pk in envs], "headers": {}},
        {"name": "raw operations: list", "paths": ["/bench/raw/operations/"], "headers": {}},
        {"name": "raw operations: detail",
         "paths": [f"/bench/raw/operations/{pk}/" for pk in ops], "headers": {}},
        {"name": "raw dashboard", "paths": ["/bench/raw/dashboard/"],
         "headers": {"Cookie": f"sessionid={cookies['owner']}"}},
    ]  # fmt: skip
    return beside_baselines(found)


def beside_baselines(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each raw baseline measured just before the first endpoint compared with it: on a
    machine shared with other work, the load minutes apart differs more than the code."""
    raws = {e["name"]: e for e in found if e["name"].startswith("raw ")}
    ordered: list[dict[str, Any]] = []
    for endpoint in found:
        raw = raws.pop(endpoint.get("raw") or "", None)
        if raw is not None:
            ordered.append(raw)
        if not endpoint["name"].startswith("raw "):
            ordered.append(endpoint)
    return ordered + list(raws.values())


STAFF_FIRST = "dashboard (agency staff), first page"
STAFF_FILTERED = "dashboard (agency staff), filtered"
STAFF_SEARCH = "dashboard (agency staff), search"


def staff_filtered(rng: random.Random) -> list[str]:
    """Active production environments, pages 1 to 100 (of 100) in a random order."""
    pages = rng.sample(range(1, 101), 100)
    return [f"/?tier=production&status=active&page={page}" for page in pages]


def staff_searches(rng: random.Random) -> list[str]:
    """A client's slug typed in the search box (its 15 environments), 50 clients."""
    return [f"/?search=c{n:04d}" for n in rng.sample(range(1000), 50)]


def query_counts(auth: dict[str, str], cookies: dict[str, str]) -> dict[str, Any]:
    """Queries and time of one request per endpoint and page size (in process)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from clusters.models import Operation
    from sites.models import Environment

    env_id = Environment.objects.order_by("pk").values_list("pk", flat=True)[100]
    op_id = Operation.objects.order_by("pk").values_list("pk", flat=True)[1000]
    client = Client()
    staff = {"HTTP_AUTHORIZATION": f"Bearer {auth['staff']}"}
    owner = {"HTTP_AUTHORIZATION": f"Bearer {auth['owner']}"}
    checks: list[tuple[str, str, dict[str, str]]] = []
    for size in (10, 50, 200):
        checks += [
            (f"environments: list, page {size}", f"/api/v1/environments/?page_size={size}",
             staff),
            (f"environments: list (client owner), page {size}",
             f"/api/v1/environments/?page_size={size}", owner),
            (f"operations: list, page {size}", f"/api/v1/operations/?page_size={size}", staff),
            (f"operations: list (client owner), page {size}",
             f"/api/v1/operations/?page_size={size}", owner),
        ]  # fmt: skip
    checks += [
        ("environments: detail", f"/api/v1/environments/{env_id}/", staff),
        ("operations: detail", f"/api/v1/operations/{op_id}/", staff),
    ]
    results: dict[str, Any] = {}
    client.cookies["sessionid"] = cookies["owner"]
    checks.append(("dashboard (client owner, 15 environments)", "/", {}))
    for name, path, headers in checks:
        client.get(path, **headers)  # warm
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(path, **headers)
            elapsed = time.perf_counter() - started
        results[name] = {
            "status": response.status_code,
            "queries": len(queries.captured_queries),
            "ms": elapsed * 1000,
            "bytes": len(response.content),
        }
    checks = [("costs page (client owner, 15 environments)", costs_path(), {})]
    for name, path, headers in checks:
        results[name] = _measure(client, path, headers)
    results["raw dashboard (client owner)"] = _measure(client, "/bench/raw/dashboard/", {})
    # Agency staff land on the dashboard: a page of the 15,000 environments, filtered or
    # not; and the billing console over every client.
    client.cookies["sessionid"] = cookies["staff"]
    results[STAFF_FIRST] = _measure(client, "/", {})
    results[STAFF_FILTERED] = _measure(client, "/?tier=production&status=active&page=50", {})
    results[STAFF_SEARCH] = _measure(client, "/?search=c0042", {})
    results["billing console (agency staff, 1,000 invoices)"] = _measure(
        client, "/staff/billing/", {}
    )
    return results


def _measure(client: Any, path: str, headers: dict[str, str], warm: bool = True) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    if warm:
        client.get(path, **headers)
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        response = client.get(path, **headers)
        elapsed = time.perf_counter() - started
    return {
        "status": response.status_code,
        "queries": len(queries.captured_queries),
        "ms": elapsed * 1000,
        "bytes": len(response.content),
    }


def costs_path() -> str:
    from controlpanel.core.models import Client

    return f"/clients/{Client.objects.get(slug='c0001').pk}/costs/"


def invoices() -> dict[str, Any]:
    """Last month's drafts for every client (as billing.draft_invoices makes them), and the
    bench owner's issued: what the costs page and the billing console list."""
    import datetime

    from billing.invoicing import invoice_issue, invoices_generate
    from billing.periods import local_today, month_start

    started = time.perf_counter()
    month = month_start(month_start(local_today()) - datetime.timedelta(days=1))
    drafts = invoices_generate(actor=None, month=month)
    for draft in drafts:
        if draft.client.slug == "c0001":
            invoice_issue(actor=None, invoice=draft)
    return {"drafts": len(drafts), "seconds": time.perf_counter() - started}


def run_wrk(url: str, endpoint: dict, seconds: float, connections: int, work: Path) -> dict:
    script = work / "wrk.lua"
    script.write_text(LUA % {"paths": ", ".join(json.dumps(p) for p in endpoint["paths"])})
    headers = [arg for k, v in endpoint["headers"].items() for arg in ("-H", f"{k}: {v}")]
    command = ["wrk", "-t1", f"-c{connections}", "-s", str(script), "--timeout", "10s", *headers]
    # A short warm-up (imports, connections, caches), then the measured run.
    subprocess.run([*command, "-d2s", url], capture_output=True, check=True)  # noqa: S603
    done = subprocess.run(  # noqa: S603
        [*command, f"-d{seconds:g}s", url], capture_output=True, text=True, check=True
    )
    line = next(line for line in done.stdout.splitlines() if line.startswith("{"))
    found = json.loads(line)
    return {
        "requests": found["requests"],
        "requests_per_second": found["requests"] / (found["duration_us"] / 1e6),
        "p50_ms": found["p50_us"] / 1000,
        "p95_ms": found["p95_us"] / 1000,
        "p99_ms": found["p99_us"] / 1000,
        "mean_ms": found["mean_us"] / 1000,
        "max_ms": found["max_us"] / 1000,
        "non_2xx": found["non_2xx"],
        "socket_errors": found["socket_errors"],
    }


def main() -> int:
    args = options()
    if shutil.which("wrk") is None:
        result = {"unavailable": "wrk is not installed (apt-get install -y wrk)"}
        if args.json:
            args.json.write_text(json.dumps(result))
        return 0
    database = common.Database(args.database)
    work = Path(tempfile.mkdtemp(prefix="hangar-bench-api-"))
    results: dict[str, Any] = {
        "connections": args.connections,
        "gunicorn_workers": args.gunicorn_workers,
        "seconds_per_endpoint": args.duration,
    }
    server = None
    try:
        database.create()
        os.environ.update(
            {
                "DATABASE_URL": database.url,
                "DJANGO_SETTINGS_MODULE": "bench.settings",
                # Reads only; a broker URL keeps the embedded worker thread out of gunicorn.
                "CELERY_BROKER_URL": "redis://127.0.0.1:1/0",
                "HANGAR_OPERATION_DISPATCH": "none",
            }
        )
        import django

        django.setup()
        from django.db import connection

        started = time.perf_counter()
        timings: dict[str, float] = {}
        from controlpanel.management.commands.bench_seed import seed

        counts = seed(clients=args.clients, operations=args.operations,
                      usage_days=args.usage_days, timings=timings)  # fmt: skip
        results["seed"] = {
            "rows": counts,
            "seconds": time.perf_counter() - started,
            "stages": timings,
        }
        log(f"seeded in {results['seed']['seconds']:.0f}s")
        results["invoices"] = invoices()
        # Vacuum now: left to autovacuum, the freshly inserted millions of rows are vacuumed
        # while the first endpoints are measured (a core of "other load" in their rows), and
        # index-only scans wait for the visibility map.
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        results["seed"]["vacuum_seconds"] = time.perf_counter() - started
        log(f"vacuumed in {results['seed']['vacuum_seconds']:.0f}s")
        auth, cookies = tokens(), sessions()
        targets = endpoints(auth, cookies)
        results["queries"] = query_counts(auth, cookies)
        connection.close()

        port = common.free_port()
        server = subprocess.Popen(  # noqa: S603
            [common.PYTHON, "-m", "gunicorn", "controlpanel.wsgi:application",
             "--bind", f"127.0.0.1:{port}", "--workers", str(args.gunicorn_workers),
             "--worker-class", "sync", "--log-level", "warning"],
            cwd=common.ROOT,
            env=os.environ.copy(),
            stdout=(work / "gunicorn.log").open("w"),
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        common.wait_for(lambda: _answers(url), 60, interval=0.2, what="gunicorn")
        results["endpoints"] = {}
        own = {
            "gunicorn": lambda: [server.pid, *_children(server.pid)],
            "postgres": lambda: common.backend_pids(args.database),
        }
        for endpoint in targets:
            waited = common.wait_for_foreign_quiet(own, 0.25, args.quiet_wait)
            meter = common.CpuMeter(own).start()
            measured = run_wrk(url, endpoint, args.duration, args.connections, work)
            cpu = meter.stop()
            measured["cpu"] = cpu
            measured["waited_for_quiet_seconds"] = waited
            # wrk runs as a child of this process; its CPU is "other" too: a small share.
            measured["foreign_cores"] = cpu["other_cpu_seconds"] / (args.duration + 2)
            measured["raw"] = endpoint.get("raw")
            results["endpoints"][endpoint["name"]] = measured
            log(
                f"{endpoint['name']}: p50 {measured['p50_ms']:.1f} ms, p95 "
                f"{measured['p95_ms']:.1f} ms, {measured['requests_per_second']:.0f}/s"
            )
        for measured in results["endpoints"].values():
            raw = results["endpoints"].get(measured.get("raw") or "")
            # A baseline that answered nothing (the machine too busy) has no ratio to give.
            if raw and raw["p95_ms"] and raw["requests_per_second"]:
                measured["p95_vs_raw"] = measured["p95_ms"] / raw["p95_ms"]
                measured["throughput_vs_raw"] = (
                    measured["requests_per_second"] / raw["requests_per_second"]
                )
    finally:
        common.stop_process(server)
        from django.db import connections

        connections.close_all()
        database.drop()
        shutil.rmtree(work, ignore_errors=True)
    common.write_results(results, args.json)
    return 0


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _answers(url: str) -> bool:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:  # noqa: S310
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


if __name__ == "__main__":
    sys.exit(main())
