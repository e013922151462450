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
from sites.models import CronSchedule, Domain, Environment, EnvVar, Release, Site, Tier


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
