"""No secret leaves Hangar except where it is meant to (the Kubernetes Secret `app-env`,
a token or webhook secret shown once at creation).

Known values are planted everywhere Hangar keeps a secret — the kubeconfig's token, the
database server's admin password, the object-storage secret key, a secret variable, the
hash salt, an environment's generated database password, a webhook signing secret, API
tokens, SECRET_KEY and the encryption keys — then an environment goes through its life on
the sandbox cluster with real MariaDB and S3 (every log record of every logger captured at
DEBUG, kubernetes and urllib3 included), and every GET endpoint of the OpenAPI schema, the
admin's pages, some portal pages, the audit log and the operations' logs are read. None of
the values, nor their base64, may appear anywhere.

Not scanned: log records of the sandbox emulator and of the S3 server, which stand for the
Kubernetes API server and the storage provider (they are meant to receive the secrets).
The storage access key id is an identifier, not a secret (AWS's own terms): presigned
download links carry it by design.
"""

from __future__ import annotations

import base64
import datetime
import logging
import secrets
import uuid

import pymysql
import pytest
from django.conf import settings
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from billing.invoicing import invoice_generate
from clusters.connection import cluster_test_connection
from clusters.models import Operation, OperationEvent
from controlpanel.core.models import AuditEvent
from controlpanel.integrations.tokens import token_create
from controlpanel.integrations.webhooks import webhook_create, webhook_ping
from sites import selectors, services
from sites.backups import services as backups
from sites.models import Backup, EnvironmentDatabase
from tests import factories as f
from tests.backups.helpers import MARIADB
from tests.engine import drain
from tests.web.helpers import sign_in

# Loggers that play the other side of the wire (see the module's docstring).
OTHER_SIDE = ("clusters.sandbox", "werkzeug", "moto")


def marker(name: str) -> str:
    return f"{name}-{secrets.token_hex(12)}"


KUBE_TOKEN = marker("kubetoken")


@pytest.fixture
def tool_sandbox_token():
    """The backup tests' sandbox (tests/backups/conftest.py), with a token we know."""
    return KUBE_TOKEN


@pytest.fixture
def db_admin(mariadb):
    """A database-server admin with a password we know."""
    user, password = f"hgradm{uuid.uuid4().hex[:8]}", marker("dbadmin")
    root = pymysql.connect(
        **MARIADB,
        user=settings.TEST_MARIADB["admin_user"],
        password=settings.TEST_MARIADB["admin_password"],
        autocommit=True,
    )
    with root.cursor() as cursor:
        cursor.execute("CREATE USER %s@'%%' IDENTIFIED BY %s", (user, password))
        cursor.execute(f"GRANT ALL PRIVILEGES ON *.* TO `{user}`@'%' WITH GRANT OPTION")
    yield user, password
    with root.cursor() as cursor:
        cursor.execute("DROP USER IF EXISTS %s@'%%'", (user,))
    root.close()


def leaks(text: str, known: dict[str, str]) -> list[str]:
    found = []
    for name, value in known.items():
        encoded = base64.b64encode(value.encode()).decode()
        if value in text or encoded in text or encoded.rstrip("=") in text:
            found.append(name)
    return found


@pytest.mark.django_db(transaction=False)
def test_no_secret_in_logs_responses_pages_or_the_audit_log(
    caplog, settings_overrides, data_env, db_admin, owner, staff_admin, client, client_a
):
    cluster = data_env.cluster
    storage_secret = marker("s3secret")
    cluster.db_admin_user, cluster.db_admin_password = db_admin
    cluster.storage_secret_key = storage_secret
    cluster.save()
    f.NodePoolFactory(cluster=cluster, name="shared")
    data_env.hash_salt = marker("hashsalt")
    data_env.save(update_fields=["hash_salt"])
    env_secret = marker("envsecret")

    known = {
        "kubeconfig token": KUBE_TOKEN,
        "database admin password": db_admin[1],
        "storage secret key": storage_secret,
        "secret variable": env_secret,
        "hash salt": data_env.hash_salt,
        "SECRET_KEY": settings.SECRET_KEY,
        **{f"encryption key {i}": k for i, k in enumerate(settings.FIELD_ENCRYPTION_KEYS)},
    }

    # --- an environment's life, every logger at DEBUG ------------------------------------
    caplog.set_level(logging.DEBUG)
    for name in ("kubernetes", "urllib3", "botocore", "boto3", "requests", "django", "celery"):
        caplog.set_level(logging.DEBUG, logger=name)

    _, admin_token = token_create(actor=staff_admin, name="scan", scopes=["read"])
    _, owner_token = token_create(actor=owner, name="laptop", scopes=["read", "write"])
    known |= {"staff API token": admin_token, "owner API token": owner_token}
    webhook, webhook_secret = webhook_create(
        actor=owner,
        client=client_a,
        url="https://hooks.example.com/h",
        events=["operation.finished"],
    )
    known["webhook secret"] = webhook_secret

    cluster_test_connection(cluster=cluster)
    ops = [services.environment_provision(actor=owner, environment=data_env)]
    drain()
    known["environment database password"] = EnvironmentDatabase.objects.get(
        environment=data_env
    ).password
    services.env_var_set(
        actor=owner, environment=data_env, key="PAYMENT_KEY", value=env_secret, is_secret=True
    )
    services.env_var_set(actor=owner, environment=data_env, key="COLOR", value="blue")
    services.domain_add(actor=owner, environment=data_env, hostname="scan.acme.example")
    cron = services.cron_schedule_create(
        actor=owner, environment=data_env, name="drupal", schedule="H * * * *", command="drush cron"
    )
    ops += [
        services.environment_deploy(
            actor=owner, environment=data_env, image="registry.example.com/acme/web:1.1.0"
        ),
        services.cron_run_now(actor=owner, cron=cron),
        services.environment_run_command(actor=owner, environment=data_env, command="env | wc -l"),
        backups.backup_create(actor=owner, environment=data_env),
    ]
    drain()
    backup = Backup.objects.filter(environment=data_env, status="succeeded").first()
    assert backup is not None
    backups.backup_download_url(actor=owner, backup=backup)
    ops.append(backups.backup_restore(actor=owner, backup=backup, target=data_env))
    ops.append(backups.environment_rotate_database_password(actor=owner, environment=data_env))
    _, fleet = services.fleet_deploy(
        actor=staff_admin,
        image="registry.example.com/acme/web:1.2.0",
        where=selectors.FleetFilter(client=client_a),
    )
    ops += fleet
    drain()
    month = (datetime.date.today().replace(day=1) - datetime.timedelta(days=1)).replace(day=1)
    invoice_generate(actor=staff_admin, client=client_a, month=month)
    webhook_ping(actor=owner, webhook=webhook)
    for op in ops:
        op.refresh_from_db()
        assert op.status == Operation.Status.SUCCEEDED, (op.kind, op.error)
    known["rotated database password"] = EnvironmentDatabase.objects.get(
        environment=data_env
    ).password
    # Drift check reads the live objects (the Secret included) back.
    from sites.services.drift import environment_check_drift

    environment_check_drift(environment=data_env)

    records = [r for r in caplog.records if not r.name.startswith(OTHER_SIDE)]
    assert len(records) > 50, "the scan must have seen the operations' logging"
    assert any(r.name.startswith("urllib3") for r in records)
    # Older kubernetes clients log response bodies (Secrets among them) at DEBUG; the
    # redaction filter leaves their size only (current ones log none).
    bodies = [r for r in records if r.name == "kubernetes.client.rest"]
    assert all("not logged" in r.getMessage() for r in bodies if "body" in r.getMessage())
    assert leaks(f"x {base64.b64encode(KUBE_TOKEN.encode()).decode()} y", known)
    found = {}
    for record in records:
        text = record.getMessage() + (record.exc_text or "")
        for name in leaks(text, known):
            found.setdefault(name, f"{record.name}: {text[:300]}")
    assert not found, found

    # --- every GET endpoint of the API, as a staff admin --------------------------------
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {admin_token}")
    bodies = {path: api_get_all(api, path) for path in api_get_paths()}
    for path, responses in bodies.items():
        assert responses, f"nothing exercised {path}"
        for url, response in responses:
            assert response.status_code < 500, (url, response.status_code)
            assert not leaks(body_of(response), known), (url, leaks(body_of(response), known))
    # The operations' logs, through the API and in the database.
    for event in OperationEvent.objects.all():
        assert not leaks(event.message, known), event.message
    for op in Operation.objects.all():
        assert not leaks(f"{op.params} {op.result} {op.error}", known), op.kind

    # --- the audit log -------------------------------------------------------------------
    for event in AuditEvent.objects.all():
        text = " ".join(
            str(v) for v in (event.actor_label, event.target_label, event.changes, event.user_agent)
        )
        assert not leaks(text, known), (event.action, text)

    # --- the admin's pages and some of the portal's --------------------------------------
    sign_in(client, staff_admin)
    for url in admin_urls():
        response = client.get(url)
        assert response.status_code == 200, url
        assert not leaks(response.content.decode(), known), (
            url,
            leaks(response.content.decode(), known),
        )
    client.logout()
    sign_in(client, owner)
    env = f"/environments/{data_env.pk}/"
    for url in [
        "/",
        env,
        env + "variables/",
        env + "settings/",
        env + "backups/",
        env + "logs/",
        "/account/tokens/",
        f"/clients/{client_a.pk}/webhooks/",
        "/operations/",
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert not leaks(response.content.decode(), known), url


@pytest.fixture
def settings_overrides(settings):
    settings.HANGAR_WEBHOOK_ALLOW_PRIVATE = True


def body_of(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode(errors="replace")
    return response.content.decode(errors="replace")


def api_get_paths() -> list[str]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return [path for path, item in schema["paths"].items() if "get" in item]


def _ids(prefix: str) -> list[str]:
    from billing.models import Invoice
    from clusters.models import Cluster, NodePool, NodeSize
    from controlpanel.core.models import Client, Membership
    from controlpanel.integrations.models import ApiToken, Webhook
    from sites.models import CronSchedule, Domain, Environment, EnvVar, Site

    models = {
        "audit-events": AuditEvent,
        "backups": Backup,
        "clients": Client,
        "clusters": Cluster,
        "cron": CronSchedule,
        "domains": Domain,
        "environments": Environment,
        "invoices": Invoice,
        "memberships": Membership,
        "node-pools": NodePool,
        "node-sizes": NodeSize,
        "operations": Operation,
        "sites": Site,
        "tokens": ApiToken,
        "variables": EnvVar,
        "webhooks": Webhook,
    }
    if prefix == "fleet-deploys":
        batches = Operation.objects.exclude(batch="").values_list("batch", flat=True)
        return list(dict.fromkeys(batches))[:3]
    return [
        str(pk) for pk in models[prefix].objects.order_by("-pk").values_list("pk", flat=True)[:25]
    ]


def api_get_all(api: APIClient, path: str) -> list:
    if "{" not in path:
        return [(path, api.get(path))]
    prefix = path.split("/")[3]
    name = path[path.index("{") + 1 : path.index("}")]
    return [
        (url, api.get(url)) for url in (path.replace("{" + name + "}", i) for i in _ids(prefix))
    ]


def admin_urls() -> list[str]:
    from django.contrib import admin

    urls = []
    for model in admin.site._registry:
        meta = model._meta
        base = f"/admin/{meta.app_label}/{meta.model_name}/"
        urls.append(base)
        for pk in model._default_manager.order_by("-pk").values_list("pk", flat=True)[:3]:
            urls.append(f"{base}{pk}/change/")
    return urls
