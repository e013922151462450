"""Secrets at rest: ciphertext in the database, plaintext in Python, keys that rotate."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from clusters.models import Cluster
from controlpanel.core import crypto
from controlpanel.core.models import AuditEvent
from sites import services
from sites.models import EnvVar
from tests import factories as f

SECRET = "s3cr3t-database-password"


def raw_column(model, pk, column):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {model._meta.db_table} WHERE id = %s", [pk])  # noqa: S608
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_database_holds_ciphertext_and_the_model_plaintext():
    cluster = f.ClusterFactory(db_admin_password=SECRET)
    stored = raw_column(Cluster, cluster.pk, "db_admin_password")
    assert SECRET not in stored
    assert stored.startswith("gAAAAA")  # a Fernet token
    assert Cluster.objects.get(pk=cluster.pk).db_admin_password == SECRET


@pytest.mark.django_db
def test_every_kubeconfig_and_key_field_is_encrypted():
    cluster = f.ClusterFactory()
    for column in ("kubeconfig", "storage_access_key", "storage_secret_key", "db_admin_password"):
        plaintext = getattr(cluster, column)
        assert plaintext
        assert plaintext not in raw_column(Cluster, cluster.pk, column)


@pytest.mark.django_db
def test_empty_secret_stays_empty_so_unset_is_visible():
    cluster = f.ClusterFactory(db_admin_password="")
    assert raw_column(Cluster, cluster.pk, "db_admin_password") == ""


@pytest.mark.django_db
def test_rotation_re_encrypts_with_the_new_key(environment, owner):
    variable = services.env_var_set(
        actor=owner, environment=environment, key="API_TOKEN", value=SECRET, is_secret=True
    )
    old_keys = list(settings.FIELD_ENCRYPTION_KEYS)
    new_key = Fernet.generate_key().decode()
    with override_settings(FIELD_ENCRYPTION_KEYS=[new_key, *old_keys]):
        call_command("rotate_encryption_keys", stdout=open("/dev/null", "w"))  # noqa: SIM115
    # With only the new key left, everything still decrypts.
    with override_settings(FIELD_ENCRYPTION_KEYS=[new_key]):
        assert EnvVar.objects.get(pk=variable.pk).value == SECRET
        assert Cluster.objects.get(pk=environment.cluster_id).db_admin_password
    # And the old keys alone no longer can: the rows really were rewritten.
    with override_settings(FIELD_ENCRYPTION_KEYS=old_keys), pytest.raises(crypto.DecryptionError):
        EnvVar.objects.get(pk=variable.pk)


@pytest.mark.django_db
def test_removed_key_gives_a_clear_error_not_garbage(environment):
    f.EnvVarFactory(environment=environment, value=SECRET)
    unknown_key = [Fernet.generate_key().decode()]
    with (
        override_settings(FIELD_ENCRYPTION_KEYS=unknown_key),
        pytest.raises(crypto.DecryptionError, match="FIELD_ENCRYPTION_KEYS"),
    ):
        list(EnvVar.objects.all())


def test_invalid_key_is_reported_by_position_without_echoing_it():
    with pytest.raises(crypto.EncryptionKeyError) as excinfo:
        crypto.load_keys([Fernet.generate_key().decode(), "not-a-key-at-all"])
    assert "entry 2" in str(excinfo.value)
    assert "not-a-key-at-all" not in str(excinfo.value)


@pytest.mark.django_db
def test_secrets_stay_out_of_repr_and_the_audit_log(environment, owner):
    variable = services.env_var_set(
        actor=owner, environment=environment, key="API_TOKEN", value=SECRET, is_secret=True
    )
    services.env_var_set(
        actor=owner,
        environment=environment,
        key="API_TOKEN",
        value="rotated-" + SECRET,
        is_secret=True,
    )
    assert SECRET not in repr(variable) and SECRET not in str(variable)
    cluster = environment.cluster
    assert cluster.db_admin_password not in repr(cluster)
    events = AuditEvent.objects.filter(target_type="sites.envvar")
    assert events.count() == 2
    for event in events:
        assert SECRET not in str(event.changes)
    assert events.filter(action="envvar.update").get().changes == {"value": "(secret changed)"}
