"""Fixtures of the web UI tests: signed-in test clients for the named actors (staff with a
verified second factor, as the two-factor gate demands), and a populated environment."""

from __future__ import annotations

import pytest

from tests import factories as f

# Real backups for the browser test of backup and restore: MariaDB, an S3 server and tool
# Jobs, as the backups tests set them up.
from tests.backups.conftest import (  # noqa: F401
    bucket,
    data_cluster,
    data_env,
    mariadb,
    s3,
    s3_server,
    staging_env,
    tool_sandbox,
    tool_sandbox_token,
    unique,
)
from tests.web.helpers import sign_in


@pytest.fixture
def signed_in(client):
    """signed_in(user) -> the Django test client, signed in as `user`."""

    def use(user):
        return sign_in(client, user)

    return use


@pytest.fixture
def populated(environment, cluster):
    """The Acme production environment, active, with a release, a domain, a plain and a
    secret variable and a cron schedule."""
    from sites.models import Environment, Release

    Environment.objects.filter(pk=environment.pk).update(status=Environment.Status.ACTIVE)
    environment.refresh_from_db()
    f.ReleaseFactory(environment=environment, status=Release.Status.SUCCEEDED)
    f.DomainFactory(environment=environment, hostname="www.acme.example")
    f.EnvVarFactory(environment=environment, key="PLAIN_SETTING", value="plain-value-123")
    f.EnvVarFactory(
        environment=environment, key="API_SECRET", value="s3cr3t-never-shown", is_secret=True
    )
    f.CronScheduleFactory(environment=environment, name="drupal-cron")
    return environment
