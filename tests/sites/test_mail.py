"""Outbound mail: the client's relay and per-environment overrides become SMTP_* variables,
non-production environments capture by default, and "send test mail" runs a Job in the
environment's namespace against a real SMTP server (aiosmtpd with STARTTLS and AUTH)."""

from __future__ import annotations

import base64
import logging

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from clusters.models import Operation
from controlpanel.core.models import AuditEvent
from sites import services
from sites.mail import services as mail
from sites.mail.models import MailMode, MailTls
from sites.mail.selectors import effective_mail, mail_env
from sites.models import Environment, Tier
from tests import factories as f
from tests.engine import drain
from tests.smtp import SmtpServer

PASSWORD = "relay-secret-pw-7f3a"


@pytest.fixture
def smtp():
    with SmtpServer(user="postmaster", password=PASSWORD) as server:
        yield server


def _relay(client, owner, smtp, **overrides):
    fields = {
        "host": smtp.host,
        "port": smtp.port,
        "tls": MailTls.STARTTLS,
        "tls_verify": False,  # the test server's certificate is self-signed
        "username": "postmaster",
        "password": PASSWORD,
        "from_address": "noreply@acme.test",
    }
    return mail.mail_relay_set(actor=owner, client=client, **(fields | overrides))


@pytest.fixture
def production(live_environment):
    live_environment.tier = Tier.PRODUCTION
    live_environment.save()
    return live_environment


def _provisioned(environment, owner):
    services.environment_provision(actor=owner, environment=environment)
    drain()
    environment.refresh_from_db()
    assert environment.status == Environment.Status.ACTIVE
    return environment


def _secret(kube, environment) -> dict[str, str]:
    data = kube.get("v1", "Secret", "app-env", environment.namespace)["data"]
    return {key: base64.b64decode(value).decode() for key, value in data.items()}


def test_production_delivers_and_other_tiers_capture(client_a, owner, site, cluster, smtp):
    _relay(client_a, owner, smtp)
    production = f.EnvironmentFactory(site=site, cluster=cluster, slug="prod", tier="production")
    staging = f.EnvironmentFactory(site=site, cluster=cluster, slug="stage", tier="staging")
    assert effective_mail(production).mode == MailMode.DELIVER
    assert mail_env(production)["SMTP_HOST"] == smtp.host
    assert mail_env(production)["SMTP_PASSWORD"] == PASSWORD

    assert effective_mail(staging).mode == MailMode.CAPTURE
    assert mail_env(staging) == {}, "no mail catcher on this cluster: nothing to point at"
    assert "no mail catcher" in effective_mail(staging).source
    cluster.mail_capture_host = "mailpit.hangar-system.svc"
    cluster.save()
    staging.refresh_from_db()
    captured = mail_env(staging)
    assert captured["SMTP_HOST"] == "mailpit.hangar-system.svc"
    assert captured["SMTP_PORT"] == "1025" and captured["SMTP_MODE"] == "capture"
    assert captured["SMTP_PASSWORD"] == "", "the relay's password never reaches a capture"

    mail.mail_override_set(actor=owner, environment=staging, mode=MailMode.DELIVER)
    assert mail_env(staging)["SMTP_HOST"] == smtp.host
    mail.mail_override_set(actor=owner, environment=production, mode=MailMode.CAPTURE)
    assert mail_env(production)["SMTP_HOST"] == "mailpit.hangar-system.svc"


def test_relay_changes_reach_every_environment_of_the_client(
    production, owner, live_kube, smtp, caplog
):
    caplog.set_level(logging.DEBUG)
    _provisioned(production, owner)
    _relay(production.site.client, owner, smtp)
    applies = Operation.objects.filter(kind="environment.apply_config", target_id=production.pk)
    assert applies.count() == 1
    drain()
    secret = _secret(live_kube, production)
    assert secret["SMTP_HOST"] == smtp.host and secret["SMTP_PORT"] == str(smtp.port)
    assert secret["SMTP_USER"] == "postmaster" and secret["SMTP_TLS"] == "starttls"
    assert secret["SMTP_PASSWORD"] == PASSWORD

    mail.mail_relay_set(actor=owner, client=production.site.client, port=2525)
    drain()
    assert _secret(live_kube, production)["SMTP_PORT"] == "2525"
    events = AuditEvent.objects.filter(action__startswith="mail.relay").order_by("pk")
    assert [e.action for e in events] == ["mail.relay.create", "mail.relay.change"]
    assert PASSWORD not in str([e.changes for e in events])
    assert PASSWORD not in caplog.text


def test_test_mail_is_delivered_from_the_namespace(production, owner, smtp, caplog):
    caplog.set_level(logging.DEBUG)
    _relay(production.site.client, owner, smtp)
    _provisioned(production, owner)
    op = mail.environment_send_test_mail(
        actor=owner, environment=production, recipient="dev@acme.test"
    )
    drain()
    op.refresh_from_db()
    assert op.status == Operation.Status.SUCCEEDED, op.error
    assert op.result["sent"] is True
    assert any(answer.startswith("250 2.0.0 Message accepted") for answer in op.result["answers"])
    assert len(smtp.messages) == 1
    message = smtp.messages[0]
    assert message.mail_from == "noreply@acme.test" and message.rcpt_tos == ["dev@acme.test"]
    assert b"Test message from Hangar" in message.content
    logged = " ".join(e.message for e in op.events.all()) + str(op.result) + caplog.text
    assert PASSWORD not in logged
    assert base64.b64encode(f"\0postmaster\0{PASSWORD}".encode()).decode() not in logged


def test_a_wrong_password_is_reported_as_such(production, owner, smtp):
    _relay(production.site.client, owner, smtp, password="not-the-password")
    _provisioned(production, owner)
    op = mail.environment_send_test_mail(
        actor=owner, environment=production, recipient="dev@acme.test"
    )
    drain()
    op.refresh_from_db()
    assert op.status == Operation.Status.FAILED
    assert op.error.startswith("The mail server refused the login"), op.error
    assert "535" in op.error  # the server's own answer follows
    assert not smtp.messages
    assert "not-the-password" not in op.error + str(op.result)


def test_an_unreachable_host_is_reported_as_such(production, owner, smtp):
    smtp.__exit__()  # the port now refuses connections
    _relay(production.site.client, owner, smtp)
    _provisioned(production, owner)
    op = mail.environment_send_test_mail(
        actor=owner, environment=production, recipient="dev@acme.test"
    )
    drain()
    op.refresh_from_db()
    assert op.status == Operation.Status.FAILED
    assert op.error.startswith("The mail server cannot be reached"), op.error


def test_bad_settings_name_the_field_and_change_nothing(client_a, owner, environment, smtp):
    cases = [
        ({"host": "smtp..example.com"}, "host"),
        ({"host": "smtp.example.com", "port": 70000}, "port"),
        ({"host": "smtp.example.com", "from_address": "not an address"}, "from_address"),
        ({"host": "smtp.example.com", "password": "x"}, "username"),
        ({"host": "smtp.example.com", "tls": "ssl3"}, "tls"),
        ({"host": "smtp.example.com", "mode": "deliver"}, "mode"),
    ]
    for fields, field in cases:
        with pytest.raises(ValidationError) as caught:
            mail.mail_relay_set(actor=owner, client=client_a, **fields)
        assert field in caught.value.message_dict, (fields, caught.value)
    assert not client_a.mail_settings.exists()
    environment.refresh_from_db()
    assert environment.config_version == 0
    with pytest.raises(ValidationError) as caught:
        mail.environment_send_test_mail(actor=owner, environment=environment, recipient="nope")
    assert "recipient" in caught.value.message_dict


def test_test_mail_needs_a_relay(production, owner):
    production.status = Environment.Status.ACTIVE
    production.save()
    with pytest.raises(ValidationError) as caught:
        mail.environment_send_test_mail(
            actor=owner, environment=production, recipient="dev@acme.test"
        )
    assert "no SMTP relay" in str(caught.value.message_dict["environment"])


def test_other_roles_and_clients_cannot_change_mail(
    client_a, environment, viewer, developer, other_owner, owner, smtp
):
    for actor in (viewer, developer, other_owner):
        with pytest.raises(PermissionDenied):
            _relay(client_a, actor, smtp)
    for actor in (viewer, other_owner):
        with pytest.raises(PermissionDenied):
            mail.mail_override_set(actor=actor, environment=environment, mode="capture")
    mail.mail_override_set(actor=developer, environment=environment, mode="capture")
    assert not client_a.mail_settings.filter(environment__isnull=True).exists()
