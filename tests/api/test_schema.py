"""The OpenAPI schema is valid, and the API keeps its promises under generated input."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.management import call_command
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from controlpanel.integrations.tokens import token_create
from controlpanel.wsgi import application


def test_schema_validates(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--file", str(out), "--validate", "--fail-on-warn")
    text = out.read_text()
    assert "/api/v1/environments/{id}/deploy/" in text
    assert "Problem" in text


@pytest.fixture
def api_schema(db, client_a, cluster):
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    from tests import factories as f

    # As Django's test client does: the app must not close the test's connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)

    env = f.EnvironmentFactory(
        site=f.SiteFactory(client=client_a), cluster=cluster, status="active"
    )
    f.CronScheduleFactory(environment=env)
    yield schemathesis.openapi.from_wsgi("/api/schema/", application)
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def auth(db):
    from tests import factories as f

    user = f.UserFactory(email="fuzz@agency.test", staff_role="admin")
    _, token = token_create(actor=user, name="fuzz", scopes=["admin"])
    return {"Authorization": f"Bearer {token}"}


def test_api_conforms_to_its_schema(api_schema, auth):
    """Generated requests to every operation: no 5xx, and every answer matches the schema
    (status codes, bodies, content types). Bounded, so it fits in `make test`."""
    failures = []
    for result in api_schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=10,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case):
            # Schema-valid is not always valid: an image reference or a free hostname is
            # more than its JSON type, and the API rightly answers 400 for those.
            case.call_and_validate(headers=auth, excluded_checks=[positive_data_acceptance])

        try:
            run()
        except Exception as exc:  # collect every operation's failure, not just the first
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)
