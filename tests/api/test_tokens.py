"""Personal access tokens and deploy tokens, as a CI pipeline and its owner meet them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from controlpanel.integrations.models import ApiToken
from controlpanel.integrations.tokens import digest, token_create, token_revoke


def test_a_token_is_shown_once_and_stored_hashed(api, owner):
    api.force_authenticate(owner)
    response = api.post("/api/v1/tokens/", {"name": "laptop", "scopes": ["read"]}, format="json")
    assert response.status_code == 201
    token = response.json()["token"]
    assert token.startswith("hgr_") and len(token) > 40
    row = ApiToken.objects.get()
    assert row.digest == digest(token) and token not in (row.digest, row.prefix)
    assert token.startswith(row.prefix)
    listed = api.get("/api/v1/tokens/").json()["results"]
    assert "token" not in listed[0] and listed[0]["prefix"] == row.prefix


def test_token_authenticates_and_records_last_use(api, as_token, owner, client_a):
    as_token(owner, ["read"])
    response = api.get("/api/v1/clients/")
    assert response.status_code == 200
    assert [c["slug"] for c in response.json()["results"]] == ["acme"]
    assert ApiToken.objects.get().last_used_at is not None


@pytest.mark.parametrize("header", ["Bearer hgr_not-a-real-token", "Bearer hgr_", "Bearer  "])
def test_bad_tokens_are_refused(api, db, header):
    api.credentials(HTTP_AUTHORIZATION=header)
    response = api.get("/api/v1/clients/")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"


def test_expired_and_revoked_tokens_stop_working(api, owner):
    row, token = token_create(actor=owner, name="t", scopes=["read"])
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api.get("/api/v1/clients/").status_code == 200
    ApiToken.objects.filter(pk=row.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert api.get("/api/v1/clients/").status_code == 401
    ApiToken.objects.filter(pk=row.pk).update(expires_at=None)
    token_revoke(actor=owner, token=row)
    assert api.get("/api/v1/clients/").status_code == 401


def test_scopes_narrow_what_a_token_may_do(api, as_token, owner, environment):
    as_token(owner, ["read"])
    assert api.get(f"/api/v1/environments/{environment.pk}/").status_code == 200
    response = api.post(
        f"/api/v1/environments/{environment.pk}/scale/", {"replicas": 2}, format="json"
    )
    assert response.status_code == 403
    as_token(owner, ["deploy"])
    response = api.post(
        f"/api/v1/environments/{environment.pk}/scale/", {"replicas": 2}, format="json"
    )
    assert response.status_code == 403  # scaling needs write, deploying does not


def test_scopes_never_widen_a_role(api, as_token, viewer, environment):
    as_token(viewer, ["read", "write", "deploy"])
    response = api.post(
        f"/api/v1/environments/{environment.pk}/deploy/",
        {"image": "registry.example.com/acme/web:2"},
        format="json",
    )
    assert response.status_code == 403


def test_only_staff_mint_admin_tokens(api, owner):
    api.force_authenticate(owner)
    response = api.post("/api/v1/tokens/", {"name": "x", "scopes": ["admin"]}, format="json")
    assert response.status_code == 400
    assert "scopes" in response.json()["errors"]


def test_token_input_errors(api, owner):
    api.force_authenticate(owner)
    cases = [
        ({"name": "", "scopes": ["read"]}, "name"),
        ({"name": "x", "scopes": []}, "scopes"),
        ({"name": "x", "scopes": ["root"]}, "scopes.0"),
        ({"name": "x", "scopes": ["read"], "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
        ({"name": "x", "scopes": ["read"], "colour": "red"}, "colour"),
    ]
    for body, field in cases:
        response = api.post("/api/v1/tokens/", body, format="json")
        assert response.status_code == 400, body
        assert field in response.json()["errors"], (field, response.json())
    assert not ApiToken.objects.exists()


def test_deploy_token_can_deploy_its_environment_and_nothing_else(
    api, as_deploy_token, owner, environment, site, cluster
):
    from tests import factories as f

    other = f.EnvironmentFactory(site=site, cluster=cluster, slug="staging")
    for env in (environment, other):
        env.status = "active"
        env.save()
    as_deploy_token(owner, environment)
    ok = api.post(
        f"/api/v1/environments/{environment.pk}/deploy/",
        {"image": "registry.example.com/acme/web:2.0"},
        format="json",
    )
    assert ok.status_code == 202
    assert api.get(ok["Location"]).status_code == 200
    assert api.get(f"/api/v1/environments/{environment.pk}/").status_code == 200
    assert (
        api.post(
            f"/api/v1/environments/{other.pk}/deploy/",
            {"image": "registry.example.com/acme/web:2.0"},
            format="json",
        ).status_code
        == 404
    )
    assert (
        api.post(
            f"/api/v1/environments/{environment.pk}/scale/", {"replicas": 3}, format="json"
        ).status_code
        == 403
    )
    assert api.get("/api/v1/clients/").status_code == 403
    assert api.get(f"/api/v1/environments/{environment.pk}/variables/").status_code == 403


def test_failed_authentication_is_throttled_per_address(api, db):
    cache.clear()
    api.credentials(HTTP_AUTHORIZATION="Bearer hgr_guess")
    statuses = [api.get("/api/v1/clients/").status_code for _ in range(25)]
    assert statuses[:20] == [401] * 20
    assert statuses[-1] == 429
    cache.clear()


def test_bad_tokens_do_not_lock_out_good_ones_from_the_same_address(api, as_token, owner, settings):
    settings.HANGAR_CLIENT_IP_HEADER = "HTTP_X_REAL_IP"
    cache.clear()
    good = as_token(owner, ["read"])
    api.credentials(HTTP_AUTHORIZATION="Bearer hgr_guess", HTTP_X_REAL_IP="203.0.113.9")
    statuses = [api.get("/api/v1/clients/").status_code for _ in range(25)]
    assert statuses[-1] == 429
    # Another CI job behind the same ingress address, with a valid token: served.
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {good}", HTTP_X_REAL_IP="203.0.113.9")
    assert api.get("/api/v1/clients/").status_code == 200
    # A different client address (per the trusted header) is not throttled by the first.
    api.credentials(HTTP_AUTHORIZATION="Bearer hgr_other", HTTP_X_REAL_IP="198.51.100.7")
    assert api.get("/api/v1/clients/").status_code == 401
    cache.clear()
