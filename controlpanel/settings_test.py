"""Settings for the test suite: the real settings with test defaults.

Tests always run on PostgreSQL (never SQLite), with DEBUG off as in production.
"""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/controlpanel")
os.environ.setdefault("SECRET_KEY", "hangar-test-suite-secret-key-not-for-production-use")
os.environ.setdefault(
    "FIELD_ENCRYPTION_KEYS",
    # Fixed keys keep failures reproducible; they protect nothing but test data.
    "N0mlMus4w_FFbM7LXNk4-Ih1o7Czf7fRyR8_42TM03s=,PnOxr8Lx717RQeBInc_ZT2wNTlTXaEWq2TrQjxxB6kg=",
)
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/15")
# The MariaDB server of the database and backup tests, as an admin (tests/services.py sets
# it when it starts a server of its own).
os.environ.setdefault("HANGAR_TEST_MARIADB_URL", "mysql://root@127.0.0.1:3306")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
# Tests drive the engine themselves unless a test starts a worker.
os.environ.setdefault("HANGAR_OPERATION_DISPATCH", "none")
os.environ.setdefault("HANGAR_RETRY_DELAYS", "0.05,0.1,0.2,0.4")
os.environ.setdefault("HANGAR_ROLLOUT_TIMEOUT", "20")
os.environ.setdefault("HANGAR_POLL_SECONDS", "0.05")
# A test's operations run inside its transaction, which the heartbeat thread's own
# connection cannot see: a beat would find no running row and call the claim lost (on a
# loaded machine, any operation longer than the interval). Tests of heartbeats set it.
os.environ.setdefault("HANGAR_HEARTBEAT_SECONDS", "3600")

import environ

from controlpanel.settings import *  # noqa: F403

_mariadb = environ.Env.db_url_config(os.environ["HANGAR_TEST_MARIADB_URL"])
TEST_MARIADB = {
    "host": _mariadb["HOST"] or "127.0.0.1",
    "port": int(_mariadb["PORT"] or 3306),
    "admin_user": _mariadb["USER"] or "root",
    "admin_password": _mariadb["PASSWORD"] or "",
}

STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
