"""Pieces every manifest shares: names, labels, metadata and resource quantities."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sites.validators import parse_cpu, parse_memory

if TYPE_CHECKING:
    from sites.models import Environment

Manifest = dict[str, Any]

WEB_PORT = 8080
VARNISH_PORT = 6081
MANAGED_BY = {"app.kubernetes.io/managed-by": "hangar"}

NAME_LABEL = "app.kubernetes.io/name"
WEB = "web"
SECRET_NAME = "app-env"  # noqa: S105 - an object name, not a password
CONFIGMAP_NAME = "app-config"
SECRET_MOUNT_PATH = "/config/app-env"  # noqa: S105 - a path
# Each container gets its own emptyDir here; the root filesystem is read-only.
TMP_DIR = "/tmp"  # noqa: S108

_MI = 2**20


def environment_labels(environment: Environment) -> dict[str, str]:
    """Labels on every object of an environment; the operation engine can select by them."""
    site = environment.site
    return {
        **MANAGED_BY,
        "app.kubernetes.io/part-of": site.slug,
        "hangar.dev/client": site.client.slug,
        "hangar.dev/site": site.slug,
        "hangar.dev/environment": environment.slug,
    }


def selector_labels(environment: Environment, name: str) -> dict[str, str]:
    """Pod selector of a workload. Selectors are immutable on a Deployment, so only labels
    that never change for an environment go in; ``name`` keeps cron pods out of the web
    Deployment's, Service's and PodDisruptionBudget's sight."""
    labels = environment_labels(environment)
    stable = ("hangar.dev/client", "hangar.dev/site", "hangar.dev/environment")
    return {key: labels[key] for key in stable} | {NAME_LABEL: name}


def metadata(
    environment: Environment,
    name: str,
    *,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
) -> Manifest:
    meta: Manifest = {
        "name": name,
        "namespace": environment.namespace,
        "labels": environment_labels(environment) | (labels or {}),
    }
    if annotations:
        meta["annotations"] = dict(annotations)
    return meta


def job_spec(
    environment: Environment,
    labels: dict[str, str],
    pod: Manifest,
    *,
    deadline_seconds: int,
    keep_seconds: int,
) -> Manifest:
    """The spec of a Job (or a CronJob's job template) that runs `pod` once: a failure is
    reported and decided on, never retried at once (a command may not be idempotent; a
    cron run waits for its next slot). Stopped after `deadline_seconds`, deleted
    `keep_seconds` after it finished."""
    return {
        "backoffLimit": 0,
        "activeDeadlineSeconds": deadline_seconds,
        "ttlSecondsAfterFinished": keep_seconds,
        "template": {"metadata": {"labels": environment_labels(environment) | labels}, "spec": pod},
    }


def job(
    environment: Environment,
    name: str,
    labels: dict[str, str],
    pod: Manifest,
    *,
    deadline_seconds: int,
    keep_seconds: int,
) -> Manifest:
    """Job `name` running `pod` once (see `job_spec`)."""
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata(environment, name, labels=labels),
        "spec": job_spec(
            environment, labels, pod, deadline_seconds=deadline_seconds, keep_seconds=keep_seconds
        ),
    }


def require_image(environment: Environment) -> str:
    if not environment.image:
        raise ValueError(
            f"Environment {environment.namespace} has no image; nothing deploys without one."
        )
    return environment.image


def cpu_quantity(millicores: int) -> str:
    """Whole cores as a plain integer, anything else in millicores: how kubectl shows CPU."""
    return str(millicores // 1000) if millicores % 1000 == 0 else f"{millicores}m"


def whole_mebibytes(size: int) -> int:
    """Round bytes up to a whole MiB, so a value like "200M" never shrinks."""
    return -(-size // _MI) * _MI


def memory_quantity(size: int) -> str:
    """Memory in MiB, rounded up."""
    return f"{whole_mebibytes(size) // _MI}Mi"


@dataclass(frozen=True)
class Resources:
    """Requests and limits of one container (or a sum of them): millicores and bytes.

    Memory is kept in whole MiB from the start, so sums and products render exactly: a
    quota computed from rounded totals could fall short of the rounded containers.
    """

    cpu_request: int
    cpu_limit: int
    memory_request: int
    memory_limit: int

    @classmethod
    def of_environment(cls, environment: Environment) -> Resources:
        return cls(
            cpu_request=parse_cpu(environment.cpu_request),
            cpu_limit=parse_cpu(environment.cpu_limit),
            memory_request=whole_mebibytes(parse_memory(environment.memory_request)),
            memory_limit=whole_mebibytes(parse_memory(environment.memory_limit)),
        )

    def __add__(self, other: Resources) -> Resources:
        return Resources(
            self.cpu_request + other.cpu_request,
            self.cpu_limit + other.cpu_limit,
            self.memory_request + other.memory_request,
            self.memory_limit + other.memory_limit,
        )

    def __mul__(self, count: int) -> Resources:
        return Resources(
            self.cpu_request * count,
            self.cpu_limit * count,
            self.memory_request * count,
            self.memory_limit * count,
        )

    def requests(self) -> dict[str, str]:
        return {
            "cpu": cpu_quantity(self.cpu_request),
            "memory": memory_quantity(self.memory_request),
        }

    def limits(self) -> dict[str, str]:
        return {"cpu": cpu_quantity(self.cpu_limit), "memory": memory_quantity(self.memory_limit)}

    def to_container(self) -> Manifest:
        return {"requests": self.requests(), "limits": self.limits()}
