"""Smoke tests of the benchmark tooling: tiny numbers, consistent data, quickly."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from billing.models import EnvironmentUsageDay, PoolUsageDay
from clusters.models import Cluster, Operation, OperationEvent
from controlpanel.core.models import Client, Membership, User
from sites.handlers.converge import load_environment
from sites.models import Domain, Environment, EnvVar, Release, Site

pytestmark = pytest.mark.django_db(transaction=False)


def seed(**options):
    out = StringIO()
    args = {
        "clients": 3,
        "sites_per_client": 2,
        "environments_per_site": 3,
        "operations": 90,
        "events_per_operation": 4,
        "usage_days": 3,
        "stdout": out,
    }
    args.update(options)
    call_command("bench_seed", **args)
    return out.getvalue()


def test_seed_builds_consistent_volumes():
    output = seed()
    assert "seeded in" in output
    assert Client.objects.count() == 3
    assert Site.objects.count() == 6
    assert Environment.objects.count() == 18
    assert Domain.objects.count() == 18 and EnvVar.objects.count() == 36
    assert User.objects.filter(staff_role="admin").count() == 1
    assert Membership.objects.count() == 3
    # Every operation targets an environment of its own client and cluster, finished.
    assert Operation.objects.count() == 90
    mismatched = Operation.objects.exclude(
        client_id__in=Environment.objects.filter(
            pk__in=Operation.objects.values("target_id")
        ).values("site__client_id")
    )
    assert not mismatched.exists()
    for op in Operation.objects.all()[:20]:
        environment = Environment.objects.select_related("site").get(pk=op.target_id)
        assert op.client_id == environment.site.client_id
        assert op.cluster_id == environment.cluster_id
        assert op.lock_key == environment.lock_key
        assert op.is_finished and op.finished_at > op.created_at
    assert not Operation.objects.filter(status__in=["pending", "running"]).exists()
    assert OperationEvent.objects.count() == 90 * 4
    deploys = Operation.objects.filter(kind="environment.deploy")
    assert Release.objects.filter(operation__in=deploys).count() == deploys.count()
    # A daily roll-up per environment (and pool) per day.
    assert EnvironmentUsageDay.objects.count() == 18 * 3
    assert PoolUsageDay.objects.count() == Cluster.objects.get(
        slug="bench0"
    ).node_pools.count() * 3 + (Cluster.objects.get(slug="bench1").node_pools.count() * 3)
    # The indexes and constraints dropped for the bulk insert are back.
    with pytest.raises(Exception):  # noqa: B017 - IntegrityError through the atomic block
        from django.db import transaction

        with transaction.atomic():
            row = EnvironmentUsageDay.objects.first()
            row.pk = None
            row.save()


def test_seeded_environments_render():
    seed(operations=0, usage_days=0, status="new", clients=1, sites_per_client=5)
    assert set(Environment.objects.values_list("status", flat=True)) == {"new"}
    from sites.desired import desired_objects

    for environment in Environment.objects.all():
        objects = desired_objects(load_environment(environment.pk))
        kinds = [obj["kind"] for obj in objects]
        assert kinds[0] == "Namespace" and "Deployment" in kinds and "Ingress" in kinds


def test_seed_refuses_a_database_with_bench_clients():
    seed(operations=0, usage_days=0, clients=1)
    with pytest.raises(CommandError, match="exist already"):
        seed(operations=0, usage_days=0, clients=1)
