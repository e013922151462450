"""What people read about an operation tells the truth (issue 17.6): where a queued one
stands, what it does, how long it took."""

from __future__ import annotations

from datetime import timedelta

from clusters.engine.describe import duration, operation_label, where_it_stands
from clusters.models import Operation
from sites import services
from tests import factories as f

S = Operation.Status


def test_a_queued_operation_says_what_it_waits_for(site, owner):
    cluster = f.ClusterFactory(slug="waits", name="Waits", max_concurrent_operations=1)
    environment = f.EnvironmentFactory(
        site=site, cluster=cluster, slug="production", status="active", image="r.example/a:1"
    )
    first = services.environment_restart(actor=owner, environment=environment)
    second = services.environment_deploy(
        actor=owner, environment=environment, image="r.example/a:2"
    )
    assert where_it_stands(first) == "Queued: waiting for a worker to pick it up."
    assert where_it_stands(second).startswith(f"Queued behind Restart #{first.pk} on ")
    Operation.objects.filter(pk=first.pk).update(status=S.SUCCEEDED)
    other = f.EnvironmentFactory(
        site=site, cluster=cluster, slug="staging", status="active", image="r.example/a:1"
    )
    busy = services.environment_restart(actor=owner, environment=other)
    Operation.objects.filter(pk=busy.pk).update(status=S.RUNNING)
    second.refresh_from_db()
    assert where_it_stands(second) == (
        "Waiting for a free slot on cluster Waits: 1 of 1 operations run there now."
    )
    assert operation_label(second) == "Deploy"


def test_durations_never_read_zero_minutes():
    assert duration(timedelta(seconds=0.4)) == "0.4 s"
    assert duration(timedelta(seconds=42)) == "42 s"
    assert duration(timedelta(seconds=185)) == "3 min 5 s"
    assert duration(timedelta(hours=1, minutes=2)) == "1 h 2 min"
