"""Drift as a real API server shows it (issues 14.5 and 15.5): quantities the server
stores in its canonical form are no drift, and objects gone from the cluster are
forgotten by Hangar's applied-object record and re-created."""

from __future__ import annotations

from decimal import Decimal

from clusters.models import AppliedObject, Operation
from clusters.quantities import quantity_value
from sites import services
from sites.services.drift import environment_check_drift
from tests.engine import drain, provisioned

S = Operation.Status


def test_canonical_quantities_are_no_drift(any_environment, owner, any_kube):
    any_environment.memory_request = "3072Mi"
    any_environment.memory_limit = "4096Mi"
    any_environment.cpu_limit = "1"
    any_environment.save()
    environment = provisioned(any_environment, owner)
    namespace = environment.namespace
    # The server (the sandbox too) stores quantities canonically: 3072Mi reads back as 3Gi.
    deployment = any_kube.get("apps/v1", "Deployment", "web", namespace)
    web = deployment["spec"]["template"]["spec"]["containers"][0]
    assert web["resources"]["requests"]["memory"] == "3Gi"
    quota = any_kube.get("v1", "ResourceQuota", "hangar", namespace)
    assert quota["spec"]["hard"]["requests.memory"] == "18Gi"

    assert environment_check_drift(environment=environment) == []

    # A real difference of value still is drift.
    any_kube.merge_patch(
        "v1",
        "ResourceQuota",
        "hangar",
        {"spec": {"hard": {"requests.memory": "1Gi"}}},
        namespace,
        field_manager="kubectl",
    )
    (entry,) = environment_check_drift(environment=environment)
    assert entry["object"] == "ResourceQuota hangar"
    assert entry["fields"][0]["field"] == "spec.hard.requests.memory"
    assert quantity_value(entry["fields"][0]["live"]) == Decimal(2**30)


def test_a_namespace_deleted_behind_hangars_back_is_reported_and_repaired(
    any_environment, owner, any_kube
):
    environment = provisioned(any_environment, owner)
    namespace = environment.namespace
    any_kube.delete("v1", "Namespace", namespace)
    any_kube.wait_namespace_deleted(namespace, timeout=120, poll=0.1)

    report = environment_check_drift(environment=environment)

    assert report == [
        {
            "object": f"Namespace {namespace}",
            "missing": True,
            "namespace_missing": True,
            "fields": [],
        }
    ]
    assert not AppliedObject.objects.filter(namespace=namespace).exists()
    repair = Operation.objects.get(kind="environment.apply_config", requested_by=None)
    assert repair.params["repair"] is True
    drain()
    repair.refresh_from_db()
    assert repair.status == S.SUCCEEDED, repair.error
    assert any_kube.get("apps/v1", "Deployment", "web", namespace)
    assert environment_check_drift(environment=environment) == []


def test_report_only_queues_nothing(live_environment, owner, live_kube, settings):
    environment = provisioned(live_environment, owner)
    settings.HANGAR_DRIFT_REPAIR = "report"
    live_kube.delete("v1", "Service", "web", environment.namespace)
    (entry,) = environment_check_drift(environment=environment)
    assert entry == {"object": "Service web", "missing": True, "fields": []}
    assert not Operation.objects.filter(status=S.PENDING).exists()
    # The record is forgotten all the same: the next operation writes the Service again.
    services.environment_scale(actor=owner, environment=environment, replicas=3)
    drain()
    assert live_kube.get("v1", "Service", "web", environment.namespace)


def test_an_api_server_that_lost_its_state_converges_without_a_human(
    live_environment, owner, live_sandbox, live_kube
):
    """Issue 14.5: after the API server lost every object, a scale "wrote 0" (the records
    said all was applied) and blamed the rollback step. Now the next operation finds the
    namespace gone, says so, and makes everything again."""
    environment = provisioned(live_environment, owner)
    assert live_sandbox.lose_state() > 0

    op = services.environment_scale(actor=owner, environment=environment, replicas=3)
    drain()

    op.refresh_from_db()
    events = [e.message for e in op.events.all()]
    assert op.status == S.SUCCEEDED, (op.error, events)
    assert any(f"Namespace {environment.namespace} is missing" in m for m in events), events
    deployment = live_kube.get("apps/v1", "Deployment", "web", environment.namespace)
    assert deployment["spec"]["replicas"] == 3
    environment.refresh_from_db()
    assert environment_check_drift(environment=environment) == []
