"""Helpers of the web UI tests, also for other apps' tests of pages behind the sign-in."""

from __future__ import annotations

from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice


def sign_in(client, user):
    """Sign `user` in with the Django test client. Agency staff must have passed the second
    factor for any page (the two-factor gate), so they also get a confirmed TOTP device
    and a verified session."""
    client.force_login(user)
    if user.is_agency_staff:
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name="test", confirmed=True)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client
