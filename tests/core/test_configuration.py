"""Configuration mistakes are caught at start-up, by id, before they hurt anyone."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.checks import run_checks
from django.test import override_settings

from controlpanel.settings import DEV_SECRET_KEY

ROOT = Path(__file__).resolve().parents[2]


def check_ids(**overrides) -> set[str]:
    with override_settings(**overrides):
        return {message.id for message in run_checks(include_deployment_checks=False)}


def test_a_good_configuration_passes_every_hangar_check():
    assert not {i for i in check_ids() if i.startswith("hangar.")}


def test_bad_encryption_key_is_E001():
    assert "hangar.E001" in check_ids(FIELD_ENCRYPTION_KEYS=["too-short"])
    assert "hangar.E001" in check_ids(FIELD_ENCRYPTION_KEYS=[])
    assert "hangar.E001" not in check_ids(FIELD_ENCRYPTION_KEYS=[Fernet.generate_key().decode()])


@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
def test_sqlite_without_debug_is_E002(settings):
    sqlite = {**settings.DATABASES["default"], "ENGINE": "django.db.backends.sqlite3"}
    assert "hangar.E002" in check_ids(DEBUG=False, DATABASES={"default": sqlite})
    assert "hangar.E002" not in check_ids(DEBUG=True, DATABASES={"default": sqlite})


def test_embedded_worker_without_debug_is_E003():
    assert "hangar.E003" in check_ids(DEBUG=False, HANGAR_EMBEDDED_WORKER=True)
    assert "hangar.E003" not in check_ids(DEBUG=True, HANGAR_EMBEDDED_WORKER=True)
    assert "hangar.E003" not in check_ids(DEBUG=False, HANGAR_EMBEDDED_WORKER=False)


def test_derived_encryption_key_in_production_is_W001():
    assert "hangar.W001" in check_ids(DEBUG=False, FIELD_ENCRYPTION_KEYS_DERIVED=True)
    assert "hangar.W001" not in check_ids(DEBUG=True, FIELD_ENCRYPTION_KEYS_DERIVED=True)


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    # Start from the machine's environment without anything the test settings set.
    ours = {
        "DEBUG",
        "SECRET_KEY",
        "DATABASE_URL",
        "FIELD_ENCRYPTION_KEYS",
        "CELERY_BROKER_URL",
        "SECURE_SSL_REDIRECT",
    }
    clean = {k: v for k, v in os.environ.items() if k not in ours and not k.startswith("DJANGO_")}
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "controlpanel.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "a" * 10 + "-production-like-secret-key-with-enough-entropy-" + "z" * 10,
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/controlpanel",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    "ALLOWED_HOSTS": "panel.example.com",
}


@pytest.mark.parametrize("secret_key", ["", DEV_SECRET_KEY])
def test_refuses_to_start_without_debug_and_with_a_default_key(secret_key):
    result = run_manage("check", **{**PRODUCTION, "SECRET_KEY": secret_key})
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


# HSTS for subdomains and preloading commit every subdomain of the agency's domain to
# HTTPS for a year; that is the agency's decision (README, "Production checklist").
DOCUMENTED_DEPLOY_EXCEPTIONS = {"security.W005", "security.W021"}


def test_deploy_check_reports_only_documented_exceptions():
    keys = Fernet.generate_key().decode()
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "ERROR",
        **{**PRODUCTION, "FIELD_ENCRYPTION_KEYS": keys},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    reported = set(re.findall(r"\(([a-z_]+\.[EWCI]\d+)\)", result.stdout + result.stderr))
    assert reported <= DOCUMENTED_DEPLOY_EXCEPTIONS, result.stdout + result.stderr


def test_deploy_check_flags_missing_broker_and_sqlite():
    result = run_manage(
        "check",
        "--deploy",
        **{**PRODUCTION, "CELERY_BROKER_URL": "", "DATABASE_URL": "sqlite:////tmp/x.sqlite3"},
    )
    assert result.returncode != 0
    assert "hangar.E002" in result.stderr and "hangar.E003" in result.stderr
    assert "hangar.W001" in result.stderr


def test_secrets_can_come_from_files(tmp_path):
    key_file = tmp_path / "secret_key"
    key_file.write_text(PRODUCTION["SECRET_KEY"])
    env = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}
    result = run_manage(
        "shell",
        "-c",
        "from django.conf import settings; print(len(settings.SECRET_KEY))",
        SECRET_KEY_FILE=str(key_file),
        FIELD_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        **env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == str(len(PRODUCTION["SECRET_KEY"]))


def test_an_unconfigured_checkout_runs_manage_py_in_development_mode():
    result = run_manage("shell", "-c", "from django.conf import settings; print(settings.DEBUG)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "True"
