"""Malformed input is a 400 problem naming the field and the rule, never a 500
(issue 13.6)."""

from __future__ import annotations

import pytest

from sites.models import EnvVar


def _problem(response, field):
    assert response.status_code == 400, (response.status_code, response.content[:300])
    assert response["Content-Type"] == "application/problem+json"
    errors = response.json()["errors"]
    assert field in errors, errors
    return " ".join(errors[field])


def test_json_nested_ten_thousand_deep_is_a_400(api, owner, environment):
    api.force_authenticate(owner)
    body = '{"key": "A", "value": ' + "[" * 10_000 + "]" * 10_000 + "}"
    response = api.post(
        f"/api/v1/environments/{environment.pk}/variables/",
        body,
        content_type="application/json",
    )
    assert "nested more than" in _problem(response, "body")
    assert not EnvVar.objects.exists()


def test_a_body_that_is_not_utf8_is_a_400(api, owner, environment):
    api.force_authenticate(owner)
    response = api.post(
        f"/api/v1/environments/{environment.pk}/variables/",
        b'{"key": "A", "value": "\xff\xfe"}',
        content_type="application/json",
    )
    assert "UTF-8" in _problem(response, "body")


@pytest.mark.parametrize(
    ("path", "param"),
    [
        ("/api/v1/sites/", "client"),
        ("/api/v1/environments/", "site"),
        ("/api/v1/environments/", "site__client"),
        ("/api/v1/backups/", "environment"),
        ("/api/v1/backups/", "site"),
        ("/api/v1/operations/", "client"),
        ("/api/v1/operations/", "target_id"),
        ("/api/v1/webhooks/", "client"),
    ],
)
def test_a_twenty_digit_id_in_a_list_filter_is_a_400(api, owner, environment, path, param):
    api.force_authenticate(owner)
    response = api.get(path, {param: "9" * 20})
    assert "at most" in _problem(response, param)
    assert api.get(path, {param: "abc"}).status_code == 400
    assert api.get(path, {param: "424242"}).status_code == 200
