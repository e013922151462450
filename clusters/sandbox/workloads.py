"""What the kubelet would report for pods: status, container states and logs."""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

from .meta import rfc3339, safe_encode

ANNOTATION_PREFIX = "sandbox.hangar.dev/"
LOG_LINES = ANNOTATION_PREFIX + "log-lines"
# The pod states the sandbox models.
RUNNING, CRASHING, SUCCEEDED, FAILED = "running", "crash-loop", "succeeded", "failed"
# Pods that never start: an image the node cannot pull, a pod no node can take.
PULL_FAILING, UNSCHEDULABLE = "image-pull", "unschedulable"
# What the scheduler says of a pod that fits no node (the sandbox's nodes are three).
NO_ROOM = (
    "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: "
    "3 No preemption victims found for incoming pod."
)


def pull_error(image: str) -> str:
    """What containerd answers for an image that does not exist, as the kubelet reports it."""
    return (
        f'Failed to pull image "{image}": rpc error: code = NotFound desc = failed to pull and '
        f'unpack image "{image}": failed to resolve reference "{image}": {image}: not found'
    )


def template_hash(template: dict[str, Any]) -> str:
    """A stable pod-template-hash for a pod template."""
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).digest()
    return safe_encode(digest, 10)


def _digest(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()


def _qos(spec: dict[str, Any]) -> str:
    resources = [c.get("resources") or {} for c in spec.get("containers") or []]
    if not any(r.get("requests") or r.get("limits") for r in resources):
        return "BestEffort"
    if all(
        r.get("limits") and r.get("requests", r.get("limits")) == r.get("limits") for r in resources
    ):
        return "Guaranteed"
    return "Burstable"


def image_id(image: str, moves: int = 0) -> str:
    """What a kubelet reports as the image it pulled: ``name@digest``. A reference pinned
    by digest pulls exactly that digest; a tag resolves to one made up from its name and
    how often the tag was moved (see ImageTags)."""
    name, at, digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    repository = name[: len(name) - len(last)] + last.split(":", 1)[0]
    if at:
        return f"{repository}@{digest}"
    return f"{repository}@sha256:{_digest(image, *(['moved'] * moves))}"


class ImageTags:
    """The registry's side of tags: a tag names one digest until someone pushes another
    image under it. Pods started after a move pull the new digest; running pods keep
    reporting the one they pulled, as a kubelet does."""

    def __init__(self) -> None:
        self.moves: dict[str, int] = {}

    def move(self, image: str) -> str:
        """Push a new image under the tag `image`; returns the digest it now names."""
        if "@" in image:
            raise ValueError(f"{image} is pinned by digest: only a tag can move")
        self.moves[image] = self.moves.get(image, 0) + 1
        return self.image_id(image).rpartition("@")[2]

    def image_id(self, image: str) -> str:
        return image_id(image, self.moves.get(image, 0))


def pod_status(
    pod: dict[str, Any],
    state: str,
    started: float,
    pod_ip: str,
    host_ip: str,
    tags: ImageTags | None = None,
) -> dict[str, Any]:
    """A kubelet-shaped status for one of the modelled pod states."""
    spec = pod.get("spec") or {}
    name = pod["metadata"]["name"]
    since = rfc3339(started)
    if state == UNSCHEDULABLE:
        # Never bound to a node: no IPs, no container statuses, only the scheduler's word.
        return {
            "phase": "Pending",
            "conditions": [
                {
                    "type": "PodScheduled",
                    "status": "False",
                    "lastProbeTime": None,
                    "lastTransitionTime": since,
                    "reason": "Unschedulable",
                    "message": NO_ROOM,
                }
            ],
            "qosClass": _qos(spec),
        }
    ready = state == RUNNING
    statuses = []
    for container in spec.get("containers") or []:
        cname, image = container.get("name", ""), container.get("image", "")
        status: dict[str, Any] = {
            "name": cname,
            "image": image,
            "imageID": (tags or ImageTags()).image_id(image),
            "containerID": f"containerd://{_digest(name, cname)}",
            "ready": ready,
            "started": ready,
            "restartCount": 0,
        }
        if state == RUNNING:
            status["state"] = {"running": {"startedAt": since}}
        elif state == PULL_FAILING:
            status["imageID"] = ""
            status.pop("containerID")
            status["state"] = {
                "waiting": {
                    "reason": "ImagePullBackOff",
                    "message": f'Back-off pulling image "{image}": ErrImagePull: '
                    + pull_error(image),
                }
            }
        elif state == CRASHING:
            status["restartCount"] = 3
            status["state"] = {
                "waiting": {
                    "reason": "CrashLoopBackOff",
                    "message": f"back-off 40s restarting failed container={cname} pod={name}",
                }
            }
            status["lastState"] = {
                "terminated": {
                    "exitCode": 1,
                    "reason": "Error",
                    "startedAt": since,
                    "finishedAt": since,
                    "containerID": status["containerID"],
                }
            }
        else:
            code = 0 if state == SUCCEEDED else 1
            status["state"] = {
                "terminated": {
                    "exitCode": code,
                    "reason": "Completed" if code == 0 else "Error",
                    "startedAt": since,
                    "finishedAt": rfc3339(),
                    "containerID": status["containerID"],
                }
            }
        statuses.append(status)
    phase = {
        RUNNING: "Running",
        CRASHING: "Running",
        PULL_FAILING: "Pending",
        SUCCEEDED: "Succeeded",
        FAILED: "Failed",
    }
    unready = [s["name"] for s in statuses if not s["ready"]]
    condition_ok = "True" if ready else "False"

    def cond(kind: str, status: str) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "type": kind,
            "status": status,
            "lastProbeTime": None,
            "lastTransitionTime": since,
        }
        if status == "False" and kind in ("Ready", "ContainersReady"):
            entry["reason"] = (
                "PodCompleted" if state in (SUCCEEDED, FAILED) else ("ContainersNotReady")
            )
            if entry["reason"] == "ContainersNotReady":
                entry["message"] = f"containers with unready status: [{' '.join(unready)}]"
        return entry

    return {
        "phase": phase[state],
        "conditions": [
            cond("PodReadyToStartContainers", "True" if state != SUCCEEDED else "False"),
            cond("Initialized", "True"),
            cond("Ready", condition_ok),
            cond("ContainersReady", condition_ok),
            cond("PodScheduled", "True"),
        ],
        "hostIP": host_ip,
        "hostIPs": [{"ip": host_ip}],
        "podIP": pod_ip,
        "podIPs": [{"ip": pod_ip}],
        "startTime": since,
        "containerStatuses": statuses,
        "qosClass": _qos(spec),
    }


def pod_from_template(
    template: dict[str, Any],
    name: str,
    namespace: str,
    owner_ref: dict[str, Any],
    extra_labels: dict[str, str],
    node: str,
) -> dict[str, Any]:
    meta = copy.deepcopy(template.get("metadata") or {})
    labels = {**(meta.get("labels") or {}), **extra_labels}
    pod_meta: dict[str, Any] = {
        "name": name,
        "namespace": namespace,
        "labels": labels,
        "ownerReferences": [owner_ref],
    }
    if meta.get("annotations"):
        pod_meta["annotations"] = meta["annotations"]
    spec = copy.deepcopy(template.get("spec") or {})
    spec["nodeName"] = node
    spec.setdefault("serviceAccountName", "default")
    spec.setdefault("serviceAccount", spec["serviceAccountName"])
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": spec}


def pod_state(pod: dict[str, Any]) -> str:
    """Which modelled state a pod is in, read back from its status."""
    status = pod.get("status") or {}
    phase = status.get("phase")
    if phase == "Succeeded":
        return SUCCEEDED
    if phase == "Failed":
        return FAILED
    if phase == "Pending" and not (pod.get("spec") or {}).get("nodeName"):
        return UNSCHEDULABLE
    for container in status.get("containerStatuses") or []:
        waiting = (container.get("state") or {}).get("waiting")
        if waiting and waiting.get("reason") in ("ImagePullBackOff", "ErrImagePull"):
            return PULL_FAILING
        if waiting and container.get("restartCount"):
            return CRASHING
    return RUNNING


def log_lines(pod: dict[str, Any], container: str) -> list[str]:
    """Deterministic log lines for one container of a pod."""
    meta = pod["metadata"]
    annotations = meta.get("annotations") or {}
    state = pod_state(pod)
    image = next(
        (
            c.get("image", "")
            for c in (pod.get("spec") or {}).get("containers") or []
            if c.get("name") == container
        ),
        "",
    )
    custom = annotations.get(LOG_LINES)
    if custom is not None:
        return [f"[{container}] {line}" for line in custom.splitlines()]
    lines = [
        f"[{container}] started image {image}",
        f"[{container}] pod {meta['name']} on node {(pod.get('spec') or {}).get('nodeName', '')}",
    ]
    if state == RUNNING:
        lines.append(f"[{container}] ready")
    elif state == CRASHING:
        lines.append(
            f"[{container}] fatal: rollout fails on purpose ({ANNOTATION_PREFIX}"
            "fail-rollout), exiting with code 1"
        )
    elif state == SUCCEEDED:
        lines.append(f"[{container}] completed")
    else:
        lines.append(
            f"[{container}] error: job fails on purpose ({ANNOTATION_PREFIX}fail), "
            "exiting with code 1"
        )
    return lines
