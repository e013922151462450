"""Operation lookups that pages run for every environment they show have an index: with
a year of operations, the dashboard's "last operation" scanned the whole table's created_at
index per environment (280 ms for a client's 15 environments over 200,000 operations)."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.db.models import OuterRef, Subquery

from clusters.models import Operation
from sites.models import Environment

pytestmark = pytest.mark.django_db


def plan(queryset) -> str:
    with transaction.atomic(), connection.cursor() as cursor:
        # Tiny test tables would be scanned whole anyway; ask whether an index exists.
        cursor.execute("SET LOCAL enable_seqscan = off")
        return queryset.explain()


def test_an_environments_newest_operation_comes_from_an_index():
    newest = Operation.objects.filter(target_type="environment", target_id=1).order_by(
        "-created_at", "-id"
    )[:1]
    assert "operation_target_newest" in plan(newest)


def test_the_dashboards_last_operation_subquery_uses_it():
    last = Operation.objects.filter(target_type="environment", target_id=OuterRef("pk")).order_by(
        "-created_at", "-id"
    )
    environments = Environment.objects.annotate(last_op_status=Subquery(last.values("status")[:1]))
    assert "operation_target_newest" in plan(environments)
