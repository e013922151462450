"""Fixtures of the web UI tests: signed-in test clients for the named actors (staff with a
verified second factor, as the two-factor gate demands), and a populated environment."""

from __future__ import annotations

import pytest
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests import factories as f


def sign_in(client, user):
    """Sign `user` in; staff also get a confirmed TOTP device and a verified session."""
    client.force_login(user)
    if user.is_agency_staff:
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name="test", confirmed=True)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client


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
