"""Tests for sites.manifests: golden files, schema validation and the rules of the design.

Golden files live in tests/sites/golden/. After an intended change, regenerate them with
``UPDATE_GOLDEN=1 .venv/bin/pytest tests/sites/test_manifests.py`` and review the diff.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from clusters.models import Cluster, NodePool
from controlpanel.core.models import Client
from sites.manifests import (
    MANAGED_BY,
    VARNISH_PORT,
    WEB_PORT,
    config_checksum,
    environment_labels,
    render_cronjob,
    render_environment,
    render_namespace,
    to_yaml,
)
from sites.models import Environment, SiteKind, Tier
from sites.namespaces import OWNER_ANNOTATION
from tests import factories as f

GOLDEN = Path(__file__).parent / "golden"
KUBERNETES_VERSIONS = ("1.29", "1.30", "1.31")
VARNISH_IMAGE = "docker.io/library/varnish:7.6"
CHECKSUM = "hangar.dev/config-checksum"
TMP = "/tmp"  # noqa: S108 - a path inside the container, not on this machine

APPLY_ORDER = [
    "Namespace",
    # Hangar's own access to the namespace comes before anything else in it.
    "RoleBinding",
    "ServiceAccount",
    "ResourceQuota",
    "LimitRange",
    "NetworkPolicy",
    "Secret",
    "ConfigMap",
    "ConfigMap",
    "Deployment",
    "Service",
    "Ingress",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
    "CronJob",
]


@pytest.fixture(autouse=True)
def _pinned_settings(settings):
    # The golden files must not depend on the machine's TIME_ZONE or VARNISH_IMAGE.
    settings.TIME_ZONE = "UTC"
    settings.VARNISH_IMAGE = VARNISH_IMAGE


# --------------------------------------------------------------------------------------------
# Cases: each builds one environment with fixed slugs, salt and values.
# --------------------------------------------------------------------------------------------


def _client(slug: str) -> Client:
    return Client.objects.filter(slug=slug).first() or f.ClientFactory(slug=slug, name=slug.title())


def _cluster() -> Cluster:
    return Cluster.objects.filter(slug="ams").first() or f.ClusterFactory(
        slug="ams",
        name="Amsterdam",
        ingress_class="nginx",
        ingress_namespace="ingress-nginx",
        cert_manager_issuer="letsencrypt-prod",
    )


def _pool(name: str) -> NodePool:
    cluster = _cluster()
    return NodePool.objects.filter(cluster=cluster, name=name).first() or f.NodePoolFactory(
        cluster=cluster, name=name
    )


def _environment(client: str, site: str, kind: str, env: str, **fields: Any) -> Environment:
    site_obj = f.SiteFactory(client=_client(client), slug=site, name=site.title(), kind=kind)
    fields.setdefault("hash_salt", f"fixed-salt-for-{client}-{site}-{env}")
    fields.setdefault("image", f"registry.example.com/{client}/{site}:1.0.0")
    return f.EnvironmentFactory(
        site=site_obj, cluster=_cluster(), slug=env, name=env.title(), **fields
    )


Case = tuple[Environment, dict[str, str] | None]


def drupal_varnish_autoscale() -> Case:
    environment = _environment(
        "acme",
        "www",
        SiteKind.DRUPAL,
        "production",
        tier=Tier.PRODUCTION,
        image="registry.example.com/acme/www:2.4.1",
        autoscale_enabled=True,
        autoscale_min=2,
        autoscale_max=5,
        autoscale_cpu_target=65,
        cpu_request="500m",
        cpu_limit="2",
        memory_request="512Mi",
        memory_limit="1Gi",
        varnish_enabled=True,
        node_pool=_pool("web-pool"),
    )
    f.DomainFactory(environment=environment, hostname="www.acme.test", is_primary=True)
    f.DomainFactory(environment=environment, hostname="acme.test")
    f.DomainFactory(environment=environment, hostname="legacy.acme.test", tls_enabled=False)
    f.EnvVarFactory(environment=environment, key="DRUPAL_TRUSTED_HOSTS", value=r"^www\.acme\.test$")
    f.EnvVarFactory(environment=environment, key="ROBOTS_EXTRA", value="Disallow: /admin\n")
    f.EnvVarFactory(environment=environment, key="API_TOKEN", value="s3cr3t", is_secret=True)
    f.CronScheduleFactory(
        environment=environment, name="drush", schedule="H/15 * * * *", command="drush cron"
    )
    f.CronScheduleFactory(
        environment=environment,
        name="nightly",
        schedule="H H(1-4) * * *",
        command="drush php:script scripts/nightly.php",
        timeout_seconds=7200,
    )
    secret_env = {
        "DB_HOST": "db.example.test",
        "DB_NAME": "acme_www_production",
        "DB_PASSWORD": "fixed-db-password",
        "DB_USER": "acme_www_production",
    }
    return environment, secret_env


def wordpress_three_replicas() -> Case:
    environment = _environment(
        "globex", "blog", SiteKind.WORDPRESS, "staging", tier=Tier.STAGING, replicas=3
    )
    f.DomainFactory(environment=environment, hostname="news.globex.test", tls_enabled=False)
    f.DomainFactory(
        environment=environment, hostname="blog.globex.test", is_primary=True, tls_enabled=False
    )
    f.EnvVarFactory(environment=environment, key="WP_ENVIRONMENT_TYPE", value="staging")
    f.EnvVarFactory(environment=environment, key="AUTH_KEY", value="wp-auth-key", is_secret=True)
    f.CronScheduleFactory(
        environment=environment,
        name="wp-cron",
        schedule="*/5 * * * *",
        command="wp cron event run --due-now",
    )
    return environment, None


def php_single_replica() -> Case:
    environment = _environment(
        "acme", "tools", SiteKind.PHP, "dev", tier=Tier.DEVELOPMENT, replicas=1
    )
    f.EnvVarFactory(environment=environment, key="APP_DEBUG", value="1")
    f.CronScheduleFactory(
        environment=environment,
        name="report",
        schedule="30 H * * 1",
        command="php bin/report.php --weekly",
        suspended=True,
    )
    return environment, None


def static_node_pool() -> Case:
    environment = _environment(
        "initech",
        "docs",
        SiteKind.STATIC,
        "production",
        replicas=2,
        cpu_request="50m",
        cpu_limit="200m",
        memory_request="32Mi",
        memory_limit="64Mi",
        node_pool=_pool("static-pool"),
    )
    f.DomainFactory(environment=environment, hostname="docs.initech.test", is_primary=True)
    return environment, None


def drupal_varnish_small() -> Case:
    # A small memory limit in decimal units: the cache stays at its 64M floor, the Varnish
    # limit exceeds the site's, and quantities that are not whole MiB round up to one.
    environment = _environment(
        "acme",
        "intranet",
        SiteKind.DRUPAL,
        "production",
        replicas=1,
        memory_request="100M",
        memory_limit="200M",
        varnish_enabled=True,
    )
    f.DomainFactory(environment=environment, hostname="intranet.acme.test", is_primary=True)
    return environment, None


CASES: dict[str, Callable[[], Case]] = {
    "drupal-varnish-autoscale": drupal_varnish_autoscale,
    "drupal-varnish-small": drupal_varnish_small,
    "php-single-replica": php_single_replica,
    "static-node-pool": static_node_pool,
    "wordpress-three-replicas": wordpress_three_replicas,
}


def render(case: str) -> list[dict[str, Any]]:
    environment, secret_env = CASES[case]()
    return render_environment(environment, secret_env=secret_env)


def by_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [obj for obj in objects if obj["kind"] == kind]


def one(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    found = [obj for obj in by_kind(objects, kind) if name in (None, obj["metadata"]["name"])]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def pod_specs(objects: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    for obj in objects:
        if obj["kind"] == "Deployment":
            yield obj["metadata"]["name"], obj["spec"]["template"]["spec"]
        elif obj["kind"] == "CronJob":
            yield obj["metadata"]["name"], obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]


# --------------------------------------------------------------------------------------------
# Golden files and schemas
# --------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case):
    environment, secret_env = CASES[case]()
    objects = render_environment(environment, secret_env=secret_env)
    # The owner annotation carries the environment's database id, which depends on what
    # ran before: checked here, and written as a placeholder in the golden files.
    for obj in objects:
        annotations = obj["metadata"].get("annotations") or {}
        if OWNER_ANNOTATION in annotations:
            assert annotations[OWNER_ANNOTATION] == str(environment.pk)
            annotations[OWNER_ANNOTATION] = "ENVIRONMENT_ID"
    rendered = to_yaml(objects)
    path = GOLDEN / f"{case}.yaml"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rendered, encoding="utf-8")
        pytest.skip(f"wrote {path.name}")
    assert path.exists(), f"{path.name} is missing; run with UPDATE_GOLDEN=1 to write it"
    assert rendered == path.read_text(encoding="utf-8"), (
        f"{path.name} differs; if the change is intended, rerun with UPDATE_GOLDEN=1 and review"
    )


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden_files_validate_strictly_against_kubernetes_schemas(case):
    # Reads the committed files, so the YAML that reviewers see is what is validated.
    documents = list(yaml.safe_load_all((GOLDEN / f"{case}.yaml").read_text(encoding="utf-8")))
    assert documents
    for version in KUBERNETES_VERSIONS:
        for document in documents:
            try:
                validated = kubernetes_validate.validate(document, version, strict=True)
            except kubernetes_validate.ValidationError as exc:
                path = ".".join(str(part) for part in exc.path)
                name = f"{document['kind']}/{document['metadata']['name']}"
                pytest.fail(f"{case}: {name} invalid for {version} at {path}: {exc.message}")
            assert validated == version


def test_strict_validation_rejects_unknown_fields():
    # Guards the schema test itself: strict mode must fail on a misspelt field.
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web"},
        "spec": {"ports": [{"port": 80, "targetport": "http"}]},
    }
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(service, "1.30", strict=True)


@pytest.mark.django_db
@pytest.mark.parametrize("case", sorted(CASES))
def test_objects_come_in_apply_order(case):
    kinds = [obj["kind"] for obj in render(case)]
    positions = [APPLY_ORDER.index(kind) for kind in kinds]
    assert positions == sorted(positions)
    assert kinds[:8] == APPLY_ORDER[:8]


# --------------------------------------------------------------------------------------------
# Determinism and the configuration checksum
# --------------------------------------------------------------------------------------------


def checksum_of(objects: list[dict[str, Any]]) -> str:
    return one(objects, "Deployment")["spec"]["template"]["metadata"]["annotations"][CHECKSUM]


@pytest.mark.django_db
def test_rendering_twice_is_byte_identical():
    environment, secret_env = drupal_varnish_autoscale()
    first = to_yaml(render_environment(environment, secret_env=secret_env))
    refetched = Environment.objects.get(pk=environment.pk)
    assert to_yaml(render_environment(refetched, secret_env=dict(secret_env))) == first


@pytest.mark.django_db
def test_yaml_round_trips_without_anchors():
    objects = render("drupal-varnish-autoscale")
    text = to_yaml(objects)
    assert list(yaml.safe_load_all(text)) == objects
    assert "&id" not in text and "*id" not in text
    assert text.count("\n---\n") == len(objects) - 1 and text.startswith("---\n")


@pytest.mark.django_db
def test_changing_a_variable_changes_the_checksum():
    environment, secret_env = drupal_varnish_autoscale()
    before = checksum_of(render_environment(environment, secret_env=secret_env))
    assert before == checksum_of(render_environment(environment, secret_env=secret_env))

    variable = environment.env_vars.get(key="DRUPAL_TRUSTED_HOSTS")
    variable.value = r"^acme\.test$"
    variable.save()
    after_plain = checksum_of(render_environment(environment, secret_env=secret_env))
    assert after_plain != before

    secret = environment.env_vars.get(key="API_TOKEN")
    secret.value = "rotated"
    secret.save()
    after_secret = checksum_of(render_environment(environment, secret_env=secret_env))
    assert after_secret not in (before, after_plain)

    provisioned = secret_env | {"DB_PASSWORD": "rotated-db-password"}
    assert checksum_of(render_environment(environment, secret_env=provisioned)) != after_secret


@pytest.mark.django_db
def test_checksum_is_sha256_of_both_data_maps():
    objects = render("php-single-replica")
    secret, configmap = one(objects, "Secret", "app-env"), one(objects, "ConfigMap", "app-config")
    checksum = config_checksum(secret, configmap)
    assert checksum == checksum_of(objects)
    assert len(checksum) == 64 and int(checksum, 16) >= 0
    assert config_checksum(secret, {**configmap, "data": {}}) != checksum


@pytest.mark.django_db
def test_rendering_after_prefetch_issues_no_queries(django_assert_num_queries):
    environment, secret_env = drupal_varnish_autoscale()
    loaded = (
        Environment.objects.select_related("site__client", "cluster", "node_pool")
        .prefetch_related("domains", "env_vars", "cron_schedules")
        .get(pk=environment.pk)
    )
    with django_assert_num_queries(0):
        render_environment(loaded, secret_env=secret_env)


# --------------------------------------------------------------------------------------------
# Labels, namespace, configuration
# --------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_every_object_carries_the_environment_labels_and_namespace():
    environment, secret_env = drupal_varnish_autoscale()
    labels = environment_labels(environment)
    assert labels == MANAGED_BY | {
        "app.kubernetes.io/part-of": "www",
        "hangar.dev/client": "acme",
        "hangar.dev/site": "www",
        "hangar.dev/environment": "production",
    }
    for obj in render_environment(environment, secret_env=secret_env):
        assert obj["metadata"]["labels"].items() >= labels.items(), obj["kind"]
        if obj["kind"] != "Namespace":
            assert obj["metadata"]["namespace"] == "acme-www-production", obj["kind"]


@pytest.mark.django_db
def test_namespace_enforces_the_restricted_pod_security_standard():
    environment, _ = php_single_replica()
    namespace = render_namespace(environment)
    assert namespace["metadata"]["name"] == environment.namespace == "acme-tools-dev"
    assert "namespace" not in namespace["metadata"]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce-version"] == (
        "latest"
    )


@pytest.mark.django_db
def test_secret_and_configmap_split_the_variables():
    objects = render("drupal-varnish-autoscale")
    secret = one(objects, "Secret", "app-env")
    data = {key: base64.b64decode(value).decode() for key, value in secret["data"].items()}
    assert secret["type"] == "Opaque" and "stringData" not in secret
    assert data == {
        "API_TOKEN": "s3cr3t",
        "DB_HOST": "db.example.test",
        "DB_NAME": "acme_www_production",
        "DB_PASSWORD": "fixed-db-password",
        "DB_USER": "acme_www_production",
        "HASH_SALT": "fixed-salt-for-acme-www-production",
    }
    assert one(objects, "ConfigMap", "app-config")["data"] == {
        "DRUPAL_TRUSTED_HOSTS": r"^www\.acme\.test$",
        "ROBOTS_EXTRA": "Disallow: /admin\n",
        "SITE_ENVIRONMENT": "production",
        "SITE_TIER": "production",
    }


@pytest.mark.django_db
def test_hangar_variables_win_and_each_key_has_one_source():
    environment, _ = php_single_replica()
    # SITE_TIER is not a reserved key, so a user may have stored one.
    f.EnvVarFactory(environment=environment, key="SITE_TIER", value="custom")
    f.EnvVarFactory(environment=environment, key="SMTP_HOST", value="user.example.test")
    objects = render_environment(environment, secret_env={"SMTP_HOST": "smtp.example.test"})
    secret = one(objects, "Secret", "app-env")["data"]
    plain = one(objects, "ConfigMap", "app-config")["data"]
    assert plain["SITE_TIER"] == "development"
    assert base64.b64decode(secret["SMTP_HOST"]).decode() == "smtp.example.test"
    assert "SMTP_HOST" not in plain
    assert not set(secret) & set(plain)


@pytest.mark.django_db
def test_containers_read_the_configuration_as_variables_and_files():
    objects = render("drupal-varnish-autoscale")
    for name, pod in pod_specs(objects):
        app = pod["containers"][0]
        assert app["envFrom"] == [
            {"configMapRef": {"name": "app-config"}},
            {"secretRef": {"name": "app-env"}},
        ], name
        assert {"name": "app-env", "mountPath": "/config/app-env", "readOnly": True} in app[
            "volumeMounts"
        ]
        assert {"name": "app-env", "secret": {"secretName": "app-env"}} in pod["volumes"]


# --------------------------------------------------------------------------------------------
# Pods: security, scheduling, replicas
# --------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("case", sorted(CASES))
def test_every_pod_meets_the_restricted_profile(case):
    objects = render(case)
    specs = list(pod_specs(objects))
    assert specs
    for name, pod in specs:
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert pod["serviceAccountName"] == "web"
        assert pod["automountServiceAccountToken"] is False
        for key in ("hostNetwork", "hostPID", "hostIPC"):
            assert not pod.get(key), (name, key)
        assert all("hostPath" not in volume for volume in pod["volumes"]), name
        for container in pod["containers"]:
            context = container["securityContext"]
            where = f"{name}/{container['name']}"
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["capabilities"] == {"drop": ["ALL"]}, where
            assert context["runAsNonRoot"] is True, where
            assert context["readOnlyRootFilesystem"] is True, where
            assert not context.get("privileged"), where
            assert context.get("runAsUser", 1) != 0, where
            assert all("hostPort" not in port for port in container.get("ports", [])), where
            assert any(mount["mountPath"] == TMP for mount in container["volumeMounts"])


@pytest.mark.django_db
def test_web_deployment():
    objects = render("wordpress-three-replicas")
    deployment = one(objects, "Deployment", "web")
    spec = deployment["spec"]
    pod = spec["template"]["spec"]
    (web,) = pod["containers"]
    assert spec["replicas"] == 3
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
    }
    assert spec["revisionHistoryLimit"] == 5 and spec["progressDeadlineSeconds"] == 600
    assert spec["selector"]["matchLabels"] == {
        "hangar.dev/client": "globex",
        "hangar.dev/site": "blog",
        "hangar.dev/environment": "staging",
        "app.kubernetes.io/name": "web",
    }
    assert spec["template"]["metadata"]["labels"].items() >= spec["selector"]["matchLabels"].items()
    assert web["image"] == "registry.example.com/globex/blog:1.0.0"
    assert web["ports"] == [{"name": "http", "containerPort": WEB_PORT, "protocol": "TCP"}]
    assert web["resources"] == {
        "requests": {"cpu": "250m", "memory": "256Mi"},
        "limits": {"cpu": "1", "memory": "512Mi"},
    }
    assert web["startupProbe"] == {
        "tcpSocket": {"port": "http"},
        "periodSeconds": 5,
        "failureThreshold": 30,
    }
    for probe in ("readinessProbe", "livenessProbe"):
        assert "tcpSocket" in web[probe] and "httpGet" not in web[probe]
    assert pod["terminationGracePeriodSeconds"] == 30
    assert "nodeSelector" not in pod
    (spread,) = pod["topologySpreadConstraints"]
    assert spread["topologyKey"] == "kubernetes.io/hostname"
    assert spread["whenUnsatisfiable"] == "ScheduleAnyway"
    assert spread["labelSelector"]["matchLabels"] == spec["selector"]["matchLabels"]


@pytest.mark.django_db
def test_autoscaled_deployment_leaves_replicas_to_the_autoscaler():
    objects = render("drupal-varnish-autoscale")
    assert "replicas" not in one(objects, "Deployment")["spec"]
    hpa = one(objects, "HorizontalPodAutoscaler", "web")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "web",
    }
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 5)
    assert hpa["spec"]["metrics"][0]["resource"]["target"] == {
        "type": "Utilization",
        "averageUtilization": 65,
    }


@pytest.mark.django_db
def test_no_autoscaler_without_autoscaling():
    assert not by_kind(render("wordpress-three-replicas"), "HorizontalPodAutoscaler")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"replicas": 1}, False),
        ({"replicas": 0}, False),
        ({"replicas": 2}, True),
        ({"autoscale_enabled": True, "autoscale_min": 1, "autoscale_max": 4}, False),
        ({"autoscale_enabled": True, "autoscale_min": 2, "autoscale_max": 4}, True),
    ],
)
def test_disruption_budget_only_when_a_pod_can_be_kept(fields, expected):
    environment = _environment("acme", "www", SiteKind.PHP, "production", **fields)
    budgets = by_kind(render_environment(environment), "PodDisruptionBudget")
    assert bool(budgets) is expected
    if budgets:
        assert budgets[0]["spec"]["minAvailable"] == 1
        selector = one(render_environment(environment), "Deployment")["spec"]["selector"]
        assert budgets[0]["spec"]["selector"] == selector


@pytest.mark.django_db
def test_node_pool_selects_nodes():
    pod = one(render("static-node-pool"), "Deployment")["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"doks.digitalocean.com/node-pool": "static-pool"}
    for _, cron_pod in pod_specs(render("drupal-varnish-autoscale")):
        assert cron_pod["nodeSelector"] == {"doks.digitalocean.com/node-pool": "web-pool"}


@pytest.mark.django_db
def test_no_image_no_manifests():
    environment, _ = php_single_replica()
    environment.image = ""
    with pytest.raises(ValueError, match="no image"):
        render_environment(environment)
    with pytest.raises(ValueError, match="no image"):
        render_cronjob(environment, environment.cron_schedules.get())


# --------------------------------------------------------------------------------------------
# Varnish and traffic
# --------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_varnish_sidecar():
    objects = render("drupal-varnish-autoscale")
    pod = one(objects, "Deployment")["spec"]["template"]["spec"]
    web, varnish = pod["containers"]
    assert (web["name"], varnish["name"]) == ("web", "varnish")
    assert varnish["image"] == VARNISH_IMAGE
    assert varnish["command"] == ["varnishd"]
    # A quarter of the 1Gi memory limit.
    assert varnish["args"] == [
        "-F",
        "-f",
        "/etc/varnish/default.vcl",
        "-a",
        f":{VARNISH_PORT}",
        "-s",
        "malloc,256M",
    ]
    assert varnish["ports"] == [{"name": "cache", "containerPort": VARNISH_PORT, "protocol": "TCP"}]
    assert varnish["resources"] == {
        "requests": {"cpu": "50m", "memory": "128Mi"},
        "limits": {"cpu": "500m", "memory": "384Mi"},
    }
    mounts = {mount["mountPath"]: mount for mount in varnish["volumeMounts"]}
    assert mounts["/etc/varnish"]["readOnly"] is True
    assert {"/var/lib/varnish", TMP} <= set(mounts)
    vcl = one(objects, "ConfigMap", "varnish-vcl")["data"]["default.vcl"]
    assert vcl.startswith("vcl 4.1;\n")
    assert '.host = "127.0.0.1";' in vcl and f'.port = "{WEB_PORT}";' in vcl
    for fragment in ('req.method == "POST"', "S?SESS", "wordpress_logged_in_", "/varnish-health"):
        assert fragment in vcl
    assert one(objects, "Service", "web")["spec"]["ports"][0]["targetPort"] == "cache"


@pytest.mark.django_db
def test_varnish_cache_has_a_floor_and_its_limit_fits_the_limit_range():
    objects = render("drupal-varnish-small")
    varnish = one(objects, "Deployment")["spec"]["template"]["spec"]["containers"][1]
    assert varnish["args"][-1] == "malloc,64M"
    limit_range = one(objects, "LimitRange", "hangar")["spec"]["limits"][0]
    # 200M is 190.7Mi; rounding up never gives the site less than asked.
    assert limit_range["default"] == {"cpu": "1", "memory": "191Mi"}
    assert limit_range["defaultRequest"] == {"cpu": "250m", "memory": "96Mi"}
    assert limit_range["max"] == {"cpu": "1", "memory": "256Mi"}
    # 1 replica x 2 + 0 crons + 2 = 4 pods of (250m + 50m, 96Mi + 128Mi) requests and
    # (1 + 500m, 191Mi + 256Mi) limits.
    hard = one(objects, "ResourceQuota")["spec"]["hard"]
    assert (
        hard.items()
        >= {
            "pods": "4",
            "requests.cpu": "1200m",
            "requests.memory": "896Mi",
            "limits.cpu": "6",
            "limits.memory": "1788Mi",
        }.items()
    )


@pytest.mark.django_db
def test_without_varnish_the_service_targets_the_site():
    objects = render("wordpress-three-replicas")
    assert not by_kind(objects, "ConfigMap")[1:]
    (web,) = one(objects, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert web["name"] == "web"
    service = one(objects, "Service", "web")
    assert service["spec"]["type"] == "ClusterIP"
    assert service["spec"]["ports"] == [
        {"name": "http", "port": 80, "protocol": "TCP", "targetPort": "http"}
    ]
    assert (
        service["spec"]["selector"] == one(objects, "Deployment")["spec"]["selector"]["matchLabels"]
    )


@pytest.mark.django_db
def test_ingress_lists_domains_primary_first_with_tls_where_enabled():
    ingress = one(render("drupal-varnish-autoscale"), "Ingress", "web")
    assert ingress["metadata"]["annotations"] == {
        "cert-manager.io/cluster-issuer": "letsencrypt-prod"
    }
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert [rule["host"] for rule in ingress["spec"]["rules"]] == [
        "www.acme.test",
        "acme.test",
        "legacy.acme.test",
    ]
    assert ingress["spec"]["rules"][0]["http"]["paths"] == [
        {
            "path": "/",
            "pathType": "Prefix",
            "backend": {"service": {"name": "web", "port": {"number": 80}}},
        }
    ]
    assert ingress["spec"]["tls"] == [
        {"hosts": ["www.acme.test", "acme.test"], "secretName": "web-tls"}
    ]


@pytest.mark.django_db
def test_ingress_without_tls_asks_no_certificate():
    ingress = one(render("wordpress-three-replicas"), "Ingress", "web")
    assert "annotations" not in ingress["metadata"]
    assert "tls" not in ingress["spec"]
    assert [rule["host"] for rule in ingress["spec"]["rules"]] == [
        "blog.globex.test",
        "news.globex.test",
    ]


@pytest.mark.django_db
def test_no_ingress_without_domains():
    assert not by_kind(render("php-single-replica"), "Ingress")


@pytest.mark.django_db
def test_network_policy_admits_the_namespace_and_the_ingress_controller():
    policy = one(render("php-single-replica"), "NetworkPolicy", "default")
    assert policy["spec"] == {
        "podSelector": {},
        "policyTypes": ["Ingress"],
        "ingress": [
            {
                "from": [
                    {"podSelector": {}},
                    {
                        "namespaceSelector": {
                            "matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}
                        }
                    },
                ]
            }
        ],
    }


# --------------------------------------------------------------------------------------------
# Quota and limits
# --------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_quota_for_a_single_replica_site():
    # 1 replica x 2 + 1 cron + 2 one-off = 5 pods of 250m/1 CPU and 256Mi/512Mi each.
    quota = one(render("php-single-replica"), "ResourceQuota", "hangar")
    assert quota["spec"]["hard"] == {
        "pods": "5",
        "requests.cpu": "1250m",
        "requests.memory": "1280Mi",
        "limits.cpu": "5",
        "limits.memory": "2560Mi",
        "services.loadbalancers": "0",
        "services.nodeports": "0",
    }


@pytest.mark.django_db
def test_quota_counts_autoscale_maximum_crons_and_varnish():
    # 5 max x 2 + 2 crons + 2 = 14 pods; per pod web 500m/2, 512Mi/1Gi plus Varnish
    # 50m/500m, 128Mi/384Mi.
    objects = render("drupal-varnish-autoscale")
    hard = one(objects, "ResourceQuota", "hangar")["spec"]["hard"]
    assert hard["pods"] == "14"
    assert hard["requests.cpu"] == f"{14 * 550}m"
    assert hard["limits.cpu"] == "35"
    assert hard["requests.memory"] == f"{14 * 640}Mi"
    assert hard["limits.memory"] == f"{14 * 1408}Mi"
    limit_range = one(objects, "LimitRange", "hangar")["spec"]["limits"][0]
    assert limit_range == {
        "type": "Container",
        "default": {"cpu": "2", "memory": "1024Mi"},
        "defaultRequest": {"cpu": "500m", "memory": "512Mi"},
        "max": {"cpu": "2", "memory": "1024Mi"},
    }


# --------------------------------------------------------------------------------------------
# Cron jobs
# --------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_cronjobs_one_per_schedule_in_name_order():
    environment, secret_env = drupal_varnish_autoscale()
    objects = render_environment(environment, secret_env=secret_env)
    cronjobs = by_kind(objects, "CronJob")
    assert [job["metadata"]["name"] for job in cronjobs] == ["cron-drush", "cron-nightly"]
    nightly = environment.cron_schedules.get(name="nightly")
    assert cronjobs[1] == render_cronjob(environment, nightly)
    spec = cronjobs[1]["spec"]
    assert "H" not in spec["schedule"]
    assert spec["schedule"] == nightly.resolved_schedule
    assert spec["timeZone"] == "UTC"
    assert spec["suspend"] is False
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["startingDeadlineSeconds"] == 300
    assert (spec["successfulJobsHistoryLimit"], spec["failedJobsHistoryLimit"]) == (1, 1)
    job = spec["jobTemplate"]["spec"]
    assert job["backoffLimit"] == 0
    assert job["activeDeadlineSeconds"] == 7200
    assert job["ttlSecondsAfterFinished"] == 3600
    pod = job["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    (container,) = pod["containers"]
    web = one(objects, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert container["name"] == "cron"
    assert container["command"] == ["/bin/sh", "-c", "drush php:script scripts/nightly.php"]
    for key in ("image", "envFrom", "volumeMounts", "securityContext", "resources"):
        assert container[key] == web[key], key


@pytest.mark.django_db
def test_cron_pods_stay_out_of_the_web_selector():
    objects = render("drupal-varnish-autoscale")
    selector = one(objects, "Deployment")["spec"]["selector"]["matchLabels"]
    for job in by_kind(objects, "CronJob"):
        labels = job["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
        assert labels["hangar.dev/cron"] == job["metadata"]["name"].removeprefix("cron-")
        assert labels["app.kubernetes.io/name"] == "cron"
        assert not labels.items() >= selector.items()
        assert job["metadata"]["labels"]["hangar.dev/cron"] == labels["hangar.dev/cron"]


@pytest.mark.django_db
def test_suspended_schedule_renders_suspended():
    (cronjob,) = by_kind(render("php-single-replica"), "CronJob")
    assert cronjob["metadata"]["name"] == "cron-report"
    assert cronjob["spec"]["suspend"] is True


@pytest.mark.django_db
def test_provisioned_values_are_strings_and_keys_must_suit_a_secret():
    environment, _ = php_single_replica()
    objects = render_environment(environment, secret_env={"DB_PORT": 3306})  # type: ignore[dict-item]
    assert base64.b64decode(one(objects, "Secret")["data"]["DB_PORT"]) == b"3306"
    with pytest.raises(ValueError, match="cannot be a key"):
        render_environment(environment, secret_env={"DB PORT": "3306"})
