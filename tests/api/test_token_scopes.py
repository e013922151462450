"""Token scopes exactly as docs/api.md lists them (issue 13.3): write does not deploy, a
token gives no more than it has, deploy tokens read only what they started, and the audit
log says which token acted."""

from __future__ import annotations

import datetime

from django.utils import timezone

from clusters.models import Operation
from controlpanel.core.models import AuditEvent
from controlpanel.integrations.models import ApiToken
from controlpanel.integrations.tokens import token_create
from tests import factories as f

IMAGE = {"image": "registry.example.com/acme/web:2.0"}


def _active(*environments):
    for env in environments:
        env.status = "active"
        env.save()


def test_a_write_token_does_not_deploy(api, as_token, owner, environment):
    _active(environment)
    as_token(owner, ["write"])
    response = api.post(f"/api/v1/environments/{environment.pk}/deploy/", IMAGE, format="json")
    assert response.status_code == 403
    assert not Operation.objects.exists()


def test_a_token_creates_only_narrower_and_shorter_lived_tokens(api, owner):
    soon = timezone.now() + datetime.timedelta(days=7)
    _, token = token_create(actor=owner, name="ci", scopes=["read", "write"], expires_at=soon)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    wider = api.post(
        "/api/v1/tokens/",
        {"name": "x", "scopes": ["read", "deploy"], "expires_at": soon.isoformat()},
        format="json",
    )
    assert wider.status_code == 400 and "deploy" in wider.json()["errors"]["scopes"][0]
    forever = api.post("/api/v1/tokens/", {"name": "x", "scopes": ["read"]}, format="json")
    assert forever.status_code == 400 and "expires_at" in forever.json()["errors"]
    later = (soon + datetime.timedelta(days=1)).isoformat()
    longer = api.post(
        "/api/v1/tokens/", {"name": "x", "scopes": ["read"], "expires_at": later}, format="json"
    )
    assert longer.status_code == 400 and "expires_at" in longer.json()["errors"]
    assert ApiToken.objects.count() == 1
    ok = api.post(
        "/api/v1/tokens/",
        {"name": "narrow", "scopes": ["read"], "expires_at": soon.isoformat()},
        format="json",
    )
    assert ok.status_code == 201, ok.json()


def test_a_write_token_cannot_mint_a_deploy_token(api, as_token, owner, environment):
    as_token(owner, ["read", "write"])
    response = api.post(
        f"/api/v1/environments/{environment.pk}/deploy-tokens/", {"name": "ci"}, format="json"
    )
    assert response.status_code == 400
    assert ApiToken.objects.filter(environment=environment).count() == 0


def test_a_deploy_token_reads_only_what_it_started_and_cancels_nothing(
    api, as_deploy_token, owner, environment
):
    _active(environment)
    someone_elses = f.OperationFactory(
        cluster=environment.cluster,
        client=environment.site.client,
        target_type="environment",
        target_id=environment.pk,
        lock_key=environment.lock_key,
        kind="environment.scale",
    )
    as_deploy_token(owner, environment)
    mine = api.post(f"/api/v1/environments/{environment.pk}/deploy/", IMAGE, format="json")
    assert mine.status_code == 202
    listed = [row["id"] for row in api.get("/api/v1/operations/").json()["results"]]
    assert listed == [mine.json()["id"]]
    assert api.get(f"/api/v1/operations/{someone_elses.pk}/").status_code == 404
    assert api.post(f"/api/v1/operations/{someone_elses.pk}/cancel/").status_code == 403
    someone_elses.refresh_from_db()
    assert someone_elses.status == Operation.Status.PENDING


def test_every_audit_row_of_a_token_names_the_token(api, owner, environment):
    _active(environment)
    row, token = token_create(actor=owner, name="release pipeline", scopes=["deploy"])
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert (
        api.post(f"/api/v1/environments/{environment.pk}/deploy/", IMAGE, format="json").status_code
        == 202
    )
    events = AuditEvent.objects.exclude(action="token.create")
    assert events.exists()
    for event in events:
        assert (event.token_id, event.token_name) == (row.pk, "release pipeline"), event.action
