"""Kubernetes objects for an environment, as plain dicts ready for server-side apply.

Pure functions: they read the environment and the related objects it gives
(``environment.domains.all()``, ``.env_vars.all()``, ``.cron_schedules.all()``, its site,
client, cluster and node pool) and do no other I/O. With those selected or prefetched,
rendering issues no queries.

Output is deterministic: no timestamps or random values; variables, domains and cron
schedules in a fixed order; :func:`to_yaml` sorts mapping keys. The same environment always
renders to byte-identical YAML, so a diff of two renders is a diff of what would change.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import yaml

from sites.manifests.common import (
    MANAGED_BY,
    VARNISH_PORT,
    WEB_PORT,
    Manifest,
    environment_labels,
    require_image,
)
from sites.manifests.config import (
    config_checksum,
    configuration,
    render_configmap,
    render_secret,
)
from sites.manifests.cron import render_cronjob
from sites.manifests.network import (
    ordered_domains,
    render_ingress,
    render_network_policy,
    render_service,
)
from sites.manifests.policy import (
    render_limit_range,
    render_namespace,
    render_pod_disruption_budget,
    render_resource_quota,
    render_role_binding,
    render_service_account,
)
from sites.manifests.varnish import render_vcl_configmap
from sites.manifests.workload import render_deployment, render_hpa

if TYPE_CHECKING:
    from sites.models import Environment

__all__ = [
    "MANAGED_BY",
    "MANAGED_KINDS",
    "VARNISH_PORT",
    "WEB_PORT",
    "config_checksum",
    "environment_labels",
    "render_cronjob",
    "render_environment",
    "render_foundation",
    "render_namespace",
    "to_yaml",
]


# Every namespaced kind rendering (and the backup tools) can produce: what Hangar owns in an
# environment's namespace, and so what it may prune there.
MANAGED_KINDS: frozenset[tuple[str, str]] = frozenset(
    {
        ("rbac.authorization.k8s.io/v1", "RoleBinding"),
        ("v1", "ServiceAccount"),
        ("v1", "ResourceQuota"),
        ("v1", "LimitRange"),
        ("v1", "Secret"),
        ("v1", "ConfigMap"),
        ("v1", "Service"),
        ("networking.k8s.io/v1", "NetworkPolicy"),
        ("networking.k8s.io/v1", "Ingress"),
        ("apps/v1", "Deployment"),
        ("autoscaling/v2", "HorizontalPodAutoscaler"),
        ("policy/v1", "PodDisruptionBudget"),
        ("batch/v1", "CronJob"),
    }
)


def render_environment(
    environment: Environment, *, secret_env: Mapping[str, str] | None = None
) -> list[Manifest]:
    """All objects of an environment, in the order to apply them.

    ``secret_env`` holds the variables provisioning adds (DB_*, S3_*, SMTP_*); they go into
    the Secret ``app-env`` and win over any user variable of the same key. Objects that do not
    apply are left out (Ingress without domains, autoscaler, disruption budget, Varnish VCL);
    deleting ones that were applied before is up to the caller. Raises ValueError when the
    environment has no image.
    """
    require_image(environment)
    return _render(environment, secret_env, workload=True)


def render_foundation(
    environment: Environment, *, secret_env: Mapping[str, str] | None = None
) -> list[Manifest]:
    """The objects that need no image (namespace, policies, configuration): what an
    environment is provisioned with before its first deploy."""
    return _render(environment, secret_env, workload=False)


def _render(
    environment: Environment, secret_env: Mapping[str, str] | None, *, workload: bool
) -> list[Manifest]:
    domains = ordered_domains(environment.domains.all())
    schedules = sorted(environment.cron_schedules.all(), key=lambda schedule: schedule.name)
    secret_values, plain_values = configuration(environment, environment.env_vars.all(), secret_env)
    secret = render_secret(environment, secret_values)
    configmap = render_configmap(environment, plain_values)

    access = render_role_binding(environment)
    objects = [
        render_namespace(environment),
        *([access] if access is not None else []),
        render_service_account(environment),
        render_resource_quota(environment, cron_count=len(schedules)),
        render_limit_range(environment),
        render_network_policy(environment),
        secret,
        configmap,
    ]
    if not workload:
        return objects
    if environment.varnish_enabled:
        objects.append(render_vcl_configmap(environment))
    objects.append(
        render_deployment(environment, config_checksum=config_checksum(secret, configmap))
    )
    objects.append(render_service(environment))
    optional = (
        render_ingress(environment, domains),
        render_hpa(environment) if environment.autoscale_enabled else None,
        render_pod_disruption_budget(environment),
    )
    objects.extend(obj for obj in optional if obj is not None)
    objects.extend(render_cronjob(environment, schedule) for schedule in schedules)
    return objects


class _Dumper(yaml.SafeDumper):
    # Objects may share a dict (labels); anchors and aliases would make the output depend on
    # object identity and confuse readers of the YAML.
    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    # Multi-line values (the VCL, PEM files in variables) read best as literal blocks.
    # PyYAML falls back to a quoted style by itself where a block cannot hold the value.
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _represent_str)


def to_yaml(objects: list[Manifest]) -> str:
    """Multi-document YAML, each document starting with ``---``.

    Deterministic: mapping keys are sorted (so the output does not depend on how a dict was
    built), lists keep their order, lines are never folded, and non-ASCII text is written as
    is (UTF-8).
    """
    return yaml.dump_all(
        objects,
        Dumper=_Dumper,
        sort_keys=True,
        explicit_start=True,
        default_flow_style=False,
        allow_unicode=True,
        width=1 << 20,
    )
