"""Rotating FIELD_ENCRYPTION_KEYS re-encrypts every secret of every model, as
docs/security.md describes: prepend a new key, deploy, `manage.py rotate_encryption_keys`,
drop the old key. (tests/core/test_encryption.py covers the field and one model.)"""

from __future__ import annotations

import io

import pytest
from cryptography.fernet import Fernet
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from controlpanel.core import crypto
from controlpanel.core.fields import EncryptedTextField
from controlpanel.integrations.models import Webhook
from sites.mail.models import MailSettings
from tests import factories as f

pytestmark = pytest.mark.django_db


def encrypted_models() -> dict[type, list[str]]:
    found = {}
    for model in apps.get_models():
        fields = [
            field.name
            for field in model._meta.concrete_fields
            if isinstance(field, EncryptedTextField)
        ]
        if fields:
            found[model] = fields
    return found


def raw(model, pk, column) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {column} FROM {model._meta.db_table} WHERE id = %s",  # noqa: S608
            [pk],
        )
        return cursor.fetchone()[0]


@pytest.fixture
def a_secret_in_every_model(client_a, owner):
    environment = f.EnvironmentFactory(site=f.SiteFactory(client=client_a))
    f.EnvVarFactory(environment=environment, key="TOKEN", value="v" * 24, is_secret=True)
    f.EnvironmentDatabaseFactory(environment=environment)
    Webhook.objects.create(client=client_a, url="https://hooks.example.com/x", secret="whsec_x")
    MailSettings.objects.create(
        client=client_a, host="smtp.example.com", username="u", password="smtp-pw"
    )
    models = encrypted_models()
    empty = [m.__name__ for m in models if not m._default_manager.exists()]
    assert not empty, f"add a row with a secret for {empty} to this fixture"
    return models


def test_rotation_re_encrypts_every_secret_of_every_model(a_secret_in_every_model):
    models = a_secret_in_every_model
    before = {
        (model, obj.pk, name): (getattr(obj, name), raw(model, obj.pk, name))
        for model, names in models.items()
        for obj in model._default_manager.all()
        for name in names
    }
    old_keys = list(settings.FIELD_ENCRYPTION_KEYS)
    new_key = Fernet.generate_key().decode()
    out = io.StringIO()
    with override_settings(FIELD_ENCRYPTION_KEYS=[new_key, *old_keys]):
        call_command("rotate_encryption_keys", stdout=out)
        # Running it again is harmless.
        call_command("rotate_encryption_keys", stdout=io.StringIO())
    assert "Done" in out.getvalue()
    with override_settings(FIELD_ENCRYPTION_KEYS=[new_key]):
        for (model, pk, name), (plaintext, ciphertext) in before.items():
            obj = model._default_manager.get(pk=pk)
            assert getattr(obj, name) == plaintext, (model.__name__, name)
            stored = raw(model, pk, name)
            if plaintext:
                assert stored != ciphertext and plaintext not in stored, (model.__name__, name)
    with override_settings(FIELD_ENCRYPTION_KEYS=old_keys):
        for model in models:
            with pytest.raises(crypto.DecryptionError):
                list(model._default_manager.all())


def test_the_output_names_no_secret(a_secret_in_every_model):
    out = io.StringIO()
    call_command("rotate_encryption_keys", stdout=out)
    text = out.getvalue()
    for key in settings.FIELD_ENCRYPTION_KEYS:
        assert key not in text
    assert "v" * 24 not in text
