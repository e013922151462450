"""Billing benchmark: a month of 1,000 clients x 10 environments, end to end.

    make bench                                  # every benchmark (bench/run.py)
    .venv/bin/python bench/billing.py           # this one alone

Creates its own PostgreSQL database (test_<name of BENCH_DATABASE_URL>, default
postgres://postgres@127.0.0.1:5432/hangar_bench → test_hangar_bench), fills it, times each
step with its query count, prints a table and drops the database again.

What runs: one hourly sample of every environment; the roll-up of a day of hourly samples
(the other 23 hours are copied in SQL); then, with the rest of the month's daily rows
copied in SQL, the month's draft invoices, issuing all of them, the dashboards, exports
and an estimate.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import time
from collections import deque
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "controlpanel.settings_test"
os.environ["DATABASE_URL"] = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/hangar_bench"
)

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_databases, teardown_databases  # noqa: E402

CLIENTS = int(os.environ.get("BENCH_CLIENTS", "1000"))
SITES_PER_CLIENT, ENVIRONMENTS_PER_SITE = 5, 2
DEDICATED_EVERY = 10  # every 10th client has a dedicated pool
SHARED_POOLS, SHARED_NODES = 10, 100
MONTH = datetime.date(2026, 6, 1)
NOW = datetime.datetime(2026, 7, 2, 8, 0, tzinfo=datetime.UTC)

results: list[tuple[str, str, float, int]] = []


def measure(step: str, work: Callable[[], Any], rows: Callable[[Any], str] = lambda _: "") -> Any:
    # Django's debug query log keeps 9000 entries; steps here may run more.
    connection.queries_log = deque(maxlen=1_000_000)
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        value = work()
        elapsed = time.perf_counter() - started
    results.append((step, rows(value), elapsed, len(queries.captured_queries)))
    print(f"  {step}: {elapsed:.2f}s", flush=True)
    return value


def copy_rows(model: type, shift_sql: dict[str, str], series: str, where: str) -> int:
    """INSERT … SELECT copies of `model` rows matching `where`, one per value of the series
    `n`, with columns rewritten by `shift_sql` (column → SQL using n)."""
    columns = [f.column for f in model._meta.concrete_fields if not f.primary_key]
    select = [shift_sql.get(c, f'"{c}"') for c in columns]
    table = model._meta.db_table
    quoted = ", ".join(f'"{c}"' for c in columns)
    # Table and column names come from the models, the rest from this file: no user input.
    sql = f'INSERT INTO "{table}" ({quoted}) SELECT {", ".join(select)} FROM "{table}" '  # noqa: S608
    sql += f"CROSS JOIN generate_series({series}) AS n WHERE {where}"
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.rowcount


def build() -> dict[str, Any]:
    from billing.models import ClusterCostItem, NodePrice
    from clusters.models import Cluster, NodePool, NodeSize
    from controlpanel.core.models import Client, User
    from controlpanel.core.roles import StaffRole
    from sites.models import Environment, Site
    from sites.validators import namespace_name

    big = NodeSize.objects.create(
        provider="digitalocean", slug="s-4vcpu-8gb", vcpu=4, memory_mib=8192
    )
    small = NodeSize.objects.create(
        provider="digitalocean", slug="s-2vcpu-4gb", vcpu=2, memory_mib=4096
    )
    NodePrice.objects.bulk_create(
        [
            NodePrice(
                size=big, monthly_price=Decimal("48"), effective_from=datetime.date(2026, 1, 1)
            ),
            NodePrice(
                size=big, monthly_price=Decimal("50"), effective_from=datetime.date(2026, 6, 15)
            ),
            NodePrice(
                size=small, monthly_price=Decimal("24"), effective_from=datetime.date(2026, 1, 1)
            ),
        ]
    )
    clusters = [
        Cluster.objects.create(name=f"Bench {i}", slug=f"bench{i}", provider="digitalocean")
        for i in range(2)
    ]
    for cluster in clusters:
        ClusterCostItem.objects.create(
            cluster=cluster, kind="control_plane", name="HA control plane",
            monthly_price=Decimal("40"), effective_from=datetime.date(2026, 1, 1),
        )  # fmt: skip
    shared = NodePool.objects.bulk_create(
        NodePool(cluster=clusters[i % 2], name=f"shared{i}", size=big, count=SHARED_NODES)
        for i in range(SHARED_POOLS)
    )
    clients = Client.objects.bulk_create(
        Client(name=f"Client {i:04d}", slug=f"c{i:04d}", billing_email=f"ap@c{i:04d}.test",
               markup_percent=Decimal(10 + i % 4 * 5))
        for i in range(CLIENTS)
    )  # fmt: skip
    dedicated = {
        pool.dedicated_client_id: pool
        for pool in NodePool.objects.bulk_create(
            NodePool(
                cluster=clusters[0], name=f"ded-{c.slug}", size=small, count=3, dedicated_client=c
            )
            for c in clients[::DEDICATED_EVERY]
        )
    }
    sites = Site.objects.bulk_create(
        Site(client=c, name=f"Site {s}", slug=f"s{s}")
        for c in clients
        for s in range(SITES_PER_CLIENT)
    )
    environments = []
    for index, site in enumerate(sites):
        for e, tier in enumerate(["staging", "production"][:ENVIRONMENTS_PER_SITE]):
            pool = dedicated.get(site.client_id) or shared[index % SHARED_POOLS]
            environments.append(
                Environment(
                    site=site,
                    name=tier.title(),
                    slug=tier,
                    # bulk_create skips save(), which stores the namespace.
                    namespace_name=namespace_name(site.client.slug, site.slug, tier),
                    tier=tier,
                    cluster_id=pool.cluster_id,
                    node_pool=pool,
                    image="registry.example.com/bench:1",
                    status="active",
                    replicas=1 + e,
                    cpu_request="250m",
                    memory_request="256Mi",
                    varnish_enabled=index % 3 == 0,
                    hash_salt="bench",
                )
            )
    Environment.objects.bulk_create(environments, batch_size=2000)
    staff = User.objects.create_user("billing@bench.test", staff_role=StaffRole.BILLING)
    owner = User.objects.create_user("owner@bench.test")
    owner.memberships.create(client=clients[1], role="owner")
    return {"staff": staff, "owner": owner, "client": clients[1], "environments": len(environments)}


def run() -> None:
    from billing.dashboards import (
        client_cost_trend,
        client_environment_costs,
        client_margins,
        cluster_costs,
        margin_by_month,
        pool_utilisation,
    )
    from billing.estimates import estimate_scale
    from billing.exports import invoice_csv, invoice_pdf
    from billing.invoicing import invoice_issue, invoices_generate
    from billing.models import (
        EnvironmentSample,
        EnvironmentUsageDay,
        InvoiceLine,
        PoolSample,
        PoolUsageDay,
        SampleRun,
    )
    from billing.sampling import usage_rollup, usage_sample
    from sites.models import Environment

    settings.TIME_ZONE = "UTC"
    settings.HANGAR_BILLING_SAMPLE_SECONDS = 3600
    data = measure(
        "create clients, sites, environments", build, lambda d: f"{d['environments']} environments"
    )
    first = datetime.datetime.combine(MONTH, datetime.time.min, tzinfo=datetime.UTC)
    measure(
        "sample usage (one hour)",
        lambda: usage_sample(at=first, readings={}),
        lambda r: f"{r.environments} samples",
    )

    def fill_day() -> int:
        shift = {"taken_at": "\"taken_at\" + n * interval '1 hour'"}
        where = f"\"taken_at\" = '{first.isoformat()}'"
        rows = copy_rows(EnvironmentSample, shift, "1, 23", where)
        copy_rows(PoolSample, shift, "1, 23", where)
        copy_rows(SampleRun, shift, "1, 23", where)
        return rows

    measure("copy 23 more hours (SQL)", fill_day, lambda n: f"{n} samples")
    measure("roll up one day of hourly samples", lambda: usage_rollup(day=MONTH),
            lambda r: f"{r.environment_rows} env-days")  # fmt: skip

    def fill_month() -> int:
        shift = {"day": '"day" + n'}
        rows = copy_rows(EnvironmentUsageDay, shift, "1, 29", f"\"day\" = '{MONTH}'")
        copy_rows(PoolUsageDay, shift, "1, 29", f"\"day\" = '{MONTH}'")
        return rows

    measure("copy 29 more days (SQL)", fill_month, lambda n: f"{n} env-days")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    drafts = measure(
        "draft invoices for the month",
        lambda: invoices_generate(actor=data["staff"], month=MONTH, now=NOW),
        lambda d: f"{len(d)} invoices, {InvoiceLine.objects.count()} lines",
    )
    measure(
        "issue every invoice",
        lambda: [invoice_issue(actor=data["staff"], invoice=i, now=NOW) for i in drafts],
        lambda d: f"{len(d)} numbers",
    )
    staff, owner, client = data["staff"], data["owner"], data["client"]
    months = [datetime.date(2025, m, 1) for m in range(7, 13)] + [
        datetime.date(2026, m, 1) for m in range(1, 7)
    ]
    dashboards = [
        ("dashboard: margin by month (12)", lambda: margin_by_month(actor=staff, months=months)),
        ("dashboard: client margins", lambda: client_margins(actor=staff, month=MONTH)),
        ("dashboard: cluster costs", lambda: cluster_costs(actor=staff, month=MONTH)),
        ("dashboard: pool utilisation", lambda: pool_utilisation(actor=staff, month=MONTH)),
        (
            "client: cost trend (12 months)",
            lambda: client_cost_trend(actor=owner, client=client, months=months),
        ),
        (
            "client: environment breakdown",
            lambda: client_environment_costs(actor=owner, client=client, month=MONTH),
        ),
    ]
    for step, work in dashboards:
        measure(step, work, lambda rows: f"{len(rows)} rows")
    invoice = drafts[1]
    measure("invoice CSV", lambda: invoice_csv(invoice), lambda text: f"{len(text)} bytes")
    measure(
        "invoice PDF (WeasyPrint)", lambda: invoice_pdf(invoice), lambda pdf: f"{len(pdf)} bytes"
    )
    environment = (
        Environment.objects.filter(site__client=client).select_related("site__client").first()
    )
    measure(
        "estimate: scale an environment",
        lambda: estimate_scale(actor=owner, environment=environment, replicas=4),
        lambda estimate: f"{estimate.difference} {estimate.currency} a month",
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    args = parser.parse_args()
    started = time.perf_counter()
    per_client = SITES_PER_CLIENT * ENVIRONMENTS_PER_SITE
    print(f"Billing bench: {CLIENTS} clients x {per_client} environments, {MONTH:%B %Y}")
    old_config = setup_databases(verbosity=0, interactive=False, serialized_aliases=set())
    try:
        ready = time.perf_counter() - started
        print(f"  database {connection.settings_dict['NAME']} ready ({ready:.1f}s)", flush=True)
        run()
    finally:
        connection.close()
        teardown_databases(old_config, verbosity=0)
    width = max(len(step) for step, *_ in results)
    rows_width = max(len(rows) for _, rows, *_ in results)
    print()
    print(f"{'step':<{width}}  {'rows':<{rows_width}}  {'seconds':>8}  {'queries':>7}")
    print(f"{'-' * width}  {'-' * rows_width}  {'-' * 8}  {'-' * 7}")
    for step, rows, seconds, queries in results:
        print(f"{step:<{width}}  {rows:<{rows_width}}  {seconds:>8.2f}  {queries:>7}")
    total = time.perf_counter() - started
    print(f"\ntotal {total:.1f}s (database created and dropped)")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "clients": CLIENTS,
                    "environments": CLIENTS * per_client,
                    "month": str(MONTH),
                    "seconds": total,
                    "steps": [
                        {"step": step, "rows": rows, "seconds": seconds, "queries": queries}
                        for step, rows, seconds, queries in results
                    ],
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
