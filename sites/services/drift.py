"""Drift: where the live objects of an environment differ from what Hangar would apply.

Only fields Hangar sets are compared (the server adds defaults and status of its own), so
a report lists changes someone made behind Hangar's back: a `kubectl scale`, an edited
Ingress, a deleted CronJob. Quantities are compared by value: the server stores `3072Mi`
as `3Gi`. Secret values are never copied into a report.

A check also corrects Hangar's record of what it applied (clusters.kube.digests): an
object found changed or missing is forgotten there, so the next apply writes it. It counts
the digests the web pods run on the live release (sites.services.digests). Missing
objects (a namespace emptied by hand, an API server that lost its state) are then
re-created by a repair operation, unless `HANGAR_DRIFT_REPAIR` is "report".
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils import timezone

from clusters.kube.client import KubeClient, object_key
from clusters.models import Operation
from clusters.quantities import quantity_value
from sites.desired import desired_objects
from sites.models import Environment
from sites.services.digests import live_release, release_record_digests, web_pod_digests
from sites.services.operations import environment_operation

MAX_DIFFERENCES = 50
# Written by controllers or other managers on purpose; not drift.
IGNORED = {("Deployment", "spec.replicas")}
# Maps whose values are quantities (container resources, ResourceQuota, LimitRange).
QUANTITY_MAPS = frozenset({"requests", "limits", "hard", "default", "defaultRequest", "max", "min"})


def _same_quantity(path: str, desired: Any, live: Any) -> bool:
    """Whether `desired` and `live` are the same quantity at `path`: a value of a map of
    quantities, or an emptyDir's sizeLimit."""
    parts = path.replace("]", "").replace("[", ".").split(".")
    if not (len(parts) >= 2 and (parts[-2] in QUANTITY_MAPS or parts[-1] == "sizeLimit")):
        return False
    wanted, found = quantity_value(desired), quantity_value(live)
    return isinstance(wanted, Decimal) and wanted == found


def _differences(desired: Any, live: Any, path: str, out: list[dict[str, Any]]) -> None:
    if len(out) >= MAX_DIFFERENCES:
        return
    if desired in ({}, []) and live in (None, {}, []):
        return  # the server drops empty maps and lists
    if isinstance(desired, dict):
        if not isinstance(live, dict):
            out.append({"field": path, "desired": desired, "live": live})
            return
        for key, value in desired.items():
            _differences(value, live.get(key), f"{path}.{key}" if path else key, out)
    elif isinstance(desired, list):
        if not isinstance(live, list) or len(live) != len(desired):
            out.append({"field": path, "desired": desired, "live": live})
            return
        for index, (d, v) in enumerate(zip(desired, live, strict=True)):
            _differences(d, v, f"{path}[{index}]", out)
    elif (
        desired != live
        and not (isinstance(desired, int | float) and str(desired) == str(live))
        and not _same_quantity(path, desired, live)
    ):
        out.append({"field": path, "desired": desired, "live": live})


def _redact(kind: str, differences: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if kind != "Secret":
        return differences
    return [{"field": d["field"], "desired": "(secret)", "live": "(secret)"} for d in differences]


def environment_drift(environment: Environment, kube: KubeClient) -> list[dict[str, Any]]:
    """Objects that are missing or differ, each with the differing fields. A missing
    namespace is one entry (`namespace_missing`): everything in it is gone with it."""
    objects = desired_objects(environment)
    hpa = environment.autoscale_enabled
    report = []
    for obj in objects:
        meta = obj["metadata"]
        live = kube.get_or_none(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))
        label = f"{obj['kind']} {meta['name']}"
        if live is None:
            if obj["kind"] == "Namespace":
                return [
                    {
                        "object": label,
                        "missing": True,
                        "namespace_missing": True,
                        "fields": [],
                    }
                ]
            report.append({"object": label, "missing": True, "fields": []})
            continue
        differences: list[dict[str, Any]] = []
        for section in ("spec", "data", "metadata"):
            if section not in obj:
                continue
            wanted = obj[section]
            if section == "metadata":
                wanted = {
                    "labels": wanted.get("labels", {}),
                    "annotations": wanted.get("annotations", {}),
                }
            _differences(wanted, live.get(section) or {}, section, differences)
        differences = [
            d
            for d in differences
            if not (hpa and (obj["kind"], d["field"]) in IGNORED)
            and not (d["field"].startswith("metadata.annotations") and d["desired"] is None)
        ]
        if differences:
            report.append(
                {"object": label, "missing": False, "fields": _redact(obj["kind"], differences)}
            )
    return report


def _stale_records(environment: Environment, report: list[dict[str, Any]]) -> list[str]:
    """Keys of the applied-object records the report shows wrong: objects missing or
    changed since Hangar's write."""
    drifted = {entry["object"] for entry in report}
    return [
        object_key(obj)
        for obj in desired_objects(environment)
        if f"{obj['kind']} {obj['metadata']['name']}" in drifted
    ]


def environment_check_drift(*, environment: Environment) -> list[dict[str, Any]]:
    """Compare, store the report on the environment, forget the records of what drifted
    and, when objects are missing, queue their repair (HANGAR_DRIFT_REPAIR)."""
    kube = KubeClient.for_cluster(environment.cluster)
    report = environment_drift(environment, kube)
    if any(entry.get("namespace_missing") for entry in report):
        kube.forget_namespace(environment.namespace)
    elif report:
        kube.forget(_stale_records(environment, report))
    Environment.objects.filter(pk=environment.pk).update(
        drift_report=report, drift_checked_at=timezone.now()
    )
    environment.drift_report = report
    if environment.image and not any(entry.get("namespace_missing") for entry in report):
        # Pods replaced since the rollout (a node drained, a crash) pulled the tag again.
        release_record_digests(
            live_release(environment), web_pod_digests(kube, environment), pin=False
        )
    if settings.HANGAR_DRIFT_REPAIR == "repair" and any(e["missing"] for e in report):
        _queue_repair(environment)
    return report


def _queue_repair(environment: Environment) -> Operation | None:
    """A repair by Hangar itself (no actor), unless one is queued or running already."""
    busy = Operation.objects.filter(
        target_type="environment",
        target_id=environment.pk,
        status__in=[Operation.Status.PENDING, Operation.Status.RUNNING],
    )
    if busy.exists():
        return None
    operation, _ = environment_operation(
        kind="environment.apply_config",
        environment=environment,
        actor=None,
        params={"config_version": environment.config_version, "repair": True},
    )
    return operation
