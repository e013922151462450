"""Benchmark data at an agency's scale, fast: bulk inserts and INSERT ... SELECT in SQL.

    python manage.py bench_seed                       # 1,000 clients, 5,000 sites,
                                                      # 15,000 environments, 200,000
                                                      # operations with 5 events each,
                                                      # a year of daily usage
    python manage.py bench_seed --clients 10 --operations 100 --usage-days 3

Clients `c0000`, `c0001`, ... each have an owner (`owner@c0000.bench.test`) and sites
`s0`, `s1`, ...; every site has environments `dev`, `stg` and `prod` (fewer with
`--environments-per-site`), one domain each, two variables, a cron schedule on Drupal
production, and a live release. Agency staff: `admin@bench.test`. Every user's password is
`--password`. Operations spread over the last year (deploys, configuration, scaling,
restarts, cron runs, commands), mostly succeeded, each with its log events and, for deploys,
its release. Usage: a daily roll-up per environment and per pool for `--usage-days` days up
to yesterday, with node prices, so invoices and dashboards have a year to read.

PostgreSQL only (generate_series). Meant for an empty database of its own: it refuses to
run when bench clients exist already. Not for production databases.
"""

from __future__ import annotations

import datetime
import time
from decimal import Decimal
from typing import Any

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, models, transaction
from django.utils import timezone

from billing.models import ClusterCostItem, EnvironmentUsageDay, NodePrice, PoolUsageDay
from clusters.kubeconfig import build_kubeconfig
from clusters.models import Cluster, NodePool, NodeSize, Operation, OperationEvent, Provider
from controlpanel.core.models import Client, Membership, User
from controlpanel.core.roles import ClientRole, StaffRole
from sites.models import CronSchedule, Domain, Environment, EnvVar, Release, Site, SiteKind, Tier
from sites.validators import namespace_name

TIERS = [
    (Tier.DEVELOPMENT, "dev", "Development"),
    (Tier.STAGING, "stg", "Staging"),
    (Tier.PRODUCTION, "prod", "Production"),
]
KINDS = [SiteKind.DRUPAL, SiteKind.WORDPRESS, SiteKind.PHP, SiteKind.DRUPAL, SiteKind.STATIC]
SHARED_POOLS_PER_CLUSTER = 5
DEDICATED_EVERY = 10  # every 10th client pays for a pool of its own
# Operation kinds by i % 20: twelve deploys, three configuration changes, two scalings, a
# restart, a cron run, a command.
OPERATION_KINDS = (
    ["environment.deploy"] * 12
    + ["environment.apply_config"] * 3
    + ["environment.scale"] * 2
    + ["environment.restart", "cron.run", "environment.command"]
)
EVENT_MESSAGES = [
    "Requested by admin@bench.test.",
    "Started (attempt 1 of 5) on bench-worker:1.",
    "Applied 11 objects to the namespace (1 written, 10 unchanged).",
    "Rollout complete: every pod runs the new configuration.",
    "Succeeded.",
    "Retrying in 5s.",
]
UNSET = object()


class deferred_indexes:
    """Drop a table's secondary indexes and its unique and foreign-key constraints, and put
    them back on exit: one index build after a bulk insert beats millions of index updates
    (PostgreSQL; the definitions are read back from the catalog, so nothing is lost)."""

    def __init__(self, model: type[models.Model]) -> None:
        self.table = model._meta.db_table

    def __enter__(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = %s::regclass AND contype IN ('u', 'f')",
                [self.table],
            )
            self.constraints = cursor.fetchall()
            cursor.execute(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = %s "
                "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname "
                "AND c.conrelid = %s::regclass)",
                [self.table, self.table],
            )
            self.indexes = cursor.fetchall()
            table = connection.ops.quote_name(self.table)
            # Django's foreign keys are deferred: check what is pending now, so that the
            # table may be altered.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for name, _ in self.constraints:
                cursor.execute(
                    f"ALTER TABLE {table} DROP CONSTRAINT {connection.ops.quote_name(name)}"
                )
            for name, _ in self.indexes:
                cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")

    def __exit__(self, *exc: object) -> None:
        if exc[0] is not None:
            return  # the transaction rolls the drops back
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
            table = connection.ops.quote_name(self.table)
            for _, definition in self.indexes:
                cursor.execute(definition)
            for name, definition in self.constraints:
                cursor.execute(
                    f"ALTER TABLE {table} ADD CONSTRAINT {connection.ops.quote_name(name)} "
                    f"{definition}"
                )
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def insert_select(model: type[models.Model], expressions: dict[str, str], source: str) -> int:
    """INSERT INTO model's table SELECT ... FROM source: `expressions` maps field names to SQL;
    every other field gets its Python default as a parameter (or NULL when nullable), so
    columns that others add later with a default do not break the seeder."""
    columns, values, params = [], [], []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(connection.ops.quote_name(field.column))
        if field.name in expressions:
            values.append(expressions[field.name])
        elif field.has_default():
            values.append("%s")
            params.append(field.get_db_prep_save(field.get_default(), connection))
        elif field.null:
            values.append("NULL")
        elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            values.append("now()")
        elif field.empty_strings_allowed:
            values.append("''")
        else:
            raise CommandError(
                f"bench_seed does not know how to fill {model.__name__}.{field.name}"
            )
    table = connection.ops.quote_name(model._meta.db_table)
    # Identifiers come from the models, expressions from this file: no user input.
    sql = f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(values)} {source}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


class Command(BaseCommand):
    help = "Fill the database with benchmark data at an agency's scale (bulk inserts)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--clients", type=int, default=1000)
        parser.add_argument("--sites-per-client", type=int, default=5)
        parser.add_argument("--environments-per-site", type=int, default=3, choices=[1, 2, 3])
        parser.add_argument("--operations", type=int, default=200_000)
        parser.add_argument("--events-per-operation", type=int, default=5)
        parser.add_argument("--usage-days", type=int, default=365)
        parser.add_argument("--clusters", type=int, default=2)
        parser.add_argument(
            "--cluster-url",
            default="http://127.0.0.1:9",
            help="API server of every bench cluster (the default answers nothing)",
        )
        parser.add_argument("--cluster-token", default="bench-token")
        parser.add_argument("--max-concurrent-operations", type=int, default=8)
        parser.add_argument(
            "--status",
            default=Environment.Status.ACTIVE,
            choices=[Environment.Status.ACTIVE, Environment.Status.NEW],
            help="new: not provisioned yet (the fleet benchmark provisions them)",
        )
        parser.add_argument("--image", default="registry.example.com/agency/web:2025.1")
        parser.add_argument("--password", default="bench-password-not-secret")
        parser.add_argument("--no-input", action="store_true", help="accepted for symmetry")

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("bench_seed needs PostgreSQL (it uses generate_series).")
        if options["clients"] < 1 or options["sites_per_client"] < 1:
            raise CommandError("Give at least one client and one site per client.")
        if Client.objects.filter(slug__startswith="c0").exists():
            raise CommandError("Bench clients exist already; seed an empty database.")
        started = time.perf_counter()
        timings: dict[str, float] = {}
        counts = seed(**{k: v for k, v in options.items() if k in SEED_OPTIONS}, timings=timings)
        elapsed = time.perf_counter() - started
        for name, count in counts.items():
            self.stdout.write(f"{name:>40}: {count:,}")
        for name, seconds in timings.items():
            self.stdout.write(f"{name:>40}: {seconds:.1f}s")
        self.stdout.write(self.style.SUCCESS(f"seeded in {elapsed:.1f}s"))


SEED_OPTIONS = {
    "clients",
    "sites_per_client",
    "environments_per_site",
    "operations",
    "events_per_operation",
    "usage_days",
    "clusters",
    "cluster_url",
    "cluster_token",
    "max_concurrent_operations",
    "status",
    "image",
    "password",
}


@transaction.atomic
def seed(
    *,
    clients: int = 1000,
    sites_per_client: int = 5,
    environments_per_site: int = 3,
    operations: int = 200_000,
    events_per_operation: int = 5,
    usage_days: int = 365,
    clusters: int = 2,
    cluster_url: str = "http://127.0.0.1:9",
    cluster_token: str = "bench-token",  # noqa: S107 - an emulator's, guards nothing
    max_concurrent_operations: int = 8,
    status: str = Environment.Status.ACTIVE,
    image: str = "registry.example.com/agency/web:2025.1",
    password: str = "bench-password-not-secret",  # noqa: S107
    timings: dict[str, float] | None = None,
) -> dict[str, int]:
    """Build everything; returns row counts by table. The tables of the billing usage and of
    operations are filled in SQL; everything with encrypted fields through the ORM."""
    now = timezone.now()
    started = time.perf_counter()
    timings = {} if timings is None else timings
    counts: dict[str, int] = {}
    big, _ = NodeSize.objects.get_or_create(
        provider=Provider.DIGITALOCEAN, slug="s-4vcpu-8gb", defaults={"vcpu": 4, "memory_mib": 8192}
    )
    small, _ = NodeSize.objects.get_or_create(
        provider=Provider.DIGITALOCEAN, slug="s-2vcpu-4gb", defaults={"vcpu": 2, "memory_mib": 4096}
    )
    since = (now - datetime.timedelta(days=max(usage_days, 1) + 31)).date().replace(day=1)
    for size, price in ((big, "48"), (small, "24")):
        NodePrice.objects.get_or_create(
            size=size, effective_from=since, defaults={"monthly_price": Decimal(price)}
        )
    cluster_rows = []
    for i in range(clusters):
        cluster_rows.append(
            Cluster.objects.create(
                name=f"Bench {i}",
                slug=f"bench{i}",
                provider=Provider.DIGITALOCEAN,
                api_url=cluster_url,
                kubeconfig=build_kubeconfig(
                    name=f"bench{i}", server=cluster_url, token=cluster_token
                ),
                max_concurrent_operations=max_concurrent_operations,
            )
        )
        ClusterCostItem.objects.create(
            cluster=cluster_rows[-1], kind="control_plane", name="HA control plane",
            monthly_price=Decimal("40"), effective_from=since,
        )  # fmt: skip
    shared = NodePool.objects.bulk_create(
        NodePool(cluster=c, name=f"shared{p}", size=big, count=20)
        for c in cluster_rows
        for p in range(SHARED_POOLS_PER_CLUSTER)
    )
    client_rows = Client.objects.bulk_create(
        (
            Client(
                name=f"Client {i:04d}",
                slug=f"c{i:04d}",
                billing_email=f"ap@c{i:04d}.bench.test",
                markup_percent=Decimal(10 + i % 4 * 5),
            )
            for i in range(clients)
        ),
        batch_size=2000,
    )
    counts["clients"] = len(client_rows)
    dedicated = {
        pool.dedicated_client_id: pool
        for pool in NodePool.objects.bulk_create(
            NodePool(
                cluster=cluster_rows[0],
                name=f"ded-{c.slug}",
                size=small,
                count=3,
                dedicated_client=c,
            )
            for c in client_rows[::DEDICATED_EVERY]
        )
    }
    counts["node pools"] = len(shared) + len(dedicated)

    hashed = make_password(password)
    User.objects.create(
        email="admin@bench.test", full_name="Bench Admin", staff_role=StaffRole.ADMIN,
        password=hashed,
    )  # fmt: skip
    owners = User.objects.bulk_create(
        (
            User(email=f"owner@{c.slug}.bench.test", full_name=f"Owner {c.name}", password=hashed)
            for c in client_rows
        ),
        batch_size=2000,
    )
    Membership.objects.bulk_create(
        (
            Membership(user=u, client=c, role=ClientRole.OWNER)
            for u, c in zip(owners, client_rows, strict=True)
        ),
        batch_size=2000,
    )
    counts["users"] = len(owners) + 1

    site_rows = Site.objects.bulk_create(
        (
            Site(
                client=c,
                name=f"Site {s} of {c.name}",
                slug=f"s{s}",
                kind=KINDS[(i + s) % len(KINDS)],
                image_repository=f"registry.example.com/{c.slug}/s{s}",
            )
            for i, c in enumerate(client_rows)
            for s in range(sites_per_client)
        ),
        batch_size=5000,
    )
    counts["sites"] = len(site_rows)
    clients_by_id = {c.pk: c for c in client_rows}
    tiers = TIERS[-environments_per_site:]
    environments = []
    for index, site in enumerate(site_rows):
        site.client = clients_by_id[site.client_id]
        pool = dedicated.get(site.client_id) or shared[index % len(shared)]
        for e, (tier, slug, name) in enumerate(tiers):
            production = tier == Tier.PRODUCTION
            environments.append(
                Environment(
                    site=site,
                    name=name,
                    slug=slug,
                    # bulk_create skips save(), which stores the namespace.
                    namespace_name=namespace_name(site.client.slug, site.slug, slug),
                    tier=tier,
                    cluster_id=pool.cluster_id,
                    node_pool=pool,
                    image=image,
                    status=status,
                    replicas=2 if production else 1,
                    cpu_request="250m",
                    memory_request="256Mi",
                    varnish_enabled=site.kind == SiteKind.DRUPAL and production,
                    hash_salt=f"bench-salt-{index}-{e}",
                )
            )
    Environment.objects.bulk_create(environments, batch_size=5000)
    counts["environments"] = len(environments)
    Domain.objects.bulk_create(
        (
            Domain(
                environment=env,
                hostname=f"{env.slug}.{env.site.slug}.{env.site.client.slug}.bench.test",
                is_primary=True,
            )
            for env in environments
        ),
        batch_size=5000,
    )
    counts["domains"] = len(environments)
    EnvVar.objects.bulk_create(
        (
            EnvVar(environment=env, key=key, value=value, is_secret=secret)
            for env in environments
            for key, value, secret in (
                ("APP_ENV", env.slug, False),
                ("API_KEY", f"key-{env.site.client.slug}-{env.site.slug}-{env.slug}", True),
            )
        ),
        batch_size=5000,
    )
    counts["variables"] = 2 * len(environments)
    crons = CronSchedule.objects.bulk_create(
        (
            CronSchedule(environment=env, name="cron", schedule="H/15 * * * *",
                         command="drush cron", timeout_seconds=900)
            for env in environments
            if env.site.kind == SiteKind.DRUPAL and env.tier == Tier.PRODUCTION
        ),
        batch_size=5000,
    )  # fmt: skip
    counts["cron schedules"] = len(crons)
    if status == Environment.Status.ACTIVE:
        Release.objects.bulk_create(
            (Release(environment=env, image=image, note="Initial release") for env in environments),
            batch_size=5000,
        )

    timings["clients, sites, environments (ORM bulk)"] = time.perf_counter() - started
    if operations > 0:
        mark = time.perf_counter()
        counts.update(seed_operations(operations, events_per_operation, now))
        timings["operations, events, releases (SQL)"] = time.perf_counter() - mark
    if usage_days > 0:
        mark = time.perf_counter()
        counts.update(seed_usage(usage_days, now))
        timings["usage days (SQL)"] = time.perf_counter() - mark
    counts["releases"] = Release.objects.count()
    mark = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    timings["analyze"] = time.perf_counter() - mark
    return counts


def seed_operations(total: int, events_per_operation: int, now: datetime.datetime) -> dict:
    """`total` finished operations over the last year, spread over every environment."""
    kinds = "ARRAY[" + ",".join(f"'{k}'" for k in OPERATION_KINDS) + "]"
    environments = Environment.objects.count()
    if environments == 0:
        return {"operations": 0}
    # Operation g goes to environment number g x 7919 (a prime) modulo their count: every
    # environment gets its share, in an order that looks like real life.
    envs = (
        f"FROM generate_series(0, {total - 1}) AS g "  # noqa: S608 - numbers from this file
        "JOIN (SELECT e.id, e.cluster_id, s.client_id, "
        "s.name || ' / ' || e.name AS label, row_number() OVER (ORDER BY e.id) - 1 AS rn "
        'FROM "sites_environment" e JOIN "sites_site" s ON s.id = e.site_id) env '
        f"ON env.rn = (g::bigint * 7919) %% {environments}"
    )
    year = 365 * 24 * 3600
    created = (
        f"(TIMESTAMPTZ '{now.isoformat()}' "
        f"- (({total} - g) * ({year}.0 / {total})) * interval '1 second')"
    )
    kind = f"({kinds})[g %% {len(OPERATION_KINDS)} + 1]"
    status = (
        "CASE WHEN g %% 50 = 7 THEN 'failed' WHEN g %% 200 = 13 THEN 'cancelled' "
        "ELSE 'succeeded' END"
    )
    image = "'registry.example.com/agency/web:' || (2024 + g %% 3) || '.' || (g %% 97)"
    with deferred_indexes(Operation):
        rows = insert_select(
            Operation,
            {
                "kind": kind,
                "client": "env.client_id",
                "cluster": "env.cluster_id",
                "target_type": "'environment'",
                "target_id": "env.id",
                "target_label": "env.label",
                "lock_key": "'environment:' || env.id",
                "params": (
                    f"CASE WHEN {kind} = 'environment.deploy' THEN "
                    f"jsonb_build_object('image', {image}, 'rollback_on_failure', true) "
                    "ELSE '{}'::jsonb END"
                ),
                "status": status,
                "attempts": "1",
                "steps_done": "2",
                "steps_total": "2",
                "progress_message": "'Done'",
                "error": (
                    "CASE WHEN g %% 50 = 7 THEN 'The new pods did not become ready: "
                    "ImagePullBackOff' ELSE '' END"
                ),
                "worker": "'bench-worker:1'",
                "created_at": created,
                "not_before": created,
                "started_at": f"{created} + interval '1 second'",
                "heartbeat_at": f"{created} + interval '20 seconds'",
                "finished_at": f"{created} + interval '40 seconds'",
            },
            envs,
        )
    counts = {"operations": rows}
    if events_per_operation > 0:
        messages = "ARRAY[" + ",".join(f"'{m}'" for m in EVENT_MESSAGES) + "]"
        with deferred_indexes(OperationEvent):
            counts["operation events"] = insert_select(
                OperationEvent,
                {
                    "operation": "op.id",
                    "level": (
                        f"CASE WHEN op.status = 'failed' AND k = {events_per_operation} "
                        "THEN 'error' ELSE 'info' END"
                    ),
                    "message": f"({messages})[(k - 1) %% {len(EVENT_MESSAGES)} + 1]",
                    "created_at": "op.created_at + k * interval '5 seconds'",
                },
                f'FROM "{Operation._meta.db_table}" op '
                f"CROSS JOIN generate_series(1, {events_per_operation}) AS k",
            )
    with deferred_indexes(Release):
        counts["deploy releases"] = insert_select(
            Release,
            {
                "environment": "op.target_id",
                "image": "op.params->>'image'",
                "digest": "''",
                "note": "''",
                "status": "CASE WHEN op.status = 'succeeded' THEN 'succeeded' ELSE 'failed' END",
                "operation": "op.id",
                "created_at": "op.created_at",
            },
            f"FROM \"{Operation._meta.db_table}\" op WHERE op.kind = 'environment.deploy'",
        )
    return counts


def seed_usage(days: int, now: datetime.datetime) -> dict:
    """A daily roll-up per environment and per pool for `days` days up to yesterday."""
    today = timezone.localdate(now)
    first = today - datetime.timedelta(days=days)
    series = (
        f"generate_series(DATE '{first.isoformat()}', DATE '{today.isoformat()}' - 1, "
        "interval '1 day')"
    )
    with deferred_indexes(EnvironmentUsageDay):
        env_rows = insert_select(
            EnvironmentUsageDay,
            {
                "day": "d::date",
                "client": "s.client_id",
                "site": "s.id",
                "environment": "e.id",
                "pool": "e.node_pool_id",
                "cluster": "e.cluster_id",
                "size": "p.size_id",
                "label": "s.name || ' / ' || e.name",
                "site_label": "s.name",
                "hours": "24",
                "pod_hours": "24 * e.replicas",
                "cpu_millicore_hours": "24 * e.replicas * 250",
                "memory_mib_hours": "24 * e.replicas * 256",
                "node_hours": "24 * e.replicas * 0.0625",
            },
            'FROM "sites_environment" e JOIN "sites_site" s ON s.id = e.site_id '
            'JOIN "clusters_nodepool" p ON p.id = e.node_pool_id '
            f"CROSS JOIN {series} AS d",
        )
    pool_rows = insert_select(
        PoolUsageDay,
        {
            "day": "d::date",
            "pool": "p.id",
            "cluster": "p.cluster_id",
            "size": "p.size_id",
            "dedicated_client": "p.dedicated_client_id",
            "label": "c.slug || '/' || p.name",
            "hours": "24",
            "node_hours": "24 * p.count",
            "allocated_node_hours": "24 * p.count * 0.8",
            "slot_seconds": "to_jsonb(array_fill(86400, ARRAY[p.count]))",
            "cpu_allocatable_hours": "24 * p.count * sz.vcpu * 900",
            "cpu_requested_hours": "24 * p.count * sz.vcpu * 700",
            "memory_allocatable_mib_hours": "24 * p.count * sz.memory_mib * 0.9",
            "memory_requested_mib_hours": "24 * p.count * sz.memory_mib * 0.7",
        },
        'FROM "clusters_nodepool" p JOIN "clusters_cluster" c ON c.id = p.cluster_id '
        'JOIN "clusters_nodesize" sz ON sz.id = p.size_id '
        f"CROSS JOIN {series} AS d",
    )
    return {"environment usage days": env_rows, "pool usage days": pool_rows}
