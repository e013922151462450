"""Every pod Hangar renders for a tenant runs in the restricted Pod Security profile without
the service-account token, in a namespace with a default-deny NetworkPolicy, a
ResourceQuota and a LimitRange.

tests/sites/test_manifests.py checks the web Deployment and cron CronJobs case by case
(golden files); this file adds every other pod Hangar creates — one-off command Jobs
(sites/manifests/jobs.py), backup and restore Jobs and the scheduled backup CronJob
(sites/manifests/backups.py) — and walks every pod template of every kind in one place.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import kubernetes_validate
import pytest

from sites.manifests import render_environment
from sites.manifests.backups import (
    render_backup_cronjob,
    render_backup_job,
    render_restore_job,
    render_tools_configmap,
)
from sites.manifests.jobs import render_command_job
from sites.models import SiteKind
from tests import factories as f

pytestmark = pytest.mark.django_db
KUBERNETES_VERSIONS = ("1.29", "1.30", "1.31")


def pod_templates(obj: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The pod spec(s) inside any workload object."""
    kind = obj["kind"]
    if kind == "Pod":
        yield obj["spec"]
    elif kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"):
        yield obj["spec"]["template"]["spec"]
    elif kind == "CronJob":
        yield obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]


@pytest.fixture
def everything(settings):
    """Every object Hangar renders for tenants: a Drupal site with Varnish, autoscaling, a
    domain, variables and two crons; a static site; plus every Job and the backup CronJob."""
    settings.TIME_ZONE = "UTC"
    cluster = f.ClusterFactory(slug="ams", provision_data=True)
    pool = f.NodePoolFactory(cluster=cluster, name="shared")
    drupal = f.EnvironmentFactory(
        site=f.SiteFactory(slug="www", kind=SiteKind.DRUPAL),
        cluster=cluster,
        slug="production",
        image="registry.example.com/acme/www:1.0.0",
        varnish_enabled=True,
        autoscale_enabled=True,
        autoscale_min=2,
        autoscale_max=4,
        node_pool=pool,
    )
    f.DomainFactory(environment=drupal, hostname="www.acme.example")
    f.EnvVarFactory(environment=drupal, key="API_KEY", value="k" * 20, is_secret=True)
    f.CronScheduleFactory(environment=drupal, name="drupal")
    f.CronScheduleFactory(environment=drupal, name="search", schedule="H/30 * * * *")
    static = f.EnvironmentFactory(
        site=f.SiteFactory(slug="front", kind=SiteKind.STATIC),
        cluster=cluster,
        slug="dev",
        image="registry.example.com/acme/front:1.0.0",
        varnish_enabled=False,
        replicas=1,
    )
    schedule = f.BackupScheduleFactory(environment=drupal)
    objects = [*render_environment(drupal), *render_environment(static)]
    objects += [
        render_command_job(drupal, name="task-abc", command="drush cr"),
        render_backup_job(drupal, name="backup-1", key_prefix="backups/acme/www/production/x/"),
        render_restore_job(
            drupal, name="restore-1", source_prefix="backups/x/", database_sha256="0" * 64
        ),
        render_restore_job(
            drupal,
            name="check-1",
            source_prefix="backups/x/",
            database_sha256="0" * 64,
            target_database="scratch",
        ),
        render_backup_cronjob(drupal, schedule),
        render_tools_configmap(drupal),
    ]
    return {"objects": objects, "namespaces": {drupal.namespace, static.namespace}}


def test_every_kind_of_pod_is_covered(everything):
    kinds = {
        (obj["kind"], obj["metadata"]["name"].split("-")[0])
        for obj in everything["objects"]
        if list(pod_templates(obj))
    }
    assert kinds >= {
        ("Deployment", "web"),
        ("CronJob", "cron"),
        ("CronJob", "backup"),
        ("Job", "task"),
        ("Job", "backup"),
        ("Job", "restore"),
        ("Job", "check"),
    }


def test_no_pod_gets_the_service_account_token(everything):
    for obj in everything["objects"]:
        for pod in pod_templates(obj):
            assert pod["automountServiceAccountToken"] is False, obj["metadata"]["name"]
    accounts = [o for o in everything["objects"] if o["kind"] == "ServiceAccount"]
    assert accounts and all(a["automountServiceAccountToken"] is False for a in accounts)


def test_every_pod_meets_the_restricted_profile(everything):
    for obj in everything["objects"]:
        for pod in pod_templates(obj):
            name = f"{obj['kind']}/{obj['metadata']['name']}"
            context = pod["securityContext"]
            assert context["runAsNonRoot"] is True, name
            assert context["seccompProfile"] == {"type": "RuntimeDefault"}, name
            assert context.get("runAsUser", 1) != 0, name
            for key in ("hostNetwork", "hostPID", "hostIPC", "shareProcessNamespace"):
                assert not pod.get(key), (name, key)
            for volume in pod.get("volumes", []):
                assert set(volume) - {"name"} <= {
                    "emptyDir",
                    "configMap",
                    "secret",
                    "projected",
                    "downwardAPI",
                    "persistentVolumeClaim",
                    "ephemeral",
                }, (name, volume)
            for container in pod["containers"] + pod.get("initContainers", []):
                where = f"{name}/{container['name']}"
                sc = container["securityContext"]
                assert sc["allowPrivilegeEscalation"] is False, where
                assert sc["capabilities"] == {"drop": ["ALL"]}, where
                assert sc["runAsNonRoot"] is True, where
                assert sc["readOnlyRootFilesystem"] is True, where
                assert not sc.get("privileged"), where
                assert sc.get("runAsUser", 1) != 0, where
                assert "procMount" not in sc and "seLinuxOptions" not in sc, where
                assert all("hostPort" not in p for p in container.get("ports", [])), where
                resources = container["resources"]
                assert resources["requests"] and resources["limits"], where


def test_every_namespace_is_restricted_fenced_and_bounded(everything):
    objects = everything["objects"]
    for namespace in everything["namespaces"]:
        inside = {
            (o["kind"], o["metadata"]["name"])
            for o in objects
            if o["metadata"].get("namespace") == namespace
        }
        assert ("NetworkPolicy", "default") in inside, namespace
        assert any(kind == "ResourceQuota" for kind, _ in inside), namespace
        assert any(kind == "LimitRange" for kind, _ in inside), namespace
        (ns,) = [
            o for o in objects if o["kind"] == "Namespace" and o["metadata"]["name"] == namespace
        ]
        labels = ns["metadata"]["labels"]
        assert labels["pod-security.kubernetes.io/enforce"] == "restricted", namespace
    for policy in (o for o in objects if o["kind"] == "NetworkPolicy"):
        spec = policy["spec"]
        assert spec["podSelector"] == {}, "the policy covers every pod of the namespace"
        assert "Ingress" in spec["policyTypes"]
        for rule in spec.get("ingress", []):
            for peer in rule.get("from", []):
                # Only this namespace's pods or the ingress controller's namespace: never
                # another tenant's namespace, never an address block.
                assert "ipBlock" not in peer, policy
                assert peer.get("podSelector", {}) == {}, policy
                if "namespaceSelector" in peer:
                    assert peer["namespaceSelector"] == {
                        "matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}
                    }, policy


def test_quota_caps_pods_cpu_and_memory(everything):
    for quota in (o for o in everything["objects"] if o["kind"] == "ResourceQuota"):
        hard = quota["spec"]["hard"]
        for key in ("pods", "limits.cpu", "limits.memory", "requests.cpu", "requests.memory"):
            assert key in hard, (quota["metadata"]["namespace"], key)


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_everything_validates_against_the_kubernetes_schemas(everything, version):
    for obj in everything["objects"]:
        kubernetes_validate.validate(obj, version, strict=True)
