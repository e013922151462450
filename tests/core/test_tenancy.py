"""`.for_user` scoping of every model: a client user sees its own client's rows only."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib.auth.models import AnonymousUser

from billing.models import (
    BillingProfile,
    ClusterCostItem,
    EnvironmentSample,
    EnvironmentUsageDay,
    Invoice,
    InvoiceLine,
    NodePrice,
    PoolDedication,
    PoolSample,
    PoolUsageDay,
)
from clusters.models import Cluster, NodePool, NodeSize, Operation, OperationEvent
from controlpanel.core.models import AuditEvent, Client, Membership, User
from controlpanel.integrations.models import ApiToken, Webhook, WebhookDelivery
from controlpanel.integrations.tokens import token_create
from sites.local.models import SanitizedDump
from sites.mail.models import MailSettings
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
)
from sites.previews.models import PreviewSettings
from tests import factories as f

# model -> how to build one row belonging to `client` (environment: an environment of it)
TENANT_OWNED = {
    Client: lambda client, env: client,
    Membership: lambda client, env: f.MembershipFactory(client=client, role="viewer"),
    AuditEvent: lambda client, env: f.AuditEventFactory(client=client),
    NodePool: lambda client, env: f.NodePoolFactory(cluster=env.cluster, dedicated_client=client),
    Site: lambda client, env: env.site,
    Environment: lambda client, env: env,
    Domain: lambda client, env: f.DomainFactory(environment=env),
    EnvVar: lambda client, env: f.EnvVarFactory(environment=env),
    CronSchedule: lambda client, env: f.CronScheduleFactory(environment=env),
    Release: lambda client, env: f.ReleaseFactory(environment=env),
    EnvironmentDatabase: lambda client, env: f.EnvironmentDatabaseFactory(environment=env),
    BackupSchedule: lambda client, env: f.BackupScheduleFactory(environment=env),
    MailSettings: lambda client, env: MailSettings.objects.create(
        client=client, host="smtp.example.com"
    ),
    Backup: lambda client, env: f.BackupFactory(environment=env),
    SanitizedDump: lambda client, env: SanitizedDump.objects.create(
        backup=f.BackupFactory(environment=env)
    ),
    PreviewSettings: lambda client, env: PreviewSettings.objects.create(
        site=env.site, cluster=env.cluster
    ),
    Operation: lambda client, env: f.OperationFactory(client=client, cluster=env.cluster),
    OperationEvent: lambda client, env: f.OperationEventFactory(
        operation=f.OperationFactory(client=client, cluster=env.cluster)
    ),
    BillingProfile: lambda client, env: f.BillingProfileFactory(client=client),
    Invoice: lambda client, env: f.InvoiceFactory(client=client),
    InvoiceLine: lambda client, env: f.InvoiceLineFactory(invoice=f.InvoiceFactory(client=client)),
    EnvironmentSample: lambda client, env: f.EnvironmentSampleFactory(environment=env),
    EnvironmentUsageDay: lambda client, env: f.EnvironmentUsageDayFactory(environment=env),
    Webhook: lambda client, env: Webhook.objects.create(
        client=client,
        url="https://hooks.example.com/x",
        events=["operation.finished"],
        secret="whsec_test",
    ),
    WebhookDelivery: lambda client, env: WebhookDelivery.objects.create(
        webhook=Webhook.objects.create(
            client=client,
            url="https://hooks.example.com/y",
            events=["cron.failed"],
            secret="whsec_test",
        ),
        event="cron.failed",
        payload={},
    ),
}
STAFF_ONLY = {
    Cluster: lambda: f.ClusterFactory(),
    NodePrice: lambda: f.NodePriceFactory(),
    ClusterCostItem: lambda: f.ClusterCostItemFactory(),
    PoolSample: lambda: f.PoolSampleFactory(),
    PoolUsageDay: lambda: f.PoolUsageDayFactory(),
    PoolDedication: lambda: f.PoolDedicationFactory(),
    User: lambda: f.UserFactory(),
    # Tokens are personal (listed by owner in the API); for_user shows them to staff only.
    ApiToken: lambda: token_create(actor=f.UserFactory(), name="t", scopes=["read"])[0],
}
PUBLIC = {NodeSize: lambda: f.NodeSizeFactory()}


def test_every_scoped_model_is_covered_here():
    scoped = {m for m in apps.get_models() if hasattr(m._default_manager, "for_user")}
    assert scoped == set(TENANT_OWNED) | set(STAFF_ONLY) | set(PUBLIC)


@pytest.mark.parametrize("model", list(TENANT_OWNED), ids=lambda m: m.__name__)
def test_client_users_see_only_their_clients_rows(
    model,
    client_a,
    other_client,
    environment,
    other_environment,
    owner,
    viewer,
    other_owner,
    staff_billing,
):
    mine = TENANT_OWNED[model](client_a, environment)
    theirs = TENANT_OWNED[model](other_client, other_environment)
    for user in (owner, viewer):
        visible = set(model.objects.for_user(user))
        assert mine in visible
        assert theirs not in visible
    other_visible = set(model.objects.for_user(other_owner))
    assert theirs in other_visible and mine not in other_visible
    staff_visible = set(model.objects.for_user(staff_billing))
    assert {mine, theirs} <= staff_visible


@pytest.mark.parametrize("model", list(TENANT_OWNED), ids=lambda m: m.__name__)
def test_anonymous_and_inactive_users_see_nothing(model, client_a, environment, owner):
    TENANT_OWNED[model](client_a, environment)
    assert not model.objects.for_user(AnonymousUser()).exists()
    assert not model.objects.for_user(None).exists()
    owner.is_active = False
    assert not model.objects.for_user(owner).exists()


@pytest.mark.parametrize("model", list(STAFF_ONLY), ids=lambda m: m.__name__)
def test_agency_internal_rows_are_for_staff_only(model, owner, staff_operator):
    row = STAFF_ONLY[model]()
    assert not model.objects.for_user(owner).filter(pk=row.pk).exists()
    assert model.objects.for_user(staff_operator).filter(pk=row.pk).exists()


def test_node_sizes_are_a_public_catalogue(owner, other_owner):
    size = f.NodeSizeFactory()
    assert size in NodeSize.objects.for_user(owner)
    assert not NodeSize.objects.for_user(AnonymousUser()).exists()


def test_shared_pools_are_not_listed_to_clients(owner, cluster):
    shared = f.NodePoolFactory(cluster=cluster, dedicated_client=None)
    assert shared not in NodePool.objects.for_user(owner)


def test_member_of_two_clients_sees_both_without_duplicates(client_a, other_client):
    user = f.UserFactory()
    f.MembershipFactory(user=user, client=client_a, role="viewer")
    f.MembershipFactory(user=user, client=other_client, role="developer")
    f.SiteFactory(client=client_a)
    f.SiteFactory(client=other_client)
    sites = list(Site.objects.for_user(user))
    assert len(sites) == len(set(sites)) == 2


def test_for_user_runs_one_query(django_assert_num_queries, owner, environment):
    for _ in range(3):
        f.DomainFactory(environment=environment)
    with django_assert_num_queries(1):
        list(Domain.objects.for_user(owner))
