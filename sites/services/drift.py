"""Drift: where the live objects of an environment differ from what Hangar would apply.

Only fields Hangar sets are compared (the server adds defaults and status of its own), so
a report lists changes someone made behind Hangar's back: a `kubectl scale`, an edited
Ingress, a deleted CronJob. Secret values are never copied into a report.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from clusters.kube.client import KubeClient
from sites.desired import desired_objects
from sites.models import Environment

MAX_DIFFERENCES = 50
# Written by controllers or other managers on purpose; not drift.
IGNORED = {("Deployment", "spec.replicas")}


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
    elif desired != live and not (isinstance(desired, int | float) and str(desired) == str(live)):
        out.append({"field": path, "desired": desired, "live": live})


def _redact(kind: str, differences: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if kind != "Secret":
        return differences
    return [{"field": d["field"], "desired": "(secret)", "live": "(secret)"} for d in differences]


def environment_drift(environment: Environment, kube: KubeClient) -> list[dict[str, Any]]:
    """Objects that are missing or differ, each with the differing fields."""
    objects = desired_objects(environment)
    hpa = environment.autoscale_enabled
    report = []
    for obj in objects:
        meta = obj["metadata"]
        live = kube.get_or_none(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))
        label = f"{obj['kind']} {meta['name']}"
        if live is None:
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


def environment_check_drift(*, environment: Environment) -> list[dict[str, Any]]:
    """Compare and store the report on the environment."""
    kube = KubeClient.for_cluster(environment.cluster, skip_unchanged=False)
    report = environment_drift(environment, kube)
    Environment.objects.filter(pk=environment.pk).update(
        drift_report=report, drift_checked_at=timezone.now()
    )
    environment.drift_report = report
    return report
