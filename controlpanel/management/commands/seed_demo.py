"""Load demo data: three clients with sites of every kind, a sandbox cluster, node pools and
DigitalOcean's published prices, a user for every role, and three months of billing history
(usage, invoices). Safe to run repeatedly.

The sandbox cluster provisions databases and takes backups when this machine can do it
for real (see `data_provisioning`); otherwise it says why and the demo goes without.
"""

from __future__ import annotations

import datetime
import shutil
import time
from decimal import Decimal
from typing import Any

import environ
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from billing.models import NodePrice
from billing.periods import local_today, month_start
from clusters.dbserver import DatabaseServer, DatabaseServerError
from clusters.kubeconfig import build_kubeconfig
from clusters.models import Cluster, NodePool, NodeSize, Provider
from clusters.quantities import parse_cpu, parse_memory
from clusters.sandbox.demo import demo_pool
from clusters.storage import ObjectStorage, StorageError
from controlpanel.core.models import Client, Membership, User
from controlpanel.core.roles import ClientRole, StaffRole
from controlpanel.demo_storage import DEMO_BUCKET, DEMO_KEYS
from controlpanel.management.demo_billing import seed_billing_history, seed_cluster_costs
from sites import services
from sites import services as site_services
from sites.models import Environment, Site, SiteKind, Tier

DEMO_PASSWORD = "hangar-demo-password"  # noqa: S105 - printed for demo sign-in
SANDBOX_TOKEN = "sandbox-token"  # noqa: S105 - the local emulator's, guards nothing real
DEFAULT_SANDBOX_URL = "http://127.0.0.1:8001"

# DigitalOcean Basic droplet sizes and their published monthly prices (USD).
DO_SIZES = [
    ("s-1vcpu-2gb", 1, 2048, 50, "12.00"),
    ("s-2vcpu-2gb", 2, 2048, 60, "18.00"),
    ("s-2vcpu-4gb", 2, 4096, 80, "24.00"),
    ("s-4vcpu-8gb", 4, 8192, 160, "48.00"),
    ("s-8vcpu-16gb", 8, 16384, 320, "96.00"),
]
PRICES_FROM = datetime.date(2026, 1, 1)

STAFF = [
    ("admin@hangar.test", "Ada Admin", StaffRole.ADMIN),
    ("operator@hangar.test", "Otto Operator", StaffRole.OPERATOR),
    ("billing@hangar.test", "Bea Billing", StaffRole.BILLING),
]

CLIENTS = [
    # slug, name, markup, [(site slug, name, kind)], dedicated pool
    (
        "acme",
        "Acme Corporation",
        "20",
        [("www", "Acme website", SiteKind.DRUPAL), ("blog", "Acme blog", SiteKind.WORDPRESS)],
        False,
    ),
    (
        "globex",
        "Globex",
        "15",
        [("shop", "Globex shop", SiteKind.PHP), ("app", "Globex app", SiteKind.STATIC)],
        False,
    ),
    ("initech", "Initech", "25", [("intranet", "Initech intranet", SiteKind.DRUPAL)], True),
]

ENVIRONMENTS = [
    ("dev", "Development", Tier.DEVELOPMENT, 1),
    ("staging", "Staging", Tier.STAGING, 1),
    ("production", "Production", Tier.PRODUCTION, 2),
]

# What the backup and restore scripts run (sites/scripts), here on this machine: the sandbox
# runs their Jobs as local processes. Any one name of each group will do.
DATA_TOOLS = [
    ("rclone",),
    ("mariadb-dump", "mysqldump"),
    ("mariadb", "mysql"),
    ("gzip",),
    ("sha256sum",),
]
# How long to wait for `make run`'s S3 API server, started a moment before.
STORAGE_WAIT_SECONDS = 20.0


def data_provisioning() -> tuple[dict[str, Any], str]:
    """The sandbox cluster's data settings: databases on the MariaDB server of
    settings.HANGAR_DEMO_MARIADB_URL and backups in the demo's S3 API server, when both
    answer and the scripts' tools are installed. Otherwise provisioning off, and why."""
    off: dict[str, Any] = {"provision_data": False}
    missing = [group[0] for group in DATA_TOOLS if not any(map(shutil.which, group))]
    if missing:
        return off, f"{', '.join(missing)} not installed (the backup Jobs run them here)"
    endpoint = settings.HANGAR_DEMO_S3_URL
    if not endpoint:
        return off, "no S3 API server (make run starts one: HANGAR_DEMO_S3_URL)"
    url = environ.Env.db_url_config(settings.HANGAR_DEMO_MARIADB_URL)
    fields = {
        "provision_data": True,
        "db_host": url["HOST"] or "127.0.0.1",
        "db_port": int(url["PORT"] or 3306),
        "db_admin_user": url["USER"] or "root",
        "db_admin_password": url["PASSWORD"] or "",
        "storage_endpoint": endpoint,
        "storage_region": "us-east-1",
        "storage_bucket": DEMO_BUCKET,
        "storage_access_key": DEMO_KEYS["aws_access_key_id"],
        "storage_secret_key": DEMO_KEYS["aws_secret_access_key"],
        "storage_addressing_style": "path",
    }
    server = DatabaseServer(
        host=fields["db_host"],
        port=fields["db_port"],
        admin_user=fields["db_admin_user"],
        admin_password=fields["db_admin_password"],
        connect_timeout=3,
    )
    try:
        server.version()
    except DatabaseServerError as exc:
        return off, f"no MariaDB at {fields['db_host']}:{fields['db_port']} ({exc.message})"
    storage = ObjectStorage(
        endpoint=endpoint,
        bucket=DEMO_BUCKET,
        access_key=DEMO_KEYS["aws_access_key_id"],
        secret_key=DEMO_KEYS["aws_secret_access_key"],
        addressing_style="path",
        max_attempts=1,
        connect_timeout=2,
    )
    deadline = time.monotonic() + STORAGE_WAIT_SECONDS
    while True:
        try:
            storage.check()
            return fields, ""
        except StorageError as exc:
            if time.monotonic() > deadline:
                return off, f"the S3 API server at {endpoint} did not answer ({exc.message})"
            time.sleep(0.5)


CRON = {
    SiteKind.DRUPAL: ("drupal-cron", "H/15 * * * *", "drush cron"),
    SiteKind.WORDPRESS: ("wp-cron", "H/10 * * * *", "wp cron event run --due-now"),
    SiteKind.PHP: ("cleanup", "H H(2-5) * * *", "php bin/cleanup.php"),
}


class Command(BaseCommand):
    help = "Load demo clients, sites, a sandbox cluster, prices and users (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        # Before the transaction: it may wait for the S3 API server to come up.
        data, why_not = data_provisioning()
        with transaction.atomic():
            self._seed(data)
        if why_not:
            self.stdout.write(
                self.style.WARNING(f"Backups are off in this demo: {why_not}.")
                + " The portal says so where it would offer them."
            )
        else:
            self.stdout.write(
                f"Backups are on: databases on {data['db_host']}:{data['db_port']}, "
                f"backups in {data['storage_endpoint']} (bucket {DEMO_BUCKET}); the sandbox "
                "runs the backup Jobs as processes here."
            )

    def _seed(self, data: dict[str, Any]) -> None:
        admin = self._staff()
        cluster = self._sandbox_cluster(data)
        self._catalogue()
        seed_cluster_costs(cluster=cluster, since=PRICES_FROM)
        shared_pool = self._pool(cluster, "shared", None)
        for slug, name, markup, sites, dedicated in CLIENTS:
            client = Client.objects.filter(slug=slug).first() or Client.objects.create(
                slug=slug,
                name=name,
                billing_email=f"billing@{slug}.test",
                markup_percent=Decimal(markup),
            )
            self._members(client)
            pool = self._pool(cluster, f"{slug}-dedicated", client) if dedicated else shared_pool
            for site_slug, site_name, kind in sites:
                self._site(admin, client, cluster, pool, site_slug, site_name, kind)
        self._billing_history()
        self.stdout.write(self.style.SUCCESS("Demo data ready. Sign in with any of:"))
        for user in User.objects.filter(email__endswith=".test").order_by("email"):
            roles = user.get_staff_role_display() or ", ".join(
                f"{m.get_role_display()} of {m.client.name}"
                for m in user.memberships.select_related("client")
            )
            self.stdout.write(f"  {user.email:<28} {roles}")
        self.stdout.write(f"  password for all: {DEMO_PASSWORD}")

    def _user(self, email: str, full_name: str, staff_role: str = "") -> User:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(
                email, DEMO_PASSWORD, full_name=full_name, staff_role=staff_role
            )
        return user

    def _staff(self) -> User:
        users = [self._user(email, name, role) for email, name, role in STAFF]
        return users[0]

    def _members(self, client: Client) -> None:
        for role in ClientRole:
            user = self._user(f"{role.value}@{client.slug}.test", f"{client.name} {role.label}")
            Membership.objects.get_or_create(user=user, client=client, defaults={"role": role})

    def _sandbox_cluster(self, data: dict[str, Any]) -> Cluster:
        url = settings.SANDBOX_CLUSTER_URL or DEFAULT_SANDBOX_URL
        cluster, _ = Cluster.objects.update_or_create(
            slug="sandbox",
            defaults={
                "name": "Sandbox",
                "provider": Provider.DIGITALOCEAN,
                "region": "local",
                "api_url": url,
                "kubeconfig": build_kubeconfig(name="sandbox", server=url, token=SANDBOX_TOKEN),
                "is_sandbox": True,
                **data,
            },
        )
        return cluster

    def _catalogue(self) -> None:
        for slug, vcpu, memory, disk, price in DO_SIZES:
            size, _ = NodeSize.objects.get_or_create(
                provider=Provider.DIGITALOCEAN,
                slug=slug,
                defaults={
                    "vcpu": vcpu,
                    "memory_mib": memory,
                    "disk_gib": disk,
                    "description": f"Basic, {vcpu} vCPU, {memory // 1024} GiB",
                },
            )
            NodePrice.objects.get_or_create(
                size=size,
                effective_from=PRICES_FROM,
                defaults={"monthly_price": Decimal(price), "currency": "USD"},
            )

    def _pool(self, cluster: Cluster, name: str, client: Client | None) -> NodePool:
        """A pool as node sync would record the sandbox's nodes of it (clusters.sandbox.demo:
        the same names, sizes and capacity), so a sync maps the nodes onto it."""
        spec = demo_pool(name)
        pool, _ = NodePool.objects.get_or_create(
            cluster=cluster,
            name=name,
            defaults={
                "size": NodeSize.objects.get(
                    provider=Provider.DIGITALOCEAN, slug=spec.instance_type
                ),
                "count": spec.nodes,
                "allocatable_cpu_millicores": spec.nodes * parse_cpu(spec.allocatable_cpu),
                "allocatable_memory_bytes": spec.nodes * parse_memory(spec.allocatable_memory),
                "dedicated_client": client,
            },
        )
        return pool

    def _billing_history(self) -> None:
        """Three months of usage and invoices (controlpanel.management.demo_billing). Along
        the way Globex's shop grew from one production replica to two, on the 15th of last
        month."""
        shop = Environment.objects.filter(site__client__slug="globex", site__slug="shop")
        production = shop.filter(slug="production")
        last_month = month_start(month_start(local_today()) - datetime.timedelta(days=1))
        replicas = production.values_list("replicas", flat=True).first()

        def grow() -> None:
            production.update(replicas=replicas)

        if replicas and replicas > 1:
            production.update(replicas=replicas - 1)
        billing = User.objects.get(email="billing@hangar.test")
        done = seed_billing_history(
            actor=billing, now=timezone.now(), changes={last_month.replace(day=15): grow}
        )
        grow()
        if done:
            self.stdout.write("Billing history: three months of usage and invoices.")

    def _site(
        self,
        admin: User,
        client: Client,
        cluster: Cluster,
        pool: NodePool,
        slug: str,
        name: str,
        kind: str,
    ) -> None:
        site = Site.objects.filter(client=client, slug=slug).first() or site_services.site_create(
            actor=admin,
            client=client,
            name=name,
            slug=slug,
            kind=kind,
            repository_url=f"https://git.example.com/{client.slug}/{slug}.git",
            image_repository=f"registry.example.com/{client.slug}/{slug}",
        )
        for env_slug, env_name, tier, replicas in ENVIRONMENTS:
            existing = Environment.objects.filter(site=site, slug=env_slug).first()
            if existing is not None:
                if existing.status == Environment.Status.NEW:
                    services.environment_provision(actor=admin, environment=existing)
                continue
            env = site_services.environment_create(
                actor=admin,
                site=site,
                name=env_name,
                slug=env_slug,
                cluster=cluster,
                tier=tier,
                node_pool=pool,
                replicas=replicas,
                image=f"{site.image_repository}:1.0.0",
            )
            host = (
                f"{slug}.{client.slug}.test"
                if tier == Tier.PRODUCTION
                else (f"{env_slug}.{slug}.{client.slug}.test")
            )
            site_services.domain_add(actor=admin, environment=env, hostname=host, is_primary=True)
            site_services.env_var_set(actor=admin, environment=env, key="APP_ENV", value=env_slug)
            site_services.env_var_set(
                actor=admin,
                environment=env,
                key="API_TOKEN",
                value=f"demo-{env_slug}-token",
                is_secret=True,
            )
            if kind in CRON:
                cron_name, schedule, command = CRON[kind]
                site_services.cron_schedule_create(
                    actor=admin,
                    environment=env,
                    name=cron_name,
                    schedule=schedule,
                    command=command,
                )
            # Runs on the sandbox cluster once the panel's worker is up.
            services.environment_provision(actor=admin, environment=env)
