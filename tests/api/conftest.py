from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from controlpanel.integrations.tokens import deploy_token_create, token_create


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def as_token(api):
    """Authenticate `api` with a fresh personal token of `user` with `scopes`."""

    def use(user, scopes=("read", "write", "deploy")):
        _, token = token_create(actor=user, name="test", scopes=list(scopes))
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return token

    return use


@pytest.fixture
def as_deploy_token(api):
    def use(user, environment):
        _, token = deploy_token_create(actor=user, environment=environment, name="ci")
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return token

    return use
