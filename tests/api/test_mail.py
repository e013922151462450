"""The mail endpoints: write-only passwords, tenant scoping, scopes, a test mail as 202."""

from __future__ import annotations

import json

from sites.models import Environment

RELAY = {
    "host": "smtp.example.com",
    "port": 587,
    "username": "postmaster",
    "password": "api-relay-secret-93",
    "from_address": "noreply@acme.test",
}


def test_relay_round_trip_never_shows_the_password(api, as_token, owner, client_a):
    as_token(owner)
    url = f"/api/v1/clients/{client_a.pk}/mail-relay/"
    assert api.get(url).status_code == 404
    response = api.put(url, RELAY, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["has_password"] is True
    assert RELAY["password"] not in response.content.decode()
    shown = api.get(url)
    assert shown.json()["host"] == "smtp.example.com"
    assert RELAY["password"] not in shown.content.decode()
    changed = api.put(url, {"port": 2525}, format="json").json()
    assert changed["port"] == 2525 and changed["has_password"] is True
    bad = api.put(url, {"from_address": "nope"}, format="json")
    assert bad.status_code == 400 and "from_address" in json.dumps(bad.json())


def test_environment_mail_and_test_mail(api, as_token, owner, client_a, environment):
    as_token(owner)
    api.put(f"/api/v1/clients/{client_a.pk}/mail-relay/", RELAY, format="json")
    environment.tier = "production"
    environment.status = Environment.Status.ACTIVE
    environment.save()
    shown = api.get(f"/api/v1/environments/{environment.pk}/mail/").json()
    assert shown["mode"] == "deliver" and shown["host"] == "smtp.example.com"
    assert shown["override"] is None
    captured = api.put(
        f"/api/v1/environments/{environment.pk}/mail/", {"mode": "capture"}, format="json"
    ).json()
    assert captured["mode"] == "capture" and captured["override"]["mode"] == "capture"
    api.delete(f"/api/v1/environments/{environment.pk}/mail/")
    response = api.post(
        f"/api/v1/environments/{environment.pk}/test-mail/",
        {"recipient": "dev@acme.test"},
        format="json",
    )
    assert response.status_code == 202, response.content
    assert response.json()["kind"] == "environment.test_mail"
    assert response["Location"].endswith(f"/operations/{response.json()['id']}/")


def test_other_tenants_and_narrow_tokens(
    api, as_token, as_deploy_token, owner, other_owner, viewer, client_a, environment
):
    as_token(other_owner)
    assert api.get(f"/api/v1/environments/{environment.pk}/mail/").status_code == 404
    assert (
        api.put(f"/api/v1/clients/{client_a.pk}/mail-relay/", RELAY, format="json").status_code
        == 404
    )
    as_token(viewer)
    assert (
        api.put(f"/api/v1/clients/{client_a.pk}/mail-relay/", RELAY, format="json").status_code
        == 403
    )
    as_token(owner, scopes=("read",))
    assert (
        api.put(f"/api/v1/clients/{client_a.pk}/mail-relay/", RELAY, format="json").status_code
        == 403
    )
    as_deploy_token(owner, environment)
    assert api.get(f"/api/v1/environments/{environment.pk}/mail/").status_code == 403
