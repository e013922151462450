"""The web Deployment, its autoscaler, and the pod pieces that cron jobs share."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sites.manifests.common import (
    CONFIGMAP_NAME,
    NAME_LABEL,
    SECRET_MOUNT_PATH,
    SECRET_NAME,
    TMP_DIR,
    WEB,
    WEB_PORT,
    Manifest,
    Resources,
    environment_labels,
    metadata,
    require_image,
    selector_labels,
)
from sites.manifests.varnish import varnish_container, varnish_volumes, vcl_checksum

if TYPE_CHECKING:
    from sites.models import Environment

CONFIG_CHECKSUM_ANNOTATION = "hangar.dev/config-checksum"
VCL_CHECKSUM_ANNOTATION = "hangar.dev/vcl-checksum"
NODE_POOL_LABEL = "doks.digitalocean.com/node-pool"


def pod_security_context() -> Manifest:
    # Pod Security Admission "restricted"; no fsGroup because the uid is the image's
    # choice and every file the pod mounts is readable by any uid (mode 0644).
    return {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}


def container_security_context() -> Manifest:
    return {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
    }


def app_volumes() -> list[Manifest]:
    return [
        # PHP writes uploads, sessions and compiled templates to the temporary directory.
        {"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}},
        {"name": SECRET_NAME, "secret": {"secretName": SECRET_NAME}},
    ]


def app_container(environment: Environment, name: str) -> Manifest:
    """A container running the site's image with its configuration: web, or a cron job."""
    return {
        "name": name,
        "image": require_image(environment),
        # The Secret comes last; no key is in both (see config.configuration).
        "envFrom": [
            {"configMapRef": {"name": CONFIGMAP_NAME}},
            {"secretRef": {"name": SECRET_NAME}},
        ],
        "resources": Resources.of_environment(environment).to_container(),
        "securityContext": container_security_context(),
        "volumeMounts": [
            {"name": "tmp", "mountPath": TMP_DIR},
            # Images in the Flight Deck style read their settings from files.
            {"name": SECRET_NAME, "mountPath": SECRET_MOUNT_PATH, "readOnly": True},
        ],
    }


def pod_spec(
    environment: Environment, containers: list[Manifest], volumes: list[Manifest]
) -> Manifest:
    spec: Manifest = {
        "serviceAccountName": WEB,
        "automountServiceAccountToken": False,
        # Service links would put WEB_PORT=tcp://... and friends into the site's environment,
        # where they clash with the site's own variables.
        "enableServiceLinks": False,
        "securityContext": pod_security_context(),
        "terminationGracePeriodSeconds": 30,
        "containers": containers,
        "volumes": volumes,
    }
    if environment.node_pool_id is not None:
        spec["nodeSelector"] = {NODE_POOL_LABEL: environment.node_pool.name}
    return spec


def _tcp_probe(**timing: int) -> Manifest:
    # Sites may answer / with a 403 or a redirect, so an open port is the health signal.
    return {"tcpSocket": {"port": "http"}, **timing}


def _pre_stop_pause() -> Manifest:
    # The ingress controller learns of a terminating pod a moment after the pod does; keep
    # serving meanwhile so no request hits a closed port.
    return {"preStop": {"exec": {"command": ["sleep", "5"]}}}


def render_deployment(environment: Environment, *, config_checksum: str) -> Manifest:
    selector = selector_labels(environment, WEB)
    web = app_container(environment, WEB)
    web["ports"] = [{"name": "http", "containerPort": WEB_PORT, "protocol": "TCP"}]
    web["startupProbe"] = _tcp_probe(periodSeconds=5, failureThreshold=30)
    web["readinessProbe"] = _tcp_probe(periodSeconds=10, failureThreshold=3)
    web["livenessProbe"] = _tcp_probe(periodSeconds=20, failureThreshold=3, timeoutSeconds=5)
    web["lifecycle"] = _pre_stop_pause()
    containers = [web]
    volumes = app_volumes()
    annotations = {CONFIG_CHECKSUM_ANNOTATION: config_checksum}
    if environment.varnish_enabled:
        containers.append(varnish_container(environment, container_security_context()))
        volumes += varnish_volumes()
        # varnishd reads its VCL once, so a new VCL must roll the pods like new settings do.
        annotations[VCL_CHECKSUM_ANNOTATION] = vcl_checksum()

    pod = pod_spec(environment, containers, volumes)
    pod["topologySpreadConstraints"] = [
        {
            "maxSkew": 1,
            "topologyKey": "kubernetes.io/hostname",
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": dict(selector)},
            # Spread each rollout's pods on their own, not counting the outgoing ones.
            "matchLabelKeys": ["pod-template-hash"],
        }
    ]
    spec: Manifest = {
        "selector": {"matchLabels": selector},
        "strategy": {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
        },
        "revisionHistoryLimit": 5,
        "progressDeadlineSeconds": 600,
        "template": {
            "metadata": {
                "labels": environment_labels(environment) | {NAME_LABEL: WEB},
                "annotations": annotations,
            },
            "spec": pod,
        },
    }
    if not environment.autoscale_enabled:
        # With an autoscaler the field is left out: server-side apply would otherwise reset
        # the autoscaler's count on every apply.
        spec["replicas"] = environment.replicas
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(environment, WEB, labels={NAME_LABEL: WEB}),
        "spec": spec,
    }


def render_hpa(environment: Environment) -> Manifest:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": metadata(environment, WEB, labels={NAME_LABEL: WEB}),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": WEB},
            "minReplicas": environment.autoscale_min,
            "maxReplicas": environment.autoscale_max,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {
                            "type": "Utilization",
                            "averageUtilization": environment.autoscale_cpu_target,
                        },
                    },
                }
            ],
        },
    }


def max_web_pods(environment: Environment) -> int:
    return environment.autoscale_max if environment.autoscale_enabled else environment.replicas


def min_web_pods(environment: Environment) -> int:
    return environment.autoscale_min if environment.autoscale_enabled else environment.replicas
