"""The list and detail serializers read columns directly (controlpanel/api/serializers/
reading.py) and must answer exactly what DRF's generic path answers: every field, None
where a value is missing, datetimes in the current timezone."""

from __future__ import annotations

import pytest
from django.utils import timezone
from rest_framework import serializers

from clusters.models import Operation
from controlpanel.api import serializers as s
from tests import factories as f

pytestmark = pytest.mark.django_db


def generic(serializer_class):
    """The same serializer with DRF's own per-field path."""

    return type(
        "Generic",
        (serializer_class,),
        {
            "get_fields": serializers.ModelSerializer.get_fields,
            "to_representation": serializers.ModelSerializer.to_representation,
        },
    )


@pytest.mark.parametrize("zone", ["UTC", "America/New_York"])
def test_environments_and_operations_read_as_drf_would(zone, environment, owner, cluster):
    environment.drift_report = [{"kind": "Deployment", "name": "web"}]
    environment.drift_checked_at = timezone.now()
    environment.save()
    by_someone = f.OperationFactory(
        cluster=cluster, client=environment.site.client, target_id=environment.pk,
        requested_by=owner, params={"replicas": 3}, started_at=timezone.now(),
    )  # fmt: skip
    f.OperationEventFactory(operation=by_someone, message="scaled")
    by_no_one = f.OperationFactory(cluster=cluster, status=Operation.Status.FAILED)
    with timezone.override(zone):
        for serializer_class, rows in (
            (s.EnvironmentSerializer, [environment]),
            (s.OperationSerializer, [by_someone, by_no_one]),
            (s.OperationDetailSerializer, [by_someone, by_no_one]),
        ):
            fast = serializer_class(rows, many=True).data
            assert fast == generic(serializer_class)(rows, many=True).data
    assert fast[0]["requested_by"] == owner.email and fast[1]["requested_by"] is None
    if zone != "UTC":
        assert not fast[0]["created_at"].endswith("Z")
