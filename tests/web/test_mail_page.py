"""The environment's Mail tab: owners set the client's relay (the password never comes
back to the browser), members see where mail goes, other clients get 404."""

from __future__ import annotations

from sites.mail.models import MailSettings
from tests.web.helpers import sign_in

RELAY = {
    "host": "smtp.example.com",
    "port": "587",
    "tls": "starttls",
    "tls_verify": "on",
    "username": "postmaster",
    "password": "portal-relay-secret-55",
    "from_address": "noreply@acme.test",
}


def test_owner_sets_the_relay_and_never_sees_the_password(client, owner, environment):
    sign_in(client, owner)
    response = client.post(f"/environments/{environment.pk}/mail/relay/", RELAY)
    assert response.status_code == 302
    relay = MailSettings.objects.get(client=environment.site.client, environment=None)
    assert relay.password == RELAY["password"]
    page = client.get(f"/environments/{environment.pk}/mail/").content.decode()
    assert "smtp.example.com" in page and RELAY["password"] not in page
    assert "A password is set." in page
    # Saving again with an empty password keeps it.
    client.post(f"/environments/{environment.pk}/mail/relay/", RELAY | {"password": ""})
    relay.refresh_from_db()
    assert relay.password == RELAY["password"]


def test_errors_name_the_field_and_keep_nothing(client, owner, environment):
    sign_in(client, owner)
    response = client.post(
        f"/environments/{environment.pk}/mail/relay/", RELAY | {"host": "bad host!"}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "is not a host name or IP address" in page and RELAY["password"] not in page
    assert not MailSettings.objects.exists()


def test_viewers_read_and_others_are_kept_out(client, viewer, developer, other_owner, environment):
    sign_in(client, viewer)
    assert client.get(f"/environments/{environment.pk}/mail/").status_code == 200
    assert client.post(f"/environments/{environment.pk}/mail/relay/", RELAY).status_code == 403
    sign_in(client, developer)
    page = client.get(f"/environments/{environment.pk}/mail/").content.decode()
    assert "/mail/relay/" not in page, "only owners manage the client's relay"
    sign_in(client, other_owner)
    assert client.get(f"/environments/{environment.pk}/mail/").status_code == 404
    assert client.post(f"/environments/{environment.pk}/mail/relay/", RELAY).status_code == 404
    assert not MailSettings.objects.exists()
