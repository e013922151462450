"""``pods/{name}/log``: container choice and the query options of PodLogOptions."""

from __future__ import annotations

import calendar
import time
from typing import Any

from . import errors
from .workloads import CRASHING, PULL_FAILING, UNSCHEDULABLE, log_lines, pod_state


def _container(pod: dict[str, Any], wanted: str | None) -> str:
    name = pod["metadata"]["name"]
    spec = pod.get("spec") or {}
    containers = [c.get("name") for c in spec.get("containers") or []]
    init = [c.get("name") for c in spec.get("initContainers") or []]
    if not wanted:
        if len(containers) != 1:
            message = (
                f"a container name must be specified for pod {name}, choose one of: "
                f"[{' '.join(containers)}]"
            )
            if init:
                message += f" or one of the init containers: [{' '.join(init)}]"
            raise errors.bad_request(message)
        return containers[0]
    if wanted not in containers + init:
        raise errors.bad_request(f"container {wanted} is not valid for pod {name}")
    return wanted


def render_log(
    pod: dict[str, Any], query: dict[str, str], custom: dict[tuple[str, str, str], str]
) -> str:
    """The log text for ``container``, ``previous``, ``sinceSeconds``, ``timestamps``,
    ``tailLines`` and ``limitBytes``; ``custom`` maps (namespace, pod, container) to text."""
    meta = pod["metadata"]
    name = meta["name"]
    container = _container(pod, query.get("container"))
    state = pod_state(pod)
    # A container that never started has no log; the kubelet (or, unbound, the API server)
    # says why, as a 400.
    if state == PULL_FAILING:
        raise errors.bad_request(
            f'container "{container}" in pod "{name}" is waiting to start: trying and failing '
            "to pull image"
        )
    if state == UNSCHEDULABLE:
        raise errors.bad_request(f"pod {name} does not have a host assigned")
    if query.get("previous") in ("true", "1") and state != CRASHING:
        raise errors.bad_request(
            f'previous terminated container "{container}" in pod "{name}" not found'
        )
    text = custom.get((meta.get("namespace", ""), name, container))
    lines = text.splitlines() if text is not None else log_lines(pod, container)
    # Every line is stamped with the container's start: that is all the
    # sandbox knows, and it keeps sinceSeconds deterministic.
    started = (pod.get("status") or {}).get("startTime") or meta.get("creationTimestamp")
    since = query.get("sinceSeconds")
    if since and started:
        started_at = calendar.timegm(time.strptime(started, "%Y-%m-%dT%H:%M:%SZ"))
        if time.time() - started_at > int(since):
            lines = []
    if query.get("timestamps") in ("true", "1") and started:
        stamp = started.replace("Z", ".000000000Z")
        lines = [f"{stamp} {line}" for line in lines]
    tail = query.get("tailLines")
    if tail is not None:
        lines = lines[-int(tail) :] if int(tail) > 0 else []
    out = "".join(f"{line}\n" for line in lines)
    limit = query.get("limitBytes")
    if limit:
        out = out.encode()[: int(limit)].decode(errors="ignore")
    return out
