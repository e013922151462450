"""Signing in: email and password, TOTP required for staff (enrolment before anything
else), optional for client users; throttling; password reset and invitations."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.core.cache import cache
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from controlpanel.core.models import Membership, User
from tests.web.helpers import sign_in

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _fresh_throttle():
    cache.clear()
    yield
    cache.clear()


def code_for(device: TOTPDevice) -> str:
    """The current code, as the person's app shows it. Tests may use a time step twice, so
    the device forgets its last one (and any throttling from wrong codes before)."""
    device.refresh_from_db()
    device.last_t = -1
    device.throttling_failure_count = 0
    device.throttling_failure_timestamp = None
    device.save()
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


def test_staff_are_sent_to_enrolment_before_anything_else(client, staff_operator):
    response = client.post("/login/", {"username": staff_operator.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"].startswith("/account/two-factor/")
    for path in ("/", "/staff/clients/", "/admin/", "/operations/"):
        blocked = client.get(path)
        assert blocked.status_code == 302 and blocked["Location"].startswith(
            "/account/two-factor/"
        ), path
    page = client.get("/account/two-factor/").content.decode()
    assert "<svg" in page  # the QR code, rendered on the server
    device = TOTPDevice.objects.get(user=staff_operator, confirmed=False)
    secret = re.search(r'id="totp-secret"[^>]*>([A-Z2-7 ]+)<', page).group(1)
    import base64

    assert base64.b32decode(secret.replace(" ", "")) == device.bin_key
    wrong = client.post("/account/two-factor/", {"code": "000000"})
    assert "does not match" in wrong.content.decode()
    done = client.post("/account/two-factor/", {"code": code_for(device), "next": "/staff/"})
    assert done.status_code == 302 and done["Location"] == "/staff/"
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/staff/clients/").status_code == 200


def test_staff_with_a_device_enter_a_code_after_the_password(client, staff_admin):
    device = TOTPDevice.objects.create(user=staff_admin, name="phone", confirmed=True)
    response = client.post(
        "/login/?next=/staff/clusters/",
        {"username": staff_admin.email, "password": PASSWORD, "next": "/staff/clusters/"},
    )
    assert response["Location"].startswith("/login/verify/")
    assert client.get("/staff/clusters/")["Location"].startswith("/login/verify/")
    bad = client.post(response["Location"], {"code": "123456"})
    assert bad.status_code == 200 and "not valid" in bad.content.decode()
    good = client.post(response["Location"], {"code": code_for(device)})
    assert good.status_code == 302 and good["Location"] == "/staff/clusters/"
    assert client.get("/staff/clusters/").status_code == 200


def test_client_users_sign_in_without_a_second_factor_unless_they_turn_it_on(client, owner):
    response = client.post("/login/", {"username": owner.email, "password": PASSWORD})
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200
    # Turning it on.
    page = client.get("/account/two-factor/")
    assert page.status_code == 200
    device = TOTPDevice.objects.get(user=owner)
    client.post("/account/two-factor/", {"code": code_for(device)})
    device.refresh_from_db()
    assert device.confirmed
    client.post("/logout/")
    response = client.post("/login/", {"username": owner.email, "password": PASSWORD})
    assert response["Location"].startswith("/login/verify/")
    # And off again (client users may).
    client.post("/login/verify/", {"code": code_for(device)})
    client.post("/account/two-factor/disable/")
    assert not TOTPDevice.objects.filter(user=owner).exists()


def test_staff_cannot_turn_two_factor_off(client, staff_admin):
    sign_in(client, staff_admin)
    client.post("/account/two-factor/disable/")
    assert TOTPDevice.objects.filter(user=staff_admin, confirmed=True).exists()


def test_emails_are_matched_case_insensitively(client, owner):
    response = client.post("/login/", {"username": owner.email.upper(), "password": PASSWORD})
    assert response.status_code == 302


def test_five_failures_for_an_address_lock_it_for_a_while(client, owner, settings):
    for _ in range(5):
        response = client.post("/login/", {"username": owner.email, "password": "wrong"})
        assert "didn&#x27;t match" in response.content.decode()
    # Even the right password is refused now, with a message that says what to do.
    response = client.post("/login/", {"username": owner.email, "password": PASSWORD})
    page = response.content.decode()
    assert response.status_code == 200
    assert "Too many failed sign-ins" in page and "15 minutes" in page
    assert "reset your password" in page


def test_five_failures_from_one_address_throttle_its_failures_not_its_people(client, owner, viewer):
    for n in range(5):
        client.post("/login/", {"username": f"nobody{n}@example.test", "password": "x"})
    response = client.post("/login/", {"username": owner.email, "password": "wrong"})
    assert "Too many failed sign-ins" in response.content.decode()
    # Someone else in the same office, with the right password, signs in.
    response = client.post("/login/", {"username": viewer.email, "password": PASSWORD})
    assert response.status_code == 302


def test_a_success_clears_the_count_for_the_address(client, owner):
    for _ in range(4):
        client.post(
            "/login/", {"username": owner.email, "password": "wrong"}, REMOTE_ADDR="10.0.0.1"
        )
    client.post("/login/", {"username": owner.email, "password": PASSWORD}, REMOTE_ADDR="10.0.0.2")
    client.post("/logout/")
    response = client.post(
        "/login/", {"username": owner.email, "password": "wrong"}, REMOTE_ADDR="10.0.0.3"
    )
    assert "Too many" not in response.content.decode()


def test_password_reset_by_email(client, owner):
    response = client.post("/password-reset/", {"email": owner.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = re.search(r"http://testserver(/reset/\S+/)", mail.outbox[0].body).group(1)
    page = client.get(link, follow=True)
    assert page.status_code == 200
    form_url = page.redirect_chain[-1][0]
    done = client.post(
        form_url,
        {"new_password1": "a brand new passphrase", "new_password2": "a brand new passphrase"},
    )
    assert done.status_code == 302
    assert client.login(username=owner.email, password="a brand new passphrase")


def test_owners_invite_people_who_then_set_a_password(client, owner, client_a):
    sign_in(client, owner)
    response = client.post(
        f"/clients/{client_a.pk}/members/invite/",
        {"email": "New.Person@Acme.test", "full_name": "New Person", "role": "developer"},
    )
    assert response.status_code == 302
    user = User.objects.get(email="new.person@acme.test")
    assert not user.has_usable_password()
    assert Membership.objects.get(user=user).role == "developer"
    assert len(mail.outbox) == 1 and "Acme" in mail.outbox[0].subject
    link = re.search(r"http://testserver(/reset/\S+/)", mail.outbox[0].body).group(1)
    client.post("/logout/")
    page = client.get(link, follow=True)
    form_url = page.redirect_chain[-1][0]
    client.post(
        form_url, {"new_password1": "my own passphrase!", "new_password2": "my own passphrase!"}
    )
    assert client.login(username=user.email, password="my own passphrase!")


def test_inviting_a_member_twice_is_an_error_next_to_the_field(client, owner, client_a, viewer):
    sign_in(client, owner)
    response = client.post(
        f"/clients/{client_a.pk}/members/invite/", {"email": viewer.email, "role": "developer"}
    )
    assert response.status_code == 400
    assert "already" in response.content.decode()
    assert 'aria-invalid="true"' in response.content.decode()


def test_sign_out(client, owner):
    sign_in(client, owner)
    client.post("/logout/")
    assert client.get("/").status_code == 302


def test_inviting_gives_one_answer_whether_or_not_the_address_has_an_account(
    client, owner, client_a, other_owner
):
    sign_in(client, owner)
    answers = []
    for email in ("nobody.yet@example.test", other_owner.email):
        response = client.post(
            f"/clients/{client_a.pk}/members/invite/",
            {"email": email, "role": "viewer"},
            follow=True,
        )
        page = response.content.decode()
        answers.append(page[page.index("Invited") :].split("<", 1)[0].replace(email, "EMAIL"))
    assert answers[0] == answers[1], answers
