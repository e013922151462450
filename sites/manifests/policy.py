"""The tenant's fences: Namespace, ServiceAccount, ResourceQuota, LimitRange and the
PodDisruptionBudget."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings

from sites.manifests.common import (
    NAME_LABEL,
    WEB,
    Manifest,
    Resources,
    cpu_quantity,
    environment_labels,
    memory_quantity,
    metadata,
    selector_labels,
)
from sites.manifests.varnish import varnish_resources
from sites.manifests.workload import max_web_pods, min_web_pods
from sites.namespaces import owner_annotations

if TYPE_CHECKING:
    from sites.models import Environment

QUOTA = "hangar"
ROLE_BINDING = "hangar"
# One-off jobs the operation engine runs besides cron: deploy hooks, backups.
EXTRA_PODS = 2


def render_namespace(environment: Environment) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": environment.namespace,
            # Whose it is: Hangar acts on no namespace without this (sites.namespaces).
            "annotations": owner_annotations(environment),
            "labels": environment_labels(environment)
            | {
                "pod-security.kubernetes.io/enforce": "restricted",
                "pod-security.kubernetes.io/enforce-version": "latest",
            },
        },
    }


def render_role_binding(environment: Environment) -> Manifest | None:
    """Hangar's own access to the namespace: the ClusterRole HANGAR_NAMESPACE_ROLE (what
    an environment is made of, docs/cluster-access.md) bound here, and only here, to
    Hangar's service account. None when that setting is empty (a cluster whose role grants
    Hangar every namespace at once)."""
    role = settings.HANGAR_NAMESPACE_ROLE
    if not role:
        return None
    account_namespace, _, account = settings.HANGAR_SERVICE_ACCOUNT.partition(":")
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": metadata(environment, ROLE_BINDING),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": account_namespace}],
    }


def render_service_account(environment: Environment) -> Manifest:
    # The site has no business with the Kubernetes API.
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": metadata(environment, WEB),
        "automountServiceAccountToken": False,
    }


def pod_resources(environment: Environment) -> Resources:
    """What one web pod asks for: the site container plus Varnish when enabled. Cron and
    one-off pods run only the site container, so they fit within this."""
    total = Resources.of_environment(environment)
    if environment.varnish_enabled:
        total += varnish_resources(environment)
    return total


def pod_cap(environment: Environment, cron_count: int) -> int:
    """Pods the namespace may hold: twice the most web pods (a rollout surges while old pods
    still terminate), one per cron schedule and two for one-off jobs."""
    return 2 * max_web_pods(environment) + cron_count + EXTRA_PODS


def render_resource_quota(environment: Environment, *, cron_count: int) -> Manifest:
    pods = pod_cap(environment, cron_count)
    total = pod_resources(environment) * pods
    return {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": metadata(environment, QUOTA),
        "spec": {
            "hard": {
                "pods": str(pods),
                "requests.cpu": cpu_quantity(total.cpu_request),
                "requests.memory": memory_quantity(total.memory_request),
                "limits.cpu": cpu_quantity(total.cpu_limit),
                "limits.memory": memory_quantity(total.memory_limit),
                # Traffic enters through the Ingress only; these would cost money or open
                # ports on the nodes.
                "services.loadbalancers": "0",
                "services.nodeports": "0",
            }
        },
    }


def render_limit_range(environment: Environment) -> Manifest:
    web = Resources.of_environment(environment)
    largest = web
    if environment.varnish_enabled:
        varnish = varnish_resources(environment)
        largest = Resources(
            cpu_request=max(web.cpu_request, varnish.cpu_request),
            cpu_limit=max(web.cpu_limit, varnish.cpu_limit),
            memory_request=max(web.memory_request, varnish.memory_request),
            memory_limit=max(web.memory_limit, varnish.memory_limit),
        )
    return {
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": metadata(environment, QUOTA),
        "spec": {
            "limits": [
                {
                    "type": "Container",
                    "default": web.limits(),
                    "defaultRequest": web.requests(),
                    # Varnish may need more memory than a small site container.
                    "max": largest.limits(),
                }
            ]
        },
    }


def render_pod_disruption_budget(environment: Environment) -> Manifest | None:
    """Keep one web pod through voluntary disruptions; None when there is only one to keep,
    since a budget that can never be met would block node drains."""
    if min_web_pods(environment) <= 1:
        return None
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": metadata(environment, WEB, labels={NAME_LABEL: WEB}),
        "spec": {
            "minAvailable": 1,
            "selector": {"matchLabels": selector_labels(environment, WEB)},
            # A crash-looping site must not hold up node upgrades.
            "unhealthyPodEvictionPolicy": "AlwaysAllow",
        },
    }
