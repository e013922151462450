"""Every change is audited: each public function of the service modules is either driven
here (and must leave an AuditEvent naming the actor, the client acted for and the action)
or listed as not changing anything an auditor asks about, with the reason.

A new public function in one of these modules fails `test_every_public_function_is_listed`
until it is added to one of the two tables.

Background work: an action is audited when it is requested (who, for which client, what);
the Operation row it creates records `requested_by`, the outcome and every step
(OperationEvent), so finishing an operation writes no second audit row. Work started by
Celery beat (scheduled backups, weekly restore checks, draft invoices) is audited with no
actor, which reads "system".
"""

from __future__ import annotations

import datetime
import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from controlpanel.core.models import AuditEvent, Client, User
from controlpanel.core.roles import ClientRole
from sites.models import Environment, Release
from tests import factories as f
from tests.backups.conftest import backup_in_bucket

MODULES = (
    "controlpanel.core.services",
    "sites.services.sites",
    "sites.services.config",
    "sites.services.environments",
    "sites.services.fleet",
    "sites.services.operations",
    "sites.services.drift",
    "sites.mail.services",
    "sites.backups.services",
    "sites.local.services",
    "sites.services.digests",
    "billing.services",
    "billing.invoicing",
    "controlpanel.integrations.tokens",
    "controlpanel.integrations.webhooks",
)

# Public functions that change nothing an auditor asks about.
NOT_AUDITED = {
    "billing.invoicing.line_fields": "pure: an invoice line's fields",
    "sites.services.environments.environment_destroy_expired": "no person acts: Hangar "
    "destroys a preview past its time to live, and the destroy operation it creates (no "
    "actor) is the record",
    "sites.services.environments.pinned": "pure: an image reference with its digest",
    "sites.services.environments.environment_scale_check": "validation only",
    "sites.services.operations.require_provisioned": "a check",
    "sites.services.operations.environment_operation": "the constructor every audited "
    "action calls; it audits each operation it creates (driven through them)",
    "sites.services.drift.environment_drift": "a read (compares live objects)",
    "sites.services.config.configurations_changed": "queues applies of a shared change "
    "its caller audited (a client's mail relay)",
    "sites.services.drift.environment_check_drift": "stores the periodic drift report on "
    "the environment; a repair it queues is audited by environment_operation",
    "sites.services.config.check_config_size": "validation only",
    "sites.backups.services.backups_visible": "a read (tenant-scoped query)",
    "sites.backups.services.can_download": "a permission check",
    "sites.local.services.site_sanitize_rules": "a read (the rules in force)",
    "sites.local.services.sanitized_dumps_visible": "a read (tenant-scoped query)",
    "sites.services.digests.live_release": "a read",
    "sites.services.digests.web_pod_digests": "a read of the cluster (pods' imageID)",
    "sites.services.digests.release_record_digests": "records what the pods report, as "
    "part of an operation (rollout, restart, scale, apply) or a drift check",
    "billing.invoicing.minimum_site_fee": "a read",
    "billing.invoicing.client_month_lines": "a read",
    "billing.invoicing.invoice_email_address": "a read",
    "controlpanel.integrations.tokens.digest": "pure: SHA-256 of a token",
    "controlpanel.integrations.tokens.token_lookup": "authentication; writes only last_used_at",
    "controlpanel.integrations.tokens.reauthenticate": "a password check; failures are logged",
    "controlpanel.integrations.webhooks.validate_url": "pure validation",
    "controlpanel.integrations.webhooks.sign": "pure: the HMAC of a delivery",
    "controlpanel.integrations.webhooks.deliver": "one attempt of a delivery; the "
    "WebhookDelivery row is its log (status, attempts, response)",
    "controlpanel.integrations.webhooks.deliver_with_retries": "the embedded worker's "
    "delivery loop",
    "controlpanel.integrations.webhooks.queue_event": "deliveries of an event whose change "
    "is audited",
}


@dataclass
class World:
    owner: User
    staff_admin: User
    staff_billing: User
    client: Client
    environment: Environment
    staging: Environment
    storage: tuple  # (the S3 API server's URL, a boto3 client, a bucket) for downloads


Driver = Callable[[World], tuple[str, Client | None, User]]

LAST_MONTH = (datetime.date.today().replace(day=1) - datetime.timedelta(days=1)).replace(day=1)


def drive_client_create(w):
    from controlpanel.core.services import client_create

    new = client_create(
        actor=w.staff_admin, name="Initech", slug="initech", billing_email="ap@initech.test"
    )
    return "client.create", new, w.staff_admin


def drive_client_update(w):
    from controlpanel.core.services import client_update

    client_update(actor=w.staff_admin, client=w.client, status=Client.Status.SUSPENDED)
    return "client.suspend", w.client, w.staff_admin


def _member(w, role=ClientRole.DEVELOPER):
    return f.MembershipFactory(
        client=w.client, role=role, user=f.UserFactory(email="new-member@acme.test")
    )


def drive_membership_add(w):
    from controlpanel.core.services import membership_add

    user = f.UserFactory(email="added@acme.test")
    membership_add(actor=w.owner, client=w.client, user=user, role=ClientRole.VIEWER)
    return "membership.add", w.client, w.owner


def drive_membership_set_role(w):
    from controlpanel.core.services import membership_set_role

    membership_set_role(actor=w.owner, membership=_member(w), role=ClientRole.VIEWER)
    return "membership.update", w.client, w.owner


def drive_membership_remove(w):
    from controlpanel.core.services import membership_remove

    membership_remove(actor=w.owner, membership=_member(w))
    return "membership.remove", w.client, w.owner


def drive_reset_two_factor(w):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from controlpanel.core.services import reset_two_factor

    TOTPDevice.objects.create(user=w.owner, name="phone", confirmed=True)
    reset_two_factor(actor=w.staff_admin, user=w.owner)
    return "user.two_factor_reset", None, w.staff_admin


def drive_user_invite(w):
    from controlpanel.core.services import user_invite

    user_invite(actor=w.owner, email="invitee@acme.test", client=w.client, role="developer")
    return "user.invite", w.client, w.owner


def drive_site_create(w):
    from sites.services import site_create

    site_create(actor=w.owner, client=w.client, name="Blog", slug="blog")
    return "site.create", w.client, w.owner


def drive_environment_create(w):
    from sites.services import environment_create

    environment_create(
        actor=w.owner,
        site=w.environment.site,
        name="Dev",
        slug="dev",
        cluster=w.environment.cluster,
    )
    return "environment.create", w.client, w.owner


def drive_domain_add(w):
    from sites.services import domain_add

    domain_add(actor=w.owner, environment=w.environment, hostname="new.acme.example")
    return "domain.add", w.client, w.owner


def drive_domain_remove(w):
    from sites.services import domain_remove

    domain_remove(actor=w.owner, domain=f.DomainFactory(environment=w.environment))
    return "domain.remove", w.client, w.owner


def drive_env_var_set(w):
    from sites.services import env_var_set

    env_var_set(
        actor=w.owner, environment=w.environment, key="API_KEY", value="x" * 20, is_secret=True
    )
    return "envvar.create", w.client, w.owner


def drive_env_var_delete(w):
    from sites.services import env_var_delete

    env_var_delete(actor=w.owner, variable=f.EnvVarFactory(environment=w.environment))
    return "envvar.delete", w.client, w.owner


def drive_cron_schedule_create(w):
    from sites.services import cron_schedule_create

    cron_schedule_create(
        actor=w.owner,
        environment=w.environment,
        name="nightly",
        schedule="H 3 * * *",
        command="drush cron",
    )
    return "cron.create", w.client, w.owner


def drive_cron_schedule_update(w):
    from sites.services import cron_schedule_update

    cron = f.CronScheduleFactory(environment=w.environment)
    cron_schedule_update(actor=w.owner, cron=cron, schedule="*/7 * * * *")
    return "cron.update", w.client, w.owner


def drive_cron_schedule_delete(w):
    from sites.services import cron_schedule_delete

    cron_schedule_delete(actor=w.owner, cron=f.CronScheduleFactory(environment=w.environment))
    return "cron.delete", w.client, w.owner


IMAGE = "registry.example.com/acme/web:2.0.0"


def drive_environment_provision(w):
    from sites.services import environment_provision

    environment_provision(actor=w.owner, environment=w.environment)
    return "environment.provision", w.client, w.owner


def drive_environment_deploy(w):
    from sites.services import environment_deploy

    environment_deploy(actor=w.owner, environment=w.environment, image=IMAGE)
    return "environment.deploy", w.client, w.owner


def drive_environment_promote(w):
    from sites.services import environment_promote

    environment_promote(actor=w.owner, source=w.staging, target=w.environment)
    return "environment.deploy", w.client, w.owner


def drive_environment_rollback(w):
    from sites.services import environment_rollback

    release = f.ReleaseFactory(environment=w.environment, status=Release.Status.SUCCEEDED)
    environment_rollback(actor=w.owner, environment=w.environment, release=release)
    return "environment.deploy", w.client, w.owner


def drive_environment_restart(w):
    from sites.services import environment_restart

    environment_restart(actor=w.owner, environment=w.environment)
    return "environment.restart", w.client, w.owner


def drive_environment_scale(w):
    from sites.services import environment_scale

    environment_scale(actor=w.owner, environment=w.environment, replicas=3)
    return "environment.scale", w.client, w.owner


def drive_environment_autoscale(w):
    from sites.services import environment_autoscale

    environment_autoscale(
        actor=w.owner, environment=w.environment, enabled=True, min_replicas=2, max_replicas=4
    )
    return "environment.scale", w.client, w.owner


def drive_configuration_change(w):
    from controlpanel.core.permissions import Action
    from sites.models import Domain
    from sites.services import Verb, configuration_change

    configuration_change(
        actor=w.owner,
        environment=w.environment,
        permission=Action.MANAGE_DOMAINS,
        action="domain.add",
        instance=Domain(environment=w.environment, hostname="audited.example.com"),
        verb=Verb.CREATE,
    )
    return "environment.apply_config", w.client, w.owner


def _relay(w):
    from sites.mail.services import mail_relay_set

    return mail_relay_set(
        actor=w.owner, client=w.client, host="smtp.example.com", username="u", password="p"
    )


def drive_mail_relay_set(w):
    _relay(w)
    return "mail.relay.create", w.client, w.owner


def drive_mail_relay_delete(w):
    from sites.mail.services import mail_relay_delete

    _relay(w)
    mail_relay_delete(actor=w.owner, client=w.client)
    return "mail.relay.delete", w.client, w.owner


def drive_mail_override_set(w):
    from sites.mail.services import mail_override_set

    mail_override_set(actor=w.owner, environment=w.staging, mode="deliver")
    return "mail.override.create", w.client, w.owner


def drive_mail_override_delete(w):
    from sites.mail.services import mail_override_delete, mail_override_set

    mail_override_set(actor=w.owner, environment=w.staging, mode="deliver")
    mail_override_delete(actor=w.owner, environment=w.staging)
    return "mail.override.delete", w.client, w.owner


def drive_environment_send_test_mail(w):
    from sites.mail.services import environment_send_test_mail

    w.environment.tier = "production"
    w.environment.save()
    _relay(w)
    environment_send_test_mail(actor=w.owner, environment=w.environment, recipient="a@b.test")
    return "environment.test_mail", w.client, w.owner


def drive_domain_update(w):
    from sites.services import domain_add, domain_update

    domain = domain_add(actor=w.owner, environment=w.environment, hostname="www.acme.test")
    domain_update(actor=w.owner, domain=domain, is_primary=True)
    return "domain.update", w.client, w.owner


def drive_environment_repair(w):
    from sites.services import environment_repair

    environment_repair(actor=w.owner, environment=w.environment)
    return "environment.apply_config", w.client, w.owner


def drive_cron_run_now(w):
    from sites.services import cron_run_now

    cron_run_now(actor=w.owner, cron=f.CronScheduleFactory(environment=w.environment))
    return "cron.run", w.client, w.owner


def drive_environment_run_command(w):
    from sites.services import environment_run_command

    environment_run_command(actor=w.owner, environment=w.environment, command="drush cr")
    return "environment.command", w.client, w.owner


def drive_environment_destroy(w):
    from sites.services import environment_destroy

    environment_destroy(actor=w.owner, environment=w.environment, confirm=w.environment.namespace)
    return "environment.destroy", w.client, w.owner


def drive_fleet_deploy(w):
    from sites.selectors import FleetFilter
    from sites.services import fleet_deploy

    fleet_deploy(actor=w.staff_admin, image=IMAGE, where=FleetFilter(client=w.client))
    return "environment.deploy", w.client, w.staff_admin


def _backup(w):
    return f.BackupFactory(environment=w.environment)


def drive_backup_create(w):
    from sites.backups.services import backup_create

    backup_create(actor=w.owner, environment=w.environment)
    return "backup.create", w.client, w.owner


def drive_backup_restore(w):
    from sites.backups.services import backup_restore

    backup_restore(actor=w.owner, backup=_backup(w), target=w.environment)
    return "backup.restore", w.client, w.owner


def drive_backup_check_restore(w):
    from sites.backups.services import backup_check_restore

    _backup(w)
    backup_check_restore(actor=w.owner, environment=w.environment)
    return "backup.check_restore", w.client, w.owner


def drive_backup_schedule_set(w):
    from sites.backups.services import backup_schedule_set

    backup_schedule_set(actor=w.owner, environment=w.environment, keep_daily=3)
    return "backup.schedule.create", w.client, w.owner


def drive_backup_schedule_delete(w):
    from sites.backups.services import backup_schedule_delete

    f.BackupScheduleFactory(environment=w.environment)
    backup_schedule_delete(actor=w.owner, environment=w.environment)
    return "backup.schedule.delete", w.client, w.owner


def drive_backup_download_url(w):
    from sites.backups.services import backup_download_url

    backup_download_url(actor=w.owner, backup=backup_in_bucket(_backup(w), *w.storage))
    return "backup.download", w.client, w.owner


def drive_site_sanitize_rules_set(w):
    from sites.local.services import site_sanitize_rules_set

    site_sanitize_rules_set(
        actor=w.owner, site=w.environment.site, sanitize_sql="DELETE FROM watchdog;"
    )
    return "site.sanitize_rules.change", w.client, w.owner


def drive_backup_sanitize(w):
    from sites.local.services import backup_sanitize

    backup_sanitize(actor=w.owner, backup=_backup(w))
    return "backup.sanitize", w.client, w.owner


def drive_sanitized_download(w):
    from sites.local.models import SanitizedDump
    from sites.local.services import sanitized_download

    backup = _backup(w)
    SanitizedDump.objects.create(
        backup=backup, status=SanitizedDump.Status.SUCCEEDED, key=backup.key_prefix + "s.sql.gz"
    )
    sanitized_download(actor=w.owner, backup=backup)
    return "backup.sanitized.download", w.client, w.owner


def drive_environment_files_script(w):
    import boto3
    from moto.server import ThreadedMotoServer

    from sites.local.services import environment_files_script

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        cluster = w.environment.cluster
        cluster.storage_endpoint, cluster.storage_bucket = f"http://{host}:{port}", "files"
        cluster.storage_access_key, cluster.storage_secret_key = "a", "b"
        cluster.storage_addressing_style = "path"
        cluster.save()
        boto3.client(
            "s3",
            endpoint_url=cluster.storage_endpoint,
            region_name="us-east-1",
            aws_access_key_id="a",
            aws_secret_access_key="b",
        ).create_bucket(Bucket="files")
        environment_files_script(actor=w.owner, environment=w.environment)
    finally:
        server.stop()
    return "environment.files.download", w.client, w.owner


def drive_environment_rotate_database_password(w):
    from sites.backups.services import environment_rotate_database_password

    environment_rotate_database_password(actor=w.owner, environment=w.environment)
    return "environment.rotate_database_password", w.client, w.owner


def drive_node_price_create(w):
    from billing.services import node_price_create

    node_price_create(
        actor=w.staff_billing,
        size=f.NodeSizeFactory(),
        monthly_price="24.00",
        effective_from=datetime.date(2026, 1, 1),
    )
    return "nodeprice.create", None, w.staff_billing


def drive_cluster_cost_item_create(w):
    from billing.services import cluster_cost_item_create

    cluster_cost_item_create(
        actor=w.staff_billing,
        cluster=w.environment.cluster,
        kind="control_plane",
        name="HA control plane",
        monthly_price="40.00",
        effective_from=datetime.date(2026, 1, 1),
    )
    return "clustercostitem.create", None, w.staff_billing


def drive_cluster_cost_item_end(w):
    from billing.services import cluster_cost_item_end

    item = f.ClusterCostItemFactory(cluster=w.environment.cluster)
    cluster_cost_item_end(actor=w.staff_billing, item=item, ends_on=datetime.date(2026, 3, 31))
    return "clustercostitem.end", None, w.staff_billing


def drive_billing_profile_update(w):
    from billing.services import billing_profile_update

    billing_profile_update(actor=w.staff_billing, client=w.client, minimum_site_fee="5.00")
    return "billingprofile.create", w.client, w.staff_billing


def drive_invoice_generate(w):
    from billing.invoicing import invoice_generate

    invoice_generate(actor=w.staff_billing, client=w.client, month=LAST_MONTH)
    return "invoice.create", w.client, w.staff_billing


def drive_invoices_generate(w):
    from billing.invoicing import invoices_generate

    invoices_generate(actor=w.staff_billing, month=LAST_MONTH)
    return "invoice.generate_month", None, w.staff_billing


def _issued(w):
    from billing.invoicing import invoice_issue

    invoice = f.InvoiceFactory(client=w.client)
    return invoice_issue(actor=w.staff_billing, invoice=invoice)


def drive_invoice_issue(w):
    _issued(w)
    return "invoice.issue", w.client, w.staff_billing


def drive_invoice_mark_paid(w):
    from billing.invoicing import invoice_mark_paid

    invoice_mark_paid(actor=w.staff_billing, invoice=_issued(w))
    return "invoice.paid", w.client, w.staff_billing


def drive_invoice_void(w):
    from billing.invoicing import invoice_void

    invoice_void(actor=w.staff_billing, invoice=_issued(w), reason="Wrong month")
    return "invoice.void", w.client, w.staff_billing


def drive_invoice_delete_draft(w):
    from billing.invoicing import invoice_delete_draft

    invoice_delete_draft(actor=w.staff_billing, invoice=f.InvoiceFactory(client=w.client))
    return "invoice.delete", w.client, w.staff_billing


def drive_token_create(w):
    from controlpanel.integrations.tokens import token_create

    token_create(actor=w.owner, name="laptop", scopes=["read"])
    return "token.create", None, w.owner


def drive_deploy_token_create(w):
    from controlpanel.integrations.tokens import deploy_token_create

    deploy_token_create(actor=w.owner, environment=w.environment, name="ci")
    return "token.create_deploy", w.client, w.owner


def drive_preview_token_create(w):
    from controlpanel.integrations.tokens import preview_token_create

    preview_token_create(actor=w.owner, site=w.environment.site, name="ci")
    return "token.create_preview", w.client, w.owner


def drive_token_revoke(w):
    from controlpanel.integrations.tokens import deploy_token_create, token_revoke

    row, _ = deploy_token_create(actor=w.owner, environment=w.environment, name="ci")
    token_revoke(actor=w.owner, token=row)
    return "token.revoke", w.client, w.owner


def _webhook(w):
    from controlpanel.integrations.webhooks import webhook_create

    webhook, _ = webhook_create(
        actor=w.owner,
        client=w.client,
        url="https://hooks.example.com/h",
        events=["operation.finished"],
    )
    return webhook


def drive_webhook_create(w):
    _webhook(w)
    return "webhook.create", w.client, w.owner


def drive_webhook_update(w):
    from controlpanel.integrations.webhooks import webhook_update

    webhook_update(actor=w.owner, webhook=_webhook(w), active=False)
    return "webhook.update", w.client, w.owner


def drive_webhook_delete(w):
    from controlpanel.integrations.webhooks import webhook_delete

    webhook_delete(actor=w.owner, webhook=_webhook(w))
    return "webhook.delete", w.client, w.owner


def drive_webhook_ping(w):
    from controlpanel.integrations.webhooks import webhook_ping

    webhook_ping(actor=w.owner, webhook=_webhook(w))
    return "webhook.ping", w.client, w.owner


DRIVERS: dict[str, Driver] = {
    f"{module}.{name.removeprefix('drive_')}": function
    for module, names in {
        "controlpanel.core.services": [
            "client_create",
            "client_update",
            "membership_add",
            "membership_set_role",
            "membership_remove",
            "user_invite",
            "reset_two_factor",
        ],
        "sites.services.sites": ["site_create", "environment_create"],
        "sites.services.config": [
            "configuration_change",
            "domain_add",
            "domain_update",
            "domain_remove",
            "env_var_set",
            "env_var_delete",
            "cron_schedule_create",
            "cron_schedule_update",
            "cron_schedule_delete",
        ],
        "sites.services.fleet": ["fleet_deploy"],
        "sites.mail.services": [
            "mail_relay_set",
            "mail_relay_delete",
            "mail_override_set",
            "mail_override_delete",
            "environment_send_test_mail",
        ],
        "sites.services.environments": [
            "environment_provision",
            "environment_deploy",
            "environment_promote",
            "environment_rollback",
            "environment_restart",
            "environment_scale",
            "environment_autoscale",
            "environment_repair",
            "cron_run_now",
            "environment_run_command",
            "environment_destroy",
        ],
        "sites.backups.services": [
            "backup_create",
            "backup_restore",
            "backup_check_restore",
            "backup_schedule_set",
            "backup_schedule_delete",
            "backup_download_url",
            "environment_rotate_database_password",
        ],
        "sites.local.services": [
            "site_sanitize_rules_set",
            "backup_sanitize",
            "sanitized_download",
            "environment_files_script",
        ],
        "billing.services": [
            "node_price_create",
            "cluster_cost_item_create",
            "cluster_cost_item_end",
            "billing_profile_update",
        ],
        "billing.invoicing": [
            "invoice_generate",
            "invoices_generate",
            "invoice_issue",
            "invoice_mark_paid",
            "invoice_void",
            "invoice_delete_draft",
        ],
        "controlpanel.integrations.tokens": [
            "token_create",
            "deploy_token_create",
            "preview_token_create",
            "token_revoke",
        ],
        "controlpanel.integrations.webhooks": [
            "webhook_create",
            "webhook_update",
            "webhook_delete",
            "webhook_ping",
        ],
    }.items()
    for name in names
    for function in [globals()[f"drive_{name}"]]
}


def public_functions() -> set[str]:
    found = set()
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        for name, value in inspect.getmembers(module, inspect.isfunction):
            if not name.startswith("_") and value.__module__ == module_name:
                found.add(f"{module_name}.{name}")
    return found


def test_every_public_function_is_listed():
    functions = public_functions()
    unlisted = functions - set(DRIVERS) - set(NOT_AUDITED)
    assert not unlisted, (
        "New public functions: drive them in DRIVERS (they must write an AuditEvent) or "
        f"say in NOT_AUDITED why they change nothing worth auditing: {sorted(unlisted)}"
    )
    assert not (set(DRIVERS) | set(NOT_AUDITED)) - functions, "stale entries"
    assert not set(DRIVERS) & set(NOT_AUDITED)


@pytest.fixture
def world(db, settings, client_a, owner, staff_admin, staff_billing, s3_server, s3, bucket):
    settings.HANGAR_WEBHOOK_ALLOW_PRIVATE = True
    cluster = f.ClusterFactory(slug="audited", provision_data=True)
    site = f.SiteFactory(client=client_a, slug="www")
    active = Environment.Status.ACTIVE
    environment = f.EnvironmentFactory(
        site=site, cluster=cluster, slug="production", status=active, image=IMAGE
    )
    staging = f.EnvironmentFactory(
        site=site, cluster=cluster, slug="staging", status=active, image=IMAGE
    )
    f.EnvironmentDatabaseFactory(environment=environment)
    return World(
        owner, staff_admin, staff_billing, client_a, environment, staging, (s3_server, s3, bucket)
    )


@pytest.mark.parametrize("function", sorted(DRIVERS))
def test_every_change_leaves_an_audit_event(world, function):
    before = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    action, client, actor = DRIVERS[function](world)
    events = AuditEvent.objects.filter(pk__gt=before, action=action)
    assert events.exists(), f"{function} wrote no {action!r} event"
    event = events.order_by("-pk").first()
    assert event.actor_id == actor.pk and event.actor_label == actor.email, function
    assert event.client_id == (client.pk if client else None), function
    assert event.created_at is not None
