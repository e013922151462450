"""HTTP hardening headers, cookie flags, session expiry, and re-authentication before an
admin-scope API token is created. (The web UI's own tests cover the CSP, TOTP and login
throttling: tests/web/test_security.py and tests/web/test_accounts.py.)"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import override_settings
from rest_framework.test import APIClient

from controlpanel.core.models import AuditEvent
from controlpanel.integrations.models import ApiToken
from controlpanel.integrations.tokens import REAUTH_MAX_FAILURES, token_create
from tests import factories as f
from tests.web.helpers import sign_in

PASSWORD = "correct-horse-battery-staple-9"


# --- headers --------------------------------------------------------------------------------


@pytest.mark.django_db
@override_settings(SECURE_SSL_REDIRECT=False)
@pytest.mark.parametrize("path", ["/login/", "/api/v1/clients/", "/healthz", "/admin/"])
def test_every_response_carries_the_hardening_headers(client, path):
    response = client.get(path, secure=True)
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


@pytest.mark.django_db
def test_plain_http_is_redirected_except_for_probes(client):
    with override_settings(SECURE_SSL_REDIRECT=True):
        assert client.get("/login/").status_code == 301
        assert client.get("/api/v1/clients/").status_code == 301
        assert client.get("/healthz").status_code == 200


def test_production_defaults():
    # settings_test keeps production's defaults (DEBUG off) for everything checked here.
    assert settings.DEBUG is False
    assert settings.SESSION_COOKIE_SECURE and settings.CSRF_COOKIE_SECURE
    assert settings.SESSION_COOKIE_HTTPONLY
    assert settings.SESSION_COOKIE_SAMESITE == "Lax" and settings.CSRF_COOKIE_SAMESITE == "Lax"
    assert settings.SESSION_COOKIE_AGE == 12 * 3600
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE is True
    assert settings.SECURE_HSTS_SECONDS >= 31536000
    assert settings.SECURE_CONTENT_TYPE_NOSNIFF
    assert settings.X_FRAME_OPTIONS == "DENY"
    names = {v["NAME"].rsplit(".", 1)[-1] for v in settings.AUTH_PASSWORD_VALIDATORS}
    assert names >= {
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    }


# --- cookies ------------------------------------------------------------------------------


def sign_in_with_password(client):
    user = f.UserFactory(email="cookie@acme.test")
    user.set_password(PASSWORD)
    user.save()
    page = client.get("/login/")
    response = client.post("/login/", {"username": user.email, "password": PASSWORD}, secure=True)
    assert response.status_code == 302, response.content[:500]
    return page, response


@pytest.mark.django_db
def test_sign_in_sets_a_secure_httponly_samesite_session_cookie(client):
    page, response = sign_in_with_password(client)
    csrf = page.cookies[settings.CSRF_COOKIE_NAME]
    assert csrf["secure"] and csrf["samesite"] == "Lax"
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["secure"] is True
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    # Expires with the browser: no Max-Age or Expires on the cookie...
    assert not cookie["max-age"] and not cookie["expires"]
    # ...and the server forgets the session after twelve hours whatever the browser keeps.
    assert 12 * 3600 - 60 <= client.session.get_expiry_age() <= 12 * 3600


@pytest.mark.django_db
@override_settings(SESSION_EXPIRE_AT_BROWSER_CLOSE=False, SESSION_COOKIE_AGE=3600)
def test_a_session_with_a_fixed_age_when_configured(client):
    _, response = sign_in_with_password(client)
    assert str(response.cookies[settings.SESSION_COOKIE_NAME]["max-age"]) == "3600"


# --- re-authentication before an admin token ----------------------------------------------


@pytest.fixture
def staff_session(client, staff_admin):
    staff_admin.set_password(PASSWORD)
    staff_admin.save()
    return sign_in(client, staff_admin)


def create(client, **body):
    return client.post(
        "/api/v1/tokens/",
        {"name": "ops", "scopes": ["admin"], **body},
        content_type="application/json",
    )


@pytest.mark.django_db
def test_admin_token_needs_the_current_password(staff_session):
    response = create(staff_session)
    assert response.status_code == 400
    assert "password" in response.json()["errors"]
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_admin_token_refused_with_a_wrong_password(staff_session):
    response = create(staff_session, password="not-my-password")
    assert response.status_code == 400
    assert response.json()["errors"]["password"] == ["That is not your current password."]
    assert not ApiToken.objects.exists()
    assert "not-my-password" not in response.content.decode()


@pytest.mark.django_db
def test_admin_token_created_with_the_current_password(staff_session, staff_admin):
    response = create(staff_session, password=PASSWORD)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["token"].startswith("hgr_") and body["scopes"] == ["admin"]
    assert "password" not in body
    event = AuditEvent.objects.get(action="token.create")
    assert event.actor == staff_admin and PASSWORD not in str(event.changes)


@pytest.mark.django_db
def test_password_guessing_is_cut_off(staff_session):
    for _ in range(REAUTH_MAX_FAILURES):
        assert create(staff_session, password="guess").status_code == 400
    # Now even the right password is refused until the window has passed.
    assert create(staff_session, password=PASSWORD).status_code == 403
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("scopes", [["admin"], ["read", "write"]])
def test_a_token_cannot_mint_an_admin_token(staff_admin, scopes):
    staff_admin.set_password(PASSWORD)
    staff_admin.save()
    _, token = token_create(actor=staff_admin, name="ci", scopes=scopes)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = api.post(
        "/api/v1/tokens/",
        {"name": "x", "scopes": ["admin"], "password": PASSWORD},
        format="json",
    )
    assert response.status_code == 403
    assert ApiToken.objects.count() == 1


@pytest.mark.django_db
def test_other_tokens_need_no_password(staff_session, staff_admin):
    response = staff_session.post(
        "/api/v1/tokens/",
        {"name": "reader", "scopes": ["read"]},
        content_type="application/json",
    )
    assert response.status_code == 201
    api = APIClient()
    _, token = token_create(actor=staff_admin, name="w", scopes=["write"])
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert (
        api.post("/api/v1/tokens/", {"name": "r", "scopes": ["read"]}, format="json").status_code
        == 201
    )


@pytest.mark.django_db
def test_a_sessions_csrf_protection_holds_for_the_api(staff_admin):
    from django.test import Client

    browser = sign_in(Client(enforce_csrf_checks=True), staff_admin)
    response = browser.post(
        "/api/v1/tokens/", {"name": "r", "scopes": ["read"]}, content_type="application/json"
    )
    assert response.status_code == 403
