from __future__ import annotations

import pytest

from controlpanel.integrations.tokens import deploy_token_create
from tests.backups.conftest import bucket, s3, s3_server  # noqa: F401 - the S3 API server


@pytest.fixture
def as_deploy_token(api):
    def use(user, environment):
        _, token = deploy_token_create(actor=user, environment=environment, name="ci")
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return token

    return use
