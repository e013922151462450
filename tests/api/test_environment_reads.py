"""Reading environments decrypts nothing: the serializer shows no secret, so neither the
cluster's kubeconfig and keys nor the hash salt are loaded (each was decrypted per row: a
tenth of a list request's time)."""

from __future__ import annotations

import pytest

from tests import factories as f

pytestmark = pytest.mark.django_db


def test_listing_and_reading_environments_decrypts_no_secret(
    api, as_token, staff_admin, client_a, cluster, decrypts
):
    cluster.kubeconfig = "apiVersion: v1\nkind: Config\n"
    cluster.save()
    environments = [
        f.EnvironmentFactory(site=f.SiteFactory(client=client_a), cluster=cluster) for _ in range(3)
    ]
    as_token(staff_admin, scopes=["read"])
    decrypts.clear()
    listed = api.get("/api/v1/environments/")
    assert listed.status_code == 200 and listed.json()["count"] == 3
    one = api.get(f"/api/v1/environments/{environments[0].pk}/")
    assert one.status_code == 200 and one.json()["namespace"] == environments[0].namespace
    assert decrypts == []
