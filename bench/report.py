"""Turn one run's results (bench/results/*.json) into tables and the goals, as text.

python bench/report.py bench/results/latest.json
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any, NamedTuple

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


class Tool(NamedTuple):
    label: str
    phases: dict[str, Any] | None
    note: str
    environments: int | None  # how many it really applied


def fleet_tools(fleet: dict[str, Any]) -> list[Tool]:
    """Every tool of the fleet part, Hangar first."""
    size = fleet.get("environments")
    tools = [
        Tool("Hangar fleet deploy", (fleet.get("hangar") or {}).get("phases"),
             "Celery workers, waits for rollouts", size),
        Tool(f"raw apply, {fleet.get('concurrency')}-way", (fleet.get("raw") or {}).get("phases"),
             "official client, every object, no waiting", size),
    ]  # fmt: skip
    kubectl = fleet.get("kubectl") or {}
    if kubectl.get("unavailable"):
        tools.append(Tool("kubectl apply --server-side", None, kubectl["unavailable"], None))
    for variant, found in (kubectl.get("variants") or {}).items():
        version = (kubectl.get("tool") or {}).get("version", "")
        tools.append(
            Tool(f"kubectl {version} ({variant})", found.get("phases"), "--validate=false", size)
        )
    ansible = fleet.get("ansible") or {}
    if ansible:
        note, applied = ansible_note(fleet, ansible), ansible_environments(fleet, ansible)
        tools.append(Tool("Ansible kubernetes.core.k8s", ansible.get("phases"), note, applied))
    return tools


def ansible_environments(fleet: dict[str, Any], ansible: dict[str, Any]) -> int | None:
    if "extrapolated" in ansible:  # results from before it was measured: scaled to the fleet
        return fleet.get("environments")
    return ansible.get("environments_measured")


def ansible_note(fleet: dict[str, Any], ansible: dict[str, Any]) -> str:
    if ansible.get("unavailable"):
        return str(ansible["unavailable"])
    note = f"forks {ansible.get('forks')}, one task per object"
    if ansible.get("extrapolated"):
        return note + f"; EXTRAPOLATED x{ansible['scale']:.1f} from " \
            f"{ansible['environments_measured']} environments"  # fmt: skip
    measured, size = ansible.get("environments_measured"), fleet.get("environments")
    if not ansible.get("projected"):
        return note + f"; measured on all {measured} environments"
    projected = ((ansible.get("phases") or {}).get("image update") or {}).get("projected_seconds")
    return note + (
        f"; measured on {measured} of {size} environments; {size} PROJECTED (linear, "
        f"not measured): {_cell(projected)} s for the update"
    )


def _per_environment(tool: Tool, phase: str) -> float | None:
    """Milliseconds per environment the tool really applied."""
    found = ((tool.phases or {}).get(phase) or {}).get("seconds")
    return None if found is None or not tool.environments else found * 1000 / tool.environments


def fleet_section(fleet: dict[str, Any]) -> str:
    if fleet.get("error"):
        return f"Fleet rollout: FAILED: {fleet['error']}"
    rollout = (fleet.get("hangar") or {}).get("rollout_seconds") or [0, 0]
    lines = [
        f"Fleet rollout: {fleet.get('environments')} environments "
        f"({(fleet.get('objects') or {}).get('total', '?')} objects), "
        f"{fleet.get('latency_seconds', 0) * 1000:g} ms per API request, cluster limit "
        f"{fleet.get('concurrency')}, workers {fleet['workers']['processes']} x "
        f"{fleet['workers']['pool']} x {fleet['workers']['concurrency_each']}, "
        f"poll {fleet.get('poll_seconds')} s, Hangar's rollouts "
        + (f"{rollout[0]:g}-{rollout[-1]:g} s" if rollout[-1] else "at once"),
        "",
    ]
    tools = fleet_tools(fleet)
    hangar_rate = _per_environment(tools[0], "image update")
    rows = []
    for tool in tools:
        phases = tool.phases or {}
        update = phases.get("image update") or {}
        noop = phases.get("no-op re-deploy") or {}
        rows.append([
            tool.label, tool.environments,
            (phases.get("provision") or {}).get("seconds"),
            update.get("seconds"),
            (update.get("requests") or {}).get("writes"),
            noop.get("seconds"),
            (noop.get("requests") or {}).get("writes"),
            _per_environment(tool, "image update"),
            _ratio(_per_environment(tool, "image update"), hangar_rate),
            tool.note,
        ])  # fmt: skip
    bound = fleet.get("bound") or {}
    if bound:
        update = bound.get("image update") or {}
        rate = _ratio(1000 * (update.get("seconds") or 0), fleet.get("environments"))
        rows.append([
            "bound: writes x latency / concurrency", fleet.get("environments"),
            (bound.get("provision") or {}).get("seconds"),
            update.get("seconds"), update.get("writes"),
            (bound.get("no-op re-deploy") or {}).get("seconds"),
            (bound.get("no-op re-deploy") or {}).get("writes"),
            rate, _ratio(rate, hangar_rate), "Hangar's writes",
        ])  # fmt: skip
    headers = ["tool", "environments", "provision s", "image update s", "writes", "no-op s",
               "no-op writes", "update ms per environment", "update vs Hangar (per environment)",
               "note"]  # fmt: skip
    lines.append(table(headers, rows))
    for phase in PHASES:
        lines += ["", phase_table(tools, phase)]
    return "\n".join(lines)


def phase_table(tools: list[Tool], phase: str) -> str:
    """One phase, every tool side by side: when its writes began and ended (what follows the
    last write is waiting for rollouts), the CPU its own processes and the API server used,
    and its API requests by verb."""
    rows = []
    for tool in tools:
        found = (tool.phases or {}).get(phase)
        if not found:
            continue
        cpu = found.get("cpu") or {}
        last = found.get("last_write_seconds")
        rows.append([
            tool.label, tool.environments, found.get("seconds"),
            found.get("first_write_seconds"), last,
            None if last is None or found.get("seconds") is None else found["seconds"] - last,
            cpu.get("tool_cpu_seconds"), cpu.get("emulator_cpu_seconds"),
            _verbs(found.get("requests")),
        ])  # fmt: skip
    headers = [phase, "environments", "seconds", "first write s", "last write s",
               "after last write s", "tool CPU s", "API server CPU s",
               "API requests by verb"]  # fmt: skip
    return table(headers, rows)


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


def fleet_goals(fleet: dict[str, Any], goal: Any) -> None:
    def phase(tool: dict[str, Any] | None, name: str) -> dict[str, Any]:
        return ((tool or {}).get("phases") or {}).get(name) or {}

    size = fleet.get("environments")
    hangar, raw = fleet.get("hangar") or {}, fleet.get("raw") or {}
    update, raw_update = phase(hangar, "image update"), phase(raw, "image update")
    slowest = max((hangar.get("rollout_seconds") or [0]) + [0])
    wall = None if raw_update.get("seconds") is None else raw_update["seconds"] + slowest
    goal("fleet image update vs raw apply + slowest rollout (time ratio)",
         _ratio(update.get("seconds"), wall), "<= 1.0", lambda x: x <= 1.0,
         "" if wall is None else f"raw {raw_update['seconds']:.2f} s + {slowest:g} s")  # fmt: skip
    goal("fleet image update: last write vs raw apply (time ratio)",
         _ratio(update.get("last_write_seconds"), raw_update.get("seconds")), "<= 1.5",
         lambda x: x <= 1.5)  # fmt: skip
    noop = phase(hangar, "no-op re-deploy")
    requests = noop.get("requests") or {}
    goal("no-op re-deploy writes", requests.get("writes"), "0", lambda x: x == 0)
    reads = (requests.get("by_method") or {}).get("GET", 0) if requests else None
    goal("no-op re-deploy reads per environment",
         None if reads is None or not size else reads / size, "<= 1", lambda x: x <= 1,
         f"{reads} reads, {size} environments" if requests else "")  # fmt: skip
    goal(f"no-op re-deploy seconds ({size} environments)", noop.get("seconds"), "<= 0.5",
         lambda x: x <= 0.5)  # fmt: skip
    goal("first provisioning vs raw apply (time ratio)",
         _ratio(phase(hangar, "provision").get("seconds"), phase(raw, "provision").get("seconds")),
         "<= 1.5", lambda x: x <= 1.5)  # fmt: skip

    ansible = fleet.get("ansible") or {}
    measured = None if ansible.get("unavailable") else ansible.get("environments_measured")
    wanted = min(40, size or 40)
    rate = None if "extrapolated" in ansible else phase(ansible, "image update").get(
        "seconds_per_environment")  # fmt: skip
    goal("Ansible measured, not extrapolated (environments applied)", measured, f">= {wanted}",
         lambda x: x >= wanted and "extrapolated" not in ansible,
         ansible.get("unavailable") or ("extrapolated" if "extrapolated" in ansible else
         "" if rate is None else f"{rate:.2f} s per environment (image update)"))  # fmt: skip

    # Earlier goals, on per-environment rates (Ansible may apply fewer than the fleet).
    tools = {tool.label: tool for tool in fleet_tools(fleet)}
    hangar_rate = _per_environment(tools["Hangar fleet deploy"], "image update")
    ansible_tool = tools.get("Ansible kubernetes.core.k8s")
    goal("faster than Ansible (x, per environment)",
         None if ansible.get("unavailable") or ansible_tool is None
         else _ratio(_per_environment(ansible_tool, "image update"), hangar_rate),
         ">= 15", lambda x: x >= 15, ansible_note(fleet, ansible) if ansible else "")  # fmt: skip
    kubectl = [tool for label, tool in tools.items() if label.startswith("kubectl ")]
    for tool in kubectl:
        one = tool.label.endswith("(1 process)")
        goal(f"faster than {tool.label} (x)",
             _ratio(_per_environment(tool, "image update"), hangar_rate),
             ">= 6" if one else "(reference)", (lambda x: x >= 6) if one else None)  # fmt: skip


def api_goals(api: dict[str, Any], goal: Any) -> None:
    queries = api.get("queries") or {}
    endpoints = api.get("endpoints") or {}
    lists = sorted({k.rsplit(", page", 1)[0] for k in queries if ", page" in k})
    constant = [
        len({(queries.get(f"{name}, page {size}") or {}).get("queries") for size in (10, 50, 200)})
        == 1
        for name in lists
    ]
    goal("list endpoints: constant query count (pages of 10/50/200)",
         float(sum(constant)) if lists else None,
         f"{len(lists)} of {len(lists)}" if lists else "all",
         lambda _: all(constant))  # fmt: skip

    def worst(chosen: list[str]) -> tuple[float | None, str]:
        ratios = [(endpoints[n]["p95_vs_raw"], n) for n in chosen
                  if endpoints[n].get("p95_vs_raw")]  # fmt: skip
        return max(ratios) if ratios else (None, "")

    product = [name for name in endpoints if not name.startswith("raw")]
    ratio, name = worst([n for n in product if ": list" in n])
    goal("list endpoints: p95 vs raw values() baseline (worst)", ratio, "<= 2",
         lambda x: x <= 2, name)  # fmt: skip
    staff = [n for n in product if "dashboard" in n.lower() and "staff" in n.lower()]
    p95 = endpoints[staff[0]].get("p95_ms") if staff else None
    goal("staff dashboard p95 (ms)", p95, "<= 300", lambda x: x <= 300,
         staff[0] if staff else "the api part has no staff dashboard endpoint")  # fmt: skip
    ratio, name = worst([n for n in product if "dashboard" in n.lower() and "owner" in n.lower()])
    goal("owner dashboard: p95 vs its baseline", ratio, "<= 3", lambda x: x <= 3, name)
    ratio, name = worst([n for n in product if ": detail" in n])
    goal("detail pages: p95 vs raw baseline (worst)", ratio, "<= 2", lambda x: x <= 2, name)


def goals(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 23's goals first, one row each, then the earlier ones; every figure from this
    run's results. A goal whose part did not run (or did not measure it) says so."""
    found: list[dict[str, Any]] = []

    def goal(name: str, measured: float | None, target: str, ok: Any, note: str = "") -> None:
        """ok: a test of the measured figure, a verdict already made, or None (reference)."""
        if isinstance(ok, bool):
            met: bool | None = ok
        else:
            met = None if measured is None or ok is None else bool(ok(measured))
        found.append(
            {"goal": name, "measured": measured, "target": target, "met": met, "note": note}
        )

    fleet_goals(results.get("fleet") or {}, goal)
    api_goals(results.get("api") or {}, goal)
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


def _status(found: dict[str, Any]) -> str:
    if found["met"] is None:
        return "not measured" if found["measured"] is None else "—"
    return "met" if found["met"] else "MISSED"


def goals_section(results: dict[str, Any]) -> str:
    rows = [
        [g["goal"], g["measured"], g["target"],
         _status(g), g["note"]]
        for g in goals(results)
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
