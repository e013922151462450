"""Defaulting the API server does on write, so stored objects look like a cluster's."""

from __future__ import annotations

import base64
import itertools
import threading
from typing import Any

from .resources import ResourceType


class Allocator:
    """Hands out cluster IPs, node ports and load-balancer IPs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._service = itertools.count(10)
        self._pod = itertools.count(10)
        self._node_port = itertools.count(30000)
        self._lb = itertools.count(10)

    def service_ip(self) -> str:
        with self._lock:
            n = next(self._service)
        return f"10.96.{n // 250}.{n % 250 + 1}"

    def pod_ip(self) -> str:
        with self._lock:
            n = next(self._pod)
        return f"10.244.{n // 250}.{n % 250 + 1}"

    def node_port(self) -> int:
        with self._lock:
            return next(self._node_port)

    def load_balancer_ip(self) -> str:
        with self._lock:
            n = next(self._lb)
        return f"203.0.113.{n % 250 + 1}"


def _container(container: dict[str, Any]) -> None:
    image = container.get("image") or ""
    tag = image.rsplit("/", 1)[-1]
    untagged_or_latest = "@" not in tag and (":" not in tag or tag.endswith(":latest"))
    container.setdefault("imagePullPolicy", "Always" if untagged_or_latest else "IfNotPresent")
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    container.setdefault("resources", {})
    for port in container.get("ports") or []:
        port.setdefault("protocol", "TCP")


def pod_spec(spec: dict[str, Any]) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    for key in ("initContainers", "containers"):
        for container in spec.get(key) or []:
            _container(container)


def _template(template: dict[str, Any] | None) -> None:
    if isinstance(template, dict):
        template.setdefault("metadata", {})
        pod_spec(template.setdefault("spec", {}))


def _job_spec(spec: dict[str, Any]) -> None:
    spec.setdefault("parallelism", 1)
    spec.setdefault("completions", 1)
    spec.setdefault("backoffLimit", 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    spec.setdefault("podReplacementPolicy", "TerminatingOrFailed")
    _template(spec.get("template"))


def apply_defaults(
    rt: ResourceType, obj: dict[str, Any], allocator: Allocator, creating: bool
) -> None:
    """Fill in what upstream's defaulting and admission fill in, in place."""
    meta = obj.setdefault("metadata", {})
    spec = obj.get("spec")
    kind = rt.kind
    if kind == "Namespace":
        meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta["name"]
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
    elif kind == "Secret":
        obj.setdefault("type", "Opaque")
        # stringData is write-only: upstream folds it into data.
        string_data = obj.pop("stringData", None) or {}
        if string_data:
            data = obj.setdefault("data", {})
            for key, value in string_data.items():
                data[key] = base64.b64encode(str(value).encode()).decode()
    elif kind == "Service" and isinstance(spec, dict):
        _service(spec, allocator)
    elif kind in ("Deployment", "ReplicaSet") and isinstance(spec, dict):
        spec.setdefault("replicas", 1)
        spec.setdefault("revisionHistoryLimit", 10)
        if kind == "Deployment":
            spec.setdefault("progressDeadlineSeconds", 600)
            spec.setdefault(
                "strategy",
                {
                    "type": "RollingUpdate",
                    "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
                },
            )
        _template(spec.get("template"))
    elif kind == "Job" and isinstance(spec, dict):
        _job_spec(spec)
        if creating:
            _job_selector(obj)
    elif kind == "CronJob" and isinstance(spec, dict):
        spec.setdefault("concurrencyPolicy", "Allow")
        spec.setdefault("suspend", False)
        spec.setdefault("successfulJobsHistoryLimit", 3)
        spec.setdefault("failedJobsHistoryLimit", 1)
        job_template = spec.setdefault("jobTemplate", {})
        job_template.setdefault("metadata", {})
        _job_spec(job_template.setdefault("spec", {}))
    elif kind == "Pod" and isinstance(spec, dict):
        pod_spec(spec)
    elif kind == "PersistentVolumeClaim" and isinstance(spec, dict):
        spec.setdefault("volumeMode", "Filesystem")


def _service(spec: dict[str, Any], allocator: Allocator) -> None:
    kind = spec.setdefault("type", "ClusterIP")
    if kind != "ExternalName":
        if "clusterIP" not in spec:
            spec["clusterIP"] = allocator.service_ip()
        spec.setdefault("clusterIPs", [spec["clusterIP"]])
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("internalTrafficPolicy", "Cluster")
    spec.setdefault("sessionAffinity", "None")
    for port in spec.get("ports") or []:
        port.setdefault("protocol", "TCP")
        port.setdefault("targetPort", port.get("port"))
        if kind in ("NodePort", "LoadBalancer") and "nodePort" not in port:
            port["nodePort"] = allocator.node_port()
    if kind in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")


def _job_selector(job: dict[str, Any]) -> None:
    uid = job["metadata"]["uid"]
    name = job["metadata"]["name"]
    spec = job["spec"]
    template_meta = spec.setdefault("template", {}).setdefault("metadata", {})
    if spec.get("manualSelector"):
        _job_labels(job, template_meta.get("labels"))
        return
    # Defaulting (before the selector is generated) gives a Job without labels its
    # template's labels.
    _job_labels(job, template_meta.get("labels"))
    spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    labels = spec.setdefault("template", {}).setdefault("metadata", {}).setdefault("labels", {})
    labels.update(
        {
            "batch.kubernetes.io/controller-uid": uid,
            "batch.kubernetes.io/job-name": name,
            "controller-uid": uid,
            "job-name": name,
        }
    )
    # A Job that still has no labels shows the generated ones: upstream defaults them again
    # from the template each time the stored Job is read.
    _job_labels(job, labels)


def _job_labels(job: dict[str, Any], labels: dict[str, str] | None) -> None:
    if labels and not job["metadata"].get("labels"):
        job["metadata"]["labels"] = dict(labels)


def initial_status(
    rt: ResourceType, obj: dict[str, Any], allocator: Allocator
) -> dict[str, Any] | None:
    """The status a freshly created object has before any controller runs."""
    kind = rt.kind
    spec = obj.get("spec") or {}
    if kind == "Namespace":
        return {"phase": "Active"}
    if kind == "Service":
        if spec.get("type") == "LoadBalancer":
            return {
                "loadBalancer": {"ingress": [{"ip": allocator.load_balancer_ip(), "ipMode": "VIP"}]}
            }
        return {"loadBalancer": {}}
    if kind == "Ingress":
        return {"loadBalancer": {}}
    if kind == "PersistentVolumeClaim":
        storage = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
        status: dict[str, Any] = {"phase": "Bound", "accessModes": spec.get("accessModes") or []}
        if storage:
            status["capacity"] = {"storage": storage}
        return status
    if kind == "CustomResourceDefinition":
        versions = spec.get("versions") or []
        stored = [v["name"] for v in versions if v.get("storage")] or [
            v["name"] for v in versions[:1]
        ]
        names = dict(spec.get("names") or {})
        names.setdefault("singular", str(names.get("kind", "")).lower())
        names.setdefault("listKind", f"{names.get('kind', '')}List")
        return {
            "acceptedNames": names,
            "conditions": [
                {
                    "type": "NamesAccepted",
                    "status": "True",
                    "reason": "NoConflicts",
                    "message": "no conflicts found",
                },
                {
                    "type": "Established",
                    "status": "True",
                    "reason": "InitialNamesAccepted",
                    "message": "the initial names have been accepted",
                },
            ],
            "storedVersions": stored,
        }
    # Zero values of the fields that are not omitempty upstream.
    if kind == "ReplicaSet":
        return {"replicas": 0}
    if kind == "HorizontalPodAutoscaler":
        return {"desiredReplicas": 0}
    if kind == "PodDisruptionBudget":
        return {
            "disruptionsAllowed": 0,
            "currentHealthy": 0,
            "desiredHealthy": 0,
            "expectedPods": 0,
        }
    if kind in ("Deployment", "Job", "CronJob", "ResourceQuota", "Pod", "Node"):
        return {}
    return None
