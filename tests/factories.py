"""factory_boy factories for every model. Defaults build a valid, fully-linked object."""

from __future__ import annotations

import datetime
from decimal import Decimal

import factory
from factory.django import DjangoModelFactory

from billing.models import NodePrice
from clusters.kubeconfig import build_kubeconfig
from clusters.models import Cluster, NodePool, NodeSize, Operation, OperationEvent, Provider
from controlpanel.core.models import AuditEvent, Client, Membership, User
from controlpanel.core.roles import ClientRole
from sites.models import (
    Backup,
    BackupSchedule,
    CronSchedule,
    Domain,
    Environment,
    EnvironmentDatabase,
    EnvVar,
    Release,
    Site,
    Tier,
)


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ["email"]

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    full_name = factory.Faker("name")
    password = factory.django.Password("correct horse battery staple")


class ClientFactory(DjangoModelFactory):
    class Meta:
        model = Client

    name = factory.Sequence(lambda n: f"Client {n}")
    slug = factory.Sequence(lambda n: f"client{n}")
    billing_email = factory.LazyAttribute(lambda o: f"billing@{o.slug}.test")
    markup_percent = Decimal("10")


class MembershipFactory(DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    client = factory.SubFactory(ClientFactory)
    role = ClientRole.OWNER


class ClusterFactory(DjangoModelFactory):
    class Meta:
        model = Cluster

    name = factory.Sequence(lambda n: f"Cluster {n}")
    slug = factory.Sequence(lambda n: f"cluster{n}")
    provider = Provider.DIGITALOCEAN
    region = "ams3"
    api_url = "https://k8s.example.test"
    kubeconfig = factory.LazyAttribute(
        lambda o: build_kubeconfig(name=o.slug, server=o.api_url, token="test-token")
    )
    storage_endpoint = "https://ams3.digitaloceanspaces.com"
    storage_bucket = "hangar-sites"
    storage_access_key = "AKIATESTACCESSKEY"
    storage_secret_key = "test-storage-secret-key"
    db_host = "db.example.test"
    db_admin_user = "hangar"
    db_admin_password = "test-db-admin-password"


class NodeSizeFactory(DjangoModelFactory):
    class Meta:
        model = NodeSize
        django_get_or_create = ["provider", "slug"]

    provider = Provider.DIGITALOCEAN
    slug = "s-2vcpu-4gb"
    vcpu = 2
    memory_mib = 4096
    disk_gib = 80


class NodePoolFactory(DjangoModelFactory):
    class Meta:
        model = NodePool

    cluster = factory.SubFactory(ClusterFactory)
    name = factory.Sequence(lambda n: f"pool{n}")
    size = factory.SubFactory(NodeSizeFactory)
    count = 3


class NodePriceFactory(DjangoModelFactory):
    class Meta:
        model = NodePrice

    size = factory.SubFactory(NodeSizeFactory)
    monthly_price = Decimal("24.00")
    currency = "USD"
    effective_from = datetime.date(2026, 1, 1)


class SiteFactory(DjangoModelFactory):
    class Meta:
        model = Site

    client = factory.SubFactory(ClientFactory)
    name = factory.Sequence(lambda n: f"Site {n}")
    slug = factory.Sequence(lambda n: f"site{n}")
    kind = "drupal"
    image_repository = factory.LazyAttribute(lambda o: f"registry.example.com/{o.slug}")


class EnvironmentFactory(DjangoModelFactory):
    class Meta:
        model = Environment

    site = factory.SubFactory(SiteFactory)
    name = "Production"
    slug = factory.Sequence(lambda n: f"env{n}")
    tier = Tier.PRODUCTION
    cluster = factory.SubFactory(ClusterFactory)
    image = "registry.example.com/acme/web:1.0.0"


class DomainFactory(DjangoModelFactory):
    class Meta:
        model = Domain

    environment = factory.SubFactory(EnvironmentFactory)
    hostname = factory.Sequence(lambda n: f"www{n}.example.test")


class EnvVarFactory(DjangoModelFactory):
    class Meta:
        model = EnvVar

    environment = factory.SubFactory(EnvironmentFactory)
    key = factory.Sequence(lambda n: f"VAR_{n}")
    value = "value"


class CronScheduleFactory(DjangoModelFactory):
    class Meta:
        model = CronSchedule

    environment = factory.SubFactory(EnvironmentFactory)
    name = factory.Sequence(lambda n: f"cron{n}")
    schedule = "H/15 * * * *"
    command = "drush cron"


class ReleaseFactory(DjangoModelFactory):
    class Meta:
        model = Release

    environment = factory.SubFactory(EnvironmentFactory)
    image = "registry.example.com/acme/web:1.0.0"


class AuditEventFactory(DjangoModelFactory):
    class Meta:
        model = AuditEvent

    client = factory.SubFactory(ClientFactory)
    action = "test.event"
    actor_label = "tester"


class OperationFactory(DjangoModelFactory):
    class Meta:
        model = Operation

    kind = "environment.scale"
    cluster = factory.SubFactory(ClusterFactory)
    target_type = "environment"
    target_id = 1
    lock_key = factory.Sequence(lambda n: f"environment:{n}")


class OperationEventFactory(DjangoModelFactory):
    class Meta:
        model = OperationEvent

    operation = factory.SubFactory(OperationFactory)
    message = "step done"


# --- Billing (models referenced by label: factories are only appended here) ------------


class ClusterCostItemFactory(DjangoModelFactory):
    class Meta:
        model = "billing.ClusterCostItem"

    cluster = factory.SubFactory(ClusterFactory)
    kind = "control_plane"
    name = factory.Sequence(lambda n: f"HA control plane {n}")
    monthly_price = Decimal("40.00")
    currency = "USD"
    effective_from = datetime.date(2026, 1, 1)


class BillingProfileFactory(DjangoModelFactory):
    class Meta:
        model = "billing.BillingProfile"
        django_get_or_create = ["client"]

    client = factory.SubFactory(ClientFactory)
    minimum_site_fee = None


class InvoiceFactory(DjangoModelFactory):
    class Meta:
        model = "billing.Invoice"

    client = factory.SubFactory(ClientFactory)
    period_start = datetime.date(2026, 5, 1)
    period_end = factory.LazyAttribute(
        lambda o: (o.period_start + datetime.timedelta(days=32)).replace(day=1)
    )
    status = "draft"
    currency = "USD"
    markup_percent = factory.LazyAttribute(lambda o: o.client.markup_percent)
    total = Decimal("0.00")
    bill_to_name = factory.LazyAttribute(lambda o: o.client.name)
    bill_to_email = factory.LazyAttribute(lambda o: o.client.billing_email)
    # Computed after the month ended, as the drafts of the periodic task are.
    computed_at = factory.LazyAttribute(
        lambda o: datetime.datetime.combine(o.period_end, datetime.time(6), tzinfo=datetime.UTC)
    )


class InvoiceLineFactory(DjangoModelFactory):
    class Meta:
        model = "billing.InvoiceLine"

    invoice = factory.SubFactory(InvoiceFactory)
    position = factory.Sequence(lambda n: n + 1)
    kind = "environment"
    description = "Acme website / Production"
    cost = Decimal("10.00")
    markup_percent = Decimal("10")
    amount = Decimal("11.00")


class PoolSampleFactory(DjangoModelFactory):
    class Meta:
        model = "billing.PoolSample"

    taken_at = factory.Sequence(
        lambda n: datetime.datetime(2026, 6, 1, tzinfo=datetime.UTC) + datetime.timedelta(hours=n)
    )
    seconds = 3600
    pool = factory.SubFactory(NodePoolFactory)
    cluster = factory.LazyAttribute(lambda o: o.pool.cluster)
    size = factory.LazyAttribute(lambda o: o.pool.size)
    dedicated_client = factory.LazyAttribute(lambda o: o.pool.dedicated_client)
    label = factory.LazyAttribute(lambda o: f"{o.pool.cluster.slug}/{o.pool.name}")
    node_count = 3
    cpu_allocatable = 6000
    memory_allocatable_mib = 12288
    cpu_requested = 0
    memory_requested_mib = 0


class EnvironmentSampleFactory(DjangoModelFactory):
    class Meta:
        model = "billing.EnvironmentSample"

    taken_at = factory.Sequence(
        lambda n: datetime.datetime(2026, 6, 1, tzinfo=datetime.UTC) + datetime.timedelta(hours=n)
    )
    seconds = 3600
    environment = factory.SubFactory(EnvironmentFactory)
    site = factory.LazyAttribute(lambda o: o.environment.site)
    client = factory.LazyAttribute(lambda o: o.environment.site.client)
    cluster = factory.LazyAttribute(lambda o: o.environment.cluster)
    label = factory.LazyAttribute(lambda o: str(o.environment))
    site_label = factory.LazyAttribute(lambda o: o.environment.site.name)
    pods = 1
    cpu_millicores = 250
    memory_mib = 256


class PoolDedicationFactory(DjangoModelFactory):
    class Meta:
        model = "billing.PoolDedication"

    pool = factory.SubFactory(NodePoolFactory)
    dedicated_client = factory.LazyAttribute(lambda o: o.pool.dedicated_client)
    # Before any pool of the tests was made (saving a pool records today's row itself).
    effective_from = factory.Sequence(
        lambda n: datetime.date(2020, 1, 1) + datetime.timedelta(days=n)
    )


class PoolUsageDayFactory(DjangoModelFactory):
    class Meta:
        model = "billing.PoolUsageDay"

    day = factory.Sequence(lambda n: datetime.date(2026, 6, 1) + datetime.timedelta(days=n))
    pool = factory.SubFactory(NodePoolFactory)
    cluster = factory.LazyAttribute(lambda o: o.pool.cluster)
    size = factory.LazyAttribute(lambda o: o.pool.size)
    dedicated_client = factory.LazyAttribute(lambda o: o.pool.dedicated_client)
    label = factory.LazyAttribute(lambda o: f"{o.pool.cluster.slug}/{o.pool.name}")
    hours = Decimal("24")
    node_hours = Decimal("72")
    slot_seconds = factory.LazyFunction(lambda: [86400, 86400, 86400])


class EnvironmentUsageDayFactory(DjangoModelFactory):
    class Meta:
        model = "billing.EnvironmentUsageDay"

    day = factory.Sequence(lambda n: datetime.date(2026, 6, 1) + datetime.timedelta(days=n))
    environment = factory.SubFactory(EnvironmentFactory)
    site = factory.LazyAttribute(lambda o: o.environment.site)
    client = factory.LazyAttribute(lambda o: o.environment.site.client)
    cluster = factory.LazyAttribute(lambda o: o.environment.cluster)
    label = factory.LazyAttribute(lambda o: str(o.environment))
    site_label = factory.LazyAttribute(lambda o: o.environment.site.name)
    hours = Decimal("24")
    pod_hours = Decimal("24")
    node_hours = Decimal("1.5")


class EnvironmentDatabaseFactory(DjangoModelFactory):
    class Meta:
        model = EnvironmentDatabase

    environment = factory.SubFactory(EnvironmentFactory)
    name = factory.Sequence(lambda n: f"db_{n}")
    user = factory.Sequence(lambda n: f"user_{n}")
    password = "test-database-password"
    files_prefix = factory.Sequence(lambda n: f"sites/client/site/env{n}/")


class BackupScheduleFactory(DjangoModelFactory):
    class Meta:
        model = BackupSchedule

    environment = factory.SubFactory(EnvironmentFactory)


class BackupFactory(DjangoModelFactory):
    class Meta:
        model = Backup

    environment = factory.SubFactory(EnvironmentFactory)
    site = factory.LazyAttribute(lambda o: o.environment.site)
    cluster = factory.LazyAttribute(lambda o: o.environment.cluster)
    environment_slug = factory.LazyAttribute(lambda o: o.environment.slug)
    kind = Backup.Kind.MANUAL
    status = Backup.Status.SUCCEEDED
    taken_at = factory.Sequence(
        lambda n: datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC) + datetime.timedelta(hours=n)
    )
    key_prefix = factory.Sequence(lambda n: f"backups/client/site/env/2026010{n % 10}T000000Z-{n}/")
