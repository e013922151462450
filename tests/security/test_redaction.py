"""Log lines and Django's error reports never carry a token or an Authorization header."""

from __future__ import annotations

import logging
import sys

import pytest
from django.test import RequestFactory
from django.views.debug import ExceptionReporter

from controlpanel.core.redaction import (
    KubernetesBodyFilter,
    RedactSecretsFilter,
    SafeExceptionReporterFilter,
    redact,
)
from tests import factories as f

# Built from parts, so that the source lines an error report quotes do not hold them.
SECRET_PART = "s3cret" + "PartOfTheToken"
TOKEN = "hgr_AbCdEfGh" + SECRET_PART + "-0123456789abcdefXYZ"
PASSWORD = "hunter2" + "-password-value"
KUBE_TOKEN = "kube-secret" + "-token"
WEBHOOK = "whsec_" + "signingSecretValue0123456789"


@pytest.mark.parametrize(
    "text",
    [
        f"calling with {TOKEN}",
        f"Authorization: Bearer {TOKEN}",
        f"{{'Authorization': 'Bearer {TOKEN}'}}",
        f'headers={{"authorization": "Bearer {TOKEN}"}}',
        "Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.payload.signature",
        "Authorization: Basic dXNlcjpwYXNzd29yZA==",
        f"signing with {WEBHOOK}",
    ],
)
def test_redact_hides_tokens_and_credentials(text):
    cleaned = redact(text)
    for secret in ("s3cretPartOfTheToken", "eyJhbGci", "dXNlcjpw", "signingSecretValue"):
        assert secret not in cleaned
    assert "[redacted]" in cleaned


def test_the_public_token_prefix_stays_to_tell_tokens_apart():
    assert redact(TOKEN).startswith("hgr_AbCdEfGh")


def test_the_log_filter_rewrites_messages_and_arguments(caplog):
    logger = logging.getLogger("hangar.test.redaction")
    logger.addFilter(RedactSecretsFilter())
    try:
        with caplog.at_level(logging.DEBUG, logger="hangar.test.redaction"):
            logger.info("token %s used by %s", TOKEN, "ann@acme.test")
            logger.warning("headers: %r", {"Authorization": f"Bearer {TOKEN}"})
    finally:
        logger.filters.clear()
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "s3cretPartOfTheToken" not in text
    assert "ann@acme.test" in text


def test_the_settings_attach_the_filters():
    from django.conf import settings

    handler = settings.LOGGING["handlers"]["console"]
    assert "redact" in handler["filters"]
    for name in ("kubernetes.client.rest", "urllib3.connectionpool", "django.request"):
        assert "redact" in settings.LOGGING["loggers"][name]["filters"]
    rest = logging.getLogger("kubernetes.client.rest")
    assert any(isinstance(f, KubernetesBodyFilter) for f in rest.filters)


def test_kubernetes_response_bodies_are_replaced_by_their_size():
    record = logging.LogRecord(
        "kubernetes.client.rest",
        logging.DEBUG,
        __file__,
        1,
        "response body: %s",
        (b'{"kind":"Secret","data":{"DB_PASSWORD":"c2VjcmV0"}}',),
        None,
    )
    KubernetesBodyFilter().filter(record)
    assert "c2VjcmV0" not in record.getMessage()
    assert "bytes, not logged" in record.getMessage()


def test_error_reports_mask_the_authorization_header_and_secret_locals(settings):
    settings.DEFAULT_EXCEPTION_REPORTER_FILTER = (
        "controlpanel.core.redaction.SafeExceptionReporterFilter"
    )
    request = RequestFactory().post(
        "/api/v1/tokens/",
        data={"name": "x"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {TOKEN}",
        HTTP_X_CUSTOM=f"forwarded {TOKEN}",
    )

    def view_that_fails(password, kubeconfig, note):
        raise RuntimeError("boom")

    try:
        view_that_fails(PASSWORD, f"token: {KUBE_TOKEN}", f"see {TOKEN}")
    except RuntimeError:
        reporter = ExceptionReporter(request, *sys.exc_info())
        html, text = reporter.get_traceback_html(), reporter.get_traceback_text()
    assert isinstance(reporter.filter, SafeExceptionReporterFilter)
    for report in (html, text):
        assert SECRET_PART not in report
        assert PASSWORD not in report
        assert KUBE_TOKEN not in report
        assert "boom" in report


@pytest.mark.django_db
def test_a_secret_variable_in_a_failing_api_request_stays_out_of_the_report(
    monkeypatch, owner, environment
):
    from rest_framework.test import APIClient

    from sites import services

    def failing(*, actor, environment, key, value, is_secret=False):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(services, "env_var_set", failing)
    api = APIClient(raise_request_exception=True)
    api.force_authenticate(owner)
    with pytest.raises(RuntimeError) as excinfo:
        api.post(
            f"/api/v1/environments/{environment.pk}/variables/",
            {"key": "PAYMENT_KEY", "value": PASSWORD, "is_secret": True},
            format="json",
        )
    reporter = ExceptionReporter(None, excinfo.type, excinfo.value, excinfo.tb)
    assert isinstance(reporter.filter, SafeExceptionReporterFilter)
    for report in (reporter.get_traceback_text(), reporter.get_traceback_html()):
        assert "the database went away" in report
        assert PASSWORD not in report


@pytest.mark.django_db
def test_a_500_deep_in_the_secret_variable_path_reports_no_plaintext(
    monkeypatch, owner, environment
):
    """The failure happens after the new plaintext went through the view, the serializer,
    env_var_set and configuration_change (their locals `data`, `value`, `fields`, `kwds`):
    every one of Hangar's frames is masked by default, not by a list of names."""
    from rest_framework.test import APIClient

    from sites.services import config

    new_value = "n3w-plaintext-" + PASSWORD
    f.EnvVarFactory(environment=environment, key="PAYMENT_KEY", value="old", is_secret=True)

    def failing(**kwargs):
        raise RuntimeError("the broker went away")

    monkeypatch.setattr(config, "_queue_apply", failing)
    api = APIClient(raise_request_exception=True)
    api.force_authenticate(owner)
    with pytest.raises(RuntimeError) as excinfo:
        api.post(
            f"/api/v1/environments/{environment.pk}/variables/",
            {"key": "PAYMENT_KEY", "value": new_value, "is_secret": True},
            format="json",
        )
    reporter = ExceptionReporter(None, excinfo.type, excinfo.value, excinfo.tb)
    frames = [frame["function"] for frame in reporter.get_traceback_frames()]
    assert "configuration_change" in frames and "env_var_set" in frames, frames
    for frame in reporter.get_traceback_frames():
        for name, value in frame["vars"]:
            assert new_value not in str(value), (frame["filename"], frame["function"], name)
    for report in (reporter.get_traceback_text(), reporter.get_traceback_html()):
        assert "the broker went away" in report
        assert new_value not in report
