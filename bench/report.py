"""Turn one run's results (bench/results/*.json) into tables and the goals, as text.

python bench/report.py bench/results/latest.json
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

PHASES = ("provision", "image update", "no-op re-deploy")


def table(headers: list[str], rows: list[list[Any]]) -> str:
    """A Markdown table (readable as plain text too)."""
    cells = [[str(c) for c in headers]] + [[_cell(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for index, row in enumerate(cells):
        lines.append(
            "| " + " | ".join(c.ljust(w) if i == 0 else c.rjust(w)
                              for i, (c, w) in enumerate(zip(row, widths, strict=True))) + " |"
        )  # fmt: skip
        if index == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        if math.isnan(value):
            return "—"
        return f"{value:.2f}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def _verbs(requests: dict[str, Any] | None) -> str:
    if not requests:
        return "—"
    return " ".join(f"{k} {v}" for k, v in sorted((requests.get("by_method") or {}).items()))


def _ratio(a: float | None, b: float | None) -> float | None:
    if not a or not b:
        return None
    return a / b


# --- fleet ---------------------------------------------------------------------------------


def fleet_tools(fleet: dict[str, Any]) -> list[tuple[str, dict[str, Any] | None, str]]:
    """(label, phases, note) per tool."""
    tools: list[tuple[str, dict[str, Any] | None, str]] = []
    hangar = fleet.get("hangar") or {}
    tools.append(
        ("Hangar fleet deploy", hangar.get("phases"), "Celery workers, waits for rollouts")
    )
    raw = fleet.get("raw") or {}
    tools.append((f"raw apply, {fleet.get('concurrency')}-way", raw.get("phases"),
                  "official client, every object, no waiting"))  # fmt: skip
    kubectl = fleet.get("kubectl") or {}
    if kubectl.get("unavailable"):
        tools.append(("kubectl apply --server-side", None, kubectl["unavailable"]))
    for variant, found in (kubectl.get("variants") or {}).items():
        version = (kubectl.get("tool") or {}).get("version", "")
        tools.append((f"kubectl {version} ({variant})", found.get("phases"), "--validate=false"))
    ansible = fleet.get("ansible") or {}
    if ansible.get("unavailable"):
        tools.append(("Ansible kubernetes.core.k8s", ansible.get("phases"), ansible["unavailable"]))
    elif ansible:
        note = f"forks {ansible.get('forks')}, one task per object"
        if ansible.get("extrapolated"):
            note += (
                f"; EXTRAPOLATED x{ansible['scale']:.1f} from "
                f"{ansible['environments_measured']} environments"
            )
        tools.append(("Ansible kubernetes.core.k8s", ansible.get("phases"), note))
    return tools


def fleet_section(fleet: dict[str, Any]) -> str:
    if fleet.get("error"):
        return f"Fleet rollout: FAILED: {fleet['error']}"
    lines = [
        f"Fleet rollout: {fleet.get('environments')} environments "
        f"({(fleet.get('objects') or {}).get('total', '?')} objects), "
        f"{fleet.get('latency_seconds', 0) * 1000:g} ms per API request, cluster limit "
        f"{fleet.get('concurrency')}, workers {fleet['workers']['processes']} x "
        f"{fleet['workers']['pool']} x {fleet['workers']['concurrency_each']}, "
        f"poll {fleet.get('poll_seconds')} s",
        "",
    ]
    rows = []
    hangar_update = ((fleet.get("hangar") or {}).get("phases") or {}).get("image update") or {}
    for label, phases, note in fleet_tools(fleet):
        phases = phases or {}
        update = phases.get("image update") or {}
        rows.append([
            label,
            (phases.get("provision") or {}).get("seconds"),
            update.get("seconds"),
            (update.get("requests") or {}).get("writes"),
            (phases.get("no-op re-deploy") or {}).get("seconds"),
            ((phases.get("no-op re-deploy") or {}).get("requests") or {}).get("writes"),
            _ratio(update.get("seconds"), hangar_update.get("seconds")),
            note,
        ])  # fmt: skip
    bound = fleet.get("bound") or {}
    if bound:
        rows.append([
            "bound: writes x latency / concurrency",
            (bound.get("provision") or {}).get("seconds"),
            (bound.get("image update") or {}).get("seconds"),
            (bound.get("image update") or {}).get("writes"),
            (bound.get("no-op re-deploy") or {}).get("seconds"),
            (bound.get("no-op re-deploy") or {}).get("writes"),
            _ratio((bound.get("image update") or {}).get("seconds"), hangar_update.get("seconds")),
            "Hangar's writes",
        ])  # fmt: skip
    headers = ["tool", "provision s", "image update s", "writes", "no-op s", "no-op writes",
               "update vs Hangar", "note"]  # fmt: skip
    lines.append(table(headers, rows))
    lines.append("")
    request_rows = []
    for label, phases, _ in fleet_tools(fleet):
        if phases:
            request_rows.append([label, *[_verbs((phases.get(p) or {}).get("requests"))
                                          for p in PHASES]])  # fmt: skip
    lines.append(table(["API requests by verb", *PHASES], request_rows))
    return "\n".join(lines)


# --- API -----------------------------------------------------------------------------------


def api_section(api: dict[str, Any]) -> str:
    if api.get("error") or api.get("unavailable"):
        return f"API at scale: NOT MEASURED: {api.get('error') or api.get('unavailable')}"
    seed = (api.get("seed") or {}).get("rows") or {}
    lines = [
        f"API at scale: {seed.get('environments', '?'):,} environments, "
        f"{seed.get('operations', '?'):,} operations, {seed.get('operation events', '?'):,} "
        f"events, {seed.get('environment usage days', '?'):,} usage days; gunicorn "
        f"{api.get('gunicorn_workers')} sync workers, wrk {api.get('connections')} connections, "
        f"{api.get('seconds_per_endpoint')} s per endpoint",
        "",
    ]
    queries = api.get("queries") or {}
    rows = []
    for name, found in (api.get("endpoints") or {}).items():
        counts = [
            (queries.get(f"{name}, page {size}") or {}).get("queries") for size in (10, 50, 200)
        ]
        if not any(counts):
            single = queries.get(name) or next(
                (v for k, v in queries.items() if k.startswith(name)), {}
            )
            counts = [single.get("queries")] if single else [None]
        rows.append([
            name, found["p50_ms"], found["p95_ms"], found["p99_ms"],
            found["requests_per_second"], "/".join(_cell(c) for c in counts),
            found.get("p95_vs_raw"), found["non_2xx"] + found["socket_errors"],
            found.get("foreign_cores"),
        ])  # fmt: skip
    headers = ["endpoint", "p50 ms", "p95 ms", "p99 ms", "req/s", "queries (page 10/50/200)",
               "p95 vs raw", "errors", "other load (cores)"]  # fmt: skip
    lines.append(table(headers, rows))
    staff = queries.get("dashboard (agency staff, every environment)")
    if staff:
        lines.append("")
        lines.append(
            f"Dashboard for agency staff (every environment on one page): {staff['ms']:.0f} ms, "
            f"{staff['queries']} queries, {staff['bytes'] / 1024:.0f} KiB (one request)"
        )
    return "\n".join(lines)


# --- memory --------------------------------------------------------------------------------


def memory_rows(results: dict[str, Any]) -> list[list[Any]]:
    rows = []
    for label, found in sorted(
        ((results.get("memory") or {}).get("runs") or {}).items(), key=lambda kv: int(kv[0])
    ):
        memory = ((found.get("phases") or {}).get("image update") or {}).get("memory") or {}
        rows.append([
            f"{label} environments", found.get("note", ""),
            memory.get("peak_rss_mib_max"), memory.get("peak_rss_mib_total"),
            ((found.get("phases") or {}).get("image update") or {}).get("seconds"),
        ])  # fmt: skip
    return rows


def memory_section(results: dict[str, Any]) -> str:
    memory = results.get("memory") or {}
    if memory.get("error"):
        return f"Worker memory: FAILED: {memory['error']}"
    rows = memory_rows(results)
    if not rows:
        return "Worker memory: not measured"
    return "Worker memory during the fleet image update (peak RSS, VmHWM)\n\n" + table(
        ["fleet", "run", "largest worker MiB", "all workers MiB", "update s"], rows
    )


# --- billing -------------------------------------------------------------------------------


def billing_section(billing: dict[str, Any]) -> str:
    if billing.get("error"):
        return f"Billing: FAILED: {billing['error']}"
    rows = [[s["step"], s["rows"], s["seconds"], s["queries"]] for s in billing.get("steps", [])]
    return (
        f"Billing: a month of {billing.get('clients')} clients x "
        f"{(billing.get('environments') or 0) // max(billing.get('clients') or 1, 1)} "
        "environments\n\n" + table(["step", "rows", "seconds", "queries"], rows)
    )


# --- idle emulator -------------------------------------------------------------------------


def idle_section(idle: dict[str, Any]) -> str:
    if idle.get("error"):
        return f"Idle emulator: FAILED: {idle['error']}"
    rows = [
        [size, run.get("objects"), run.get("core_percent"), run.get("span_seconds"),
         run.get("settle_seconds"), " / ".join(str(x) for x in run.get("load_average") or [])]
        for size, run in (idle.get("runs") or {}).items()
    ]  # fmt: skip
    return "The emulator at rest (no requests), CPU as a share of one core\n\n" + table(
        ["environments", "objects", "% of a core", "watched s", "settled in s", "load avg"], rows
    )


# --- goals ---------------------------------------------------------------------------------


def goals(results: dict[str, Any]) -> list[dict[str, Any]]:
    fleet = results.get("fleet") or {}

    def seconds(tool: dict[str, Any] | None, phase: str) -> float | None:
        return (((tool or {}).get("phases") or {}).get(phase) or {}).get("seconds")

    hangar, raw = fleet.get("hangar"), fleet.get("raw")
    ansible = fleet.get("ansible") if not (fleet.get("ansible") or {}).get("unavailable") else None
    kubectl = (fleet.get("kubectl") or {}).get("variants") or {}
    kubectl_one = kubectl.get("1 process")
    found = []

    def goal(name: str, measured: float | None, target: str, met: bool | None, note: str = ""):
        found.append(
            {"goal": name, "measured": measured, "target": target, "met": met, "note": note}
        )

    update = seconds(hangar, "image update")
    ratio = _ratio(update, seconds(raw, "image update"))
    goal("fleet image update vs raw 8-way apply (time ratio)", ratio, "<= 1.0",
         None if ratio is None else ratio <= 1.0)  # fmt: skip
    ratio = _ratio(seconds(ansible, "image update"), update)
    goal("faster than Ansible (x)", ratio, ">= 15", None if ratio is None else ratio >= 15,
         "Ansible extrapolated" if (ansible or {}).get("extrapolated") else "")  # fmt: skip
    ratio = _ratio(seconds(kubectl_one, "image update"), update)
    goal("faster than kubectl, 1 process (x)", ratio, ">= 6",
         None if ratio is None else ratio >= 6)  # fmt: skip
    eight = next((v for k, v in kubectl.items() if k != "1 process"), None)
    ratio = _ratio(seconds(eight, "image update"), update)
    goal("faster than kubectl, parallel processes (x)", ratio, "(reference)", None)
    ratio = _ratio(seconds(hangar, "provision"), seconds(raw, "provision"))
    goal("first provisioning vs raw apply (time ratio)", ratio, "<= 1.5",
         None if ratio is None else ratio <= 1.5)  # fmt: skip
    writes = ((((hangar or {}).get("phases") or {}).get("no-op re-deploy") or {})
              .get("requests") or {}).get("writes")  # fmt: skip
    goal("no-op re-deploy writes", writes, "0", None if writes is None else writes == 0)

    api = results.get("api") or {}
    queries = api.get("queries") or {}
    lists = sorted({k.rsplit(", page", 1)[0] for k in queries if ", page" in k})
    constant = [
        len({(queries.get(f"{name}, page {size}") or {}).get("queries") for size in (10, 50, 200)})
        == 1
        for name in lists
    ]
    if lists:
        goal("list endpoints: constant query count (pages of 10/50/200)",
             float(sum(constant)), f"{len(lists)} of {len(lists)}", all(constant))  # fmt: skip
    worst = None
    for name, endpoint in (api.get("endpoints") or {}).items():
        if ": list" in name and not name.startswith("raw") and endpoint.get("p95_vs_raw"):
            worst = max(worst or 0, endpoint["p95_vs_raw"])
    goal("list endpoints: p95 vs raw values() baseline (worst)", worst, "<= 2",
         None if worst is None else worst <= 2)  # fmt: skip

    soak = results.get("soak") or {}
    if "cluster" in soak:
        wrong = soak["cluster"]["false_successes"]
        goal("fault soak: false successes (database says, cluster differs)", float(wrong), "0",
             wrong == 0, "see the soak table")  # fmt: skip
        stall = soak.get("longest_stall_seconds")
        goal("fault soak: longest stall", stall, "<= 60 s",
             None if stall is None else stall <= 60)  # fmt: skip
        converge = soak.get("converge_seconds")
        goal("fault soak: converged after the faults", converge, "<= 180 s",
             converge is not None)  # fmt: skip

    idle_runs = (results.get("idle") or {}).get("runs") or {}
    if idle_runs:
        size = max(idle_runs, key=int)
        percent = idle_runs[size].get("core_percent")
        goal(f"idle emulator CPU at {size} environments (% of a core)", percent, "< 1",
             None if percent is None else percent < 1)  # fmt: skip

    rows = memory_rows(results)
    if len(rows) >= 2 and rows[0][2] and rows[-1][2]:
        ratio = rows[-1][2] / rows[0][2]
        goal(f"worker peak RSS, {rows[-1][0]} vs {rows[0][0]} (ratio)", ratio, "<= 1.10",
             ratio <= 1.10, rows[-1][1])  # fmt: skip
    return found


def soak_section(soak: dict[str, Any]) -> str:
    """The fault soak (bench/soak.py): what was accepted and how it ended."""
    if soak.get("error"):
        return f"Fault soak: {soak['error']}"
    ops = soak.get("operations") or {}
    cluster = soak.get("cluster") or {}
    before = soak.get("before_state_loss") or {}
    logs = soak.get("logs") or {}
    by_status = ops.get("by_status") or {}
    outage = [e for e in soak.get("events", []) if e["what"].startswith("fleet deploy")]
    rows = [
        ["operations accepted", ops.get("accepted")],
        ["succeeded", by_status.get("succeeded", 0)],
        ["failed", by_status.get("failed", 0)],
        ["still pending or running at the end",
         by_status.get("pending", 0) + by_status.get("running", 0)],
        ["false successes at the end (active, cluster differs)", cluster.get("false_successes")],
        ["  of which: Deployment missing / image / replicas",
         "{missing} / {image} / {replicas}".format(**(cluster.get("by_difference")
                                                     or {"missing": "-", "image": "-",
                                                         "replicas": "-"}))],
        ["false successes before the state loss (settled environments)",
         f"{before.get('false_successes')} of {before.get('environments_compared')}"],
        ["longest stall (s)", soak.get("longest_stall_seconds")],
        ["time to converge after the faults (s)", soak.get("converge_seconds")],
        ["deliveries refused by a claim", logs.get("runs_refused")],
        ["runs that lost their claim and stopped", logs.get("runs_that_lost_their_claim")],
        ["worker processes restarted (as a kubelet would)", soak.get("processes_restarted")],
        ["fleet deploy call (s), each", ", ".join(str(e.get("seconds", "refused"))
                                                   for e in outage)],
    ]  # fmt: skip
    errors = ops.get("errors") or {}
    causes = [[cause, count] for cause, count in errors.items()] if isinstance(errors, dict) else []
    return (
        f"Fault soak: {soak.get('environments')} environments, "
        f"{soak.get('soak_seconds')} s of faults (bench/soak.py, docs/reliability.md)\n\n"
        + table(["", "measured"], rows)
        + (
            "\n\nFailed operations by cause\n\n" + table(["error", "operations"], causes)
            if causes
            else ""
        )
    )


def goals_section(results: dict[str, Any]) -> str:
    rows = [
        [g["goal"], g["measured"], g["target"],
         {True: "met", False: "MISSED", None: "—"}[g["met"]], g["note"]]
        for g in results.get("goals") or goals(results)
    ]  # fmt: skip
    return "Goals (reported, not enforced)\n\n" + table(
        ["goal", "measured", "target", "", "note"], rows
    )


def machine_section(results: dict[str, Any]) -> str:
    m = results.get("machine") or {}
    load = results.get("load") or {}
    return (
        f"Machine: {m.get('cores')} cores ({m.get('cpu')}), {m.get('memory_gib')} GiB, "
        f"{m.get('os')}; Python {m.get('python')}, PostgreSQL {m.get('postgresql')}, "
        f"Redis {m.get('redis')}, Django {m.get('django')}, Celery {m.get('celery')}, "
        f"kubernetes client {m.get('kubernetes_client')}\n"
        f"Load average before: {load.get('before')}, after: {load.get('after')}; "
        f"run took {results.get('seconds', 0) / 60:.1f} min ({results.get('started_at')})"
    )


def render(results: dict[str, Any]) -> str:
    parts = [machine_section(results)]
    if "fleet" in results:
        parts.append(fleet_section(results["fleet"]))
    if "memory" in results:
        parts.append(memory_section(results))
    if "api" in results:
        parts.append(api_section(results["api"]))
    if "billing" in results:
        parts.append(billing_section(results["billing"]))
    if "idle" in results:
        parts.append(idle_section(results["idle"]))
    if "soak" in results:
        parts.append(soak_section(results["soak"]))
    parts.append(goals_section(results))
    return "\n\n".join(parts) + "\n"


if __name__ == "__main__":
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "bench/results/latest.json")
    print(render(json.loads(path.read_text())))
