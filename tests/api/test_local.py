"""The local-project endpoints: developers get the compose project, as JSON or a zip."""

from __future__ import annotations

import zipfile
from io import BytesIO

from sites.models import Environment


def _running(environment):
    environment.image = "registry.example.com/acme/web:1.0"
    environment.status = Environment.Status.ACTIVE
    environment.save()
    return environment


def test_developers_get_the_project(api, as_token, developer, environment):
    _running(environment)
    as_token(developer)
    body = api.get(f"/api/v1/environments/{environment.pk}/local/").json()
    assert body["image"] == "registry.example.com/acme/web:1.0"
    assert "compose.yaml" in body["files"] and ".env.example" in body["files"]
    response = api.get(f"/api/v1/environments/{environment.pk}/local.zip")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    names = zipfile.ZipFile(BytesIO(response.content)).namelist()
    assert f"{environment.namespace}/compose.yaml" in names


def test_viewers_deploy_tokens_and_other_clients_do_not(
    api, as_token, as_deploy_token, viewer, owner, other_owner, environment
):
    _running(environment)
    as_token(viewer)
    assert api.get(f"/api/v1/environments/{environment.pk}/local/").status_code == 403
    as_token(other_owner)
    assert api.get(f"/api/v1/environments/{environment.pk}/local.zip").status_code == 404
    as_deploy_token(owner, environment)
    assert api.get(f"/api/v1/environments/{environment.pk}/local/").status_code == 403
