"""Hangar's own deployment (deploy/): valid for Kubernetes 1.29-1.31, restricted pods with a
read-only root filesystem and no service-account token, probes on /healthz and /readyz,
secrets from the Secret "hangar" only, a disruption budget, migrations as a Job."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from django.test import override_settings

from deploy.render import render

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "deploy" / "base"
EXAMPLE = ROOT / "deploy" / "overlays" / "example"
KUBERNETES_VERSIONS = ("1.29", "1.30", "1.31")
SECRET_KEYS = {"SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "DATABASE_URL", "CELERY_BROKER_URL"}
OPTIONAL_SECRET_KEYS = {"CACHE_URL", "EMAIL_URL"}


@pytest.fixture(scope="module", params=["base", "example"])
def objects(request):
    return render(BASE if request.param == "base" else EXAMPLE)


def by_kind(objects, kind):
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def pods(objects):
    for obj in objects:
        if obj["kind"] in ("Deployment", "Job"):
            yield obj["metadata"]["name"], obj["spec"]["template"]["spec"]


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_object_validates_strictly(objects, version):
    for obj in objects:
        kubernetes_validate.validate(obj, version, strict=True)


def test_the_pieces_are_there(objects):
    assert set(by_kind(objects, "Deployment")) == {
        "hangar-web",
        "hangar-worker",
        "hangar-worker-periodic",
        "hangar-beat",
    }
    assert set(by_kind(objects, "Job")) == {"hangar-migrate"}
    assert set(by_kind(objects, "Service")) == {"hangar-web"}
    assert set(by_kind(objects, "Ingress")) == {"hangar-web"}
    assert set(by_kind(objects, "PodDisruptionBudget")) == {"hangar-web", "hangar-worker"}
    assert {o["metadata"].get("namespace") for o in objects if o["kind"] != "Namespace"} == {
        "hangar"
    }
    (namespace,) = by_kind(objects, "Namespace").values()
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_every_pod_is_restricted_read_only_and_tokenless(objects):
    for name, pod in pods(objects):
        assert pod["automountServiceAccountToken"] is False, name
        assert pod["serviceAccountName"] == "hangar"
        context = pod["securityContext"]
        assert context["runAsNonRoot"] is True and context["runAsUser"] == 10001, name
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}, name
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert "emptyDir" in volumes["tmp"], name
        for container in pod["containers"] + pod.get("initContainers", []):
            where = f"{name}/{container['name']}"
            sc = container["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True, where
            assert sc["allowPrivilegeEscalation"] is False, where
            assert sc["capabilities"] == {"drop": ["ALL"]}, where
            assert sc["runAsNonRoot"] is True, where
            mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
            assert mounts["/tmp"]["name"] == "tmp", where  # noqa: S108 - in the pod
            assert mounts["/run/secrets/hangar"]["readOnly"] is True, where
            resources = container["resources"]
            for key in ("cpu", "memory"):
                assert resources["requests"][key] and resources["limits"][key], (where, key)


def test_secrets_come_from_the_secret_never_from_literals(objects):
    (configmap,) = by_kind(objects, "ConfigMap").values()
    assert not {key for key in configmap["data"] if re.search("SECRET|PASSWORD|KEY|URL", key)}
    for name, pod in pods(objects):
        referenced, files = set(), set()
        for container in pod["containers"] + pod.get("initContainers", []):
            for variable in container.get("env", []):
                if "valueFrom" in variable:
                    ref = variable["valueFrom"]["secretKeyRef"]
                    assert ref["name"] == "hangar"
                    referenced.add(ref["key"])
                else:
                    assert variable["name"].endswith("_FILE"), (name, variable)
                    assert variable["value"].startswith("/run/secrets/hangar/")
                    files.add(variable["name"].removesuffix("_FILE"))
        secret_volume = next(v for v in pod["volumes"] if v["name"] == "secrets")["secret"]
        assert secret_volume["secretName"] == "hangar"
        assert {item["key"] for item in secret_volume["items"]} == files
        assert referenced | files == SECRET_KEYS | OPTIONAL_SECRET_KEYS, name
    readme = (ROOT / "deploy" / "README.md").read_text()
    for key in SECRET_KEYS | OPTIONAL_SECRET_KEYS:
        assert key in readme, f"deploy/README.md does not explain {key}"


def test_every_variable_is_a_documented_setting(objects):
    documented = (ROOT / ".env.example").read_text() + (ROOT / "Dockerfile").read_text()
    (configmap,) = by_kind(objects, "ConfigMap").values()
    names = set(configmap["data"])
    for _, pod in pods(objects):
        for container in pod["containers"]:
            names |= {v["name"].removesuffix("_FILE") for v in container.get("env", [])}
    missing = sorted(name for name in names if not re.search(rf"\b{name}=", documented))
    assert not missing, f"not in .env.example or the Dockerfile: {missing}"


def test_web_probes_disruption_budget_and_ingress(objects):
    web = by_kind(objects, "Deployment")["hangar-web"]
    assert web["spec"]["replicas"] >= 2
    (container,) = web["spec"]["template"]["spec"]["containers"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    (configmap,) = by_kind(objects, "ConfigMap").values()
    hosts = configmap["data"]["ALLOWED_HOSTS"].split(",")
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        headers = {h["name"]: h["value"] for h in container[probe]["httpGet"]["httpHeaders"]}
        assert headers["Host"] in hosts, probe
    budget = by_kind(objects, "PodDisruptionBudget")["hangar-web"]
    assert budget["spec"]["minAvailable"] == 1
    assert budget["spec"]["selector"]["matchLabels"] == web["spec"]["selector"]["matchLabels"]
    ingress = by_kind(objects, "Ingress")["hangar-web"]
    (tls,) = ingress["spec"]["tls"]
    assert tls["hosts"] == [ingress["spec"]["rules"][0]["host"]]
    assert ingress["spec"]["rules"][0]["host"] in hosts


def test_one_beat_and_migrations_first(objects):
    beat = by_kind(objects, "Deployment")["hangar-beat"]
    assert beat["spec"]["replicas"] == 1 and beat["spec"]["strategy"]["type"] == "Recreate"
    migrate = by_kind(objects, "Job")["hangar-migrate"]
    (container,) = migrate["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["python", "manage.py", "migrate", "--noinput"]
    for name, deployment in by_kind(objects, "Deployment").items():
        (init,) = deployment["spec"]["template"]["spec"]["initContainers"]
        assert init["command"][:4] == ["python", "manage.py", "migrate", "--check"], name


def test_only_the_ingress_controller_reaches_the_pods(objects):
    policies = by_kind(objects, "NetworkPolicy")
    deny = policies["hangar-default-deny"]["spec"]
    assert deny["podSelector"] == {} and deny["policyTypes"] == ["Ingress"]
    assert "ingress" not in deny
    web = policies["hangar-web-from-ingress"]["spec"]
    (rule,) = web["ingress"]
    assert rule["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}
    ]


def test_images_are_set_by_the_kustomization(objects):
    images = {
        container["image"]
        for _, pod in pods(objects)
        for container in pod["containers"] + pod.get("initContainers", [])
    }
    assert images == {"registry.example.com/agency/hangar:0.1.0"}


@pytest.mark.django_db
def test_the_probes_pass_with_the_configmaps_hosts(client):
    (configmap,) = by_kind(render(BASE), "ConfigMap").values()
    hosts = configmap["data"]["ALLOWED_HOSTS"].split(",")
    with override_settings(ALLOWED_HOSTS=hosts, SECURE_SSL_REDIRECT=True):
        assert client.get("/healthz", HTTP_HOST="localhost").status_code == 200
        assert client.get("/readyz", HTTP_HOST="localhost").status_code == 200
        assert client.get("/healthz", HTTP_HOST="10.0.0.7:8000").status_code == 400


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
@pytest.mark.parametrize("directory", [BASE, EXAMPLE], ids=["base", "example"])
def test_render_py_agrees_with_kubectl_kustomize(directory):
    result = subprocess.run(  # noqa: S603
        ["kubectl", "kustomize", str(directory)],  # noqa: S607
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0 and "unknown command" in result.stderr:
        pytest.skip("this kubectl has no kustomize")
    assert result.returncode == 0, result.stderr

    def key(obj):
        return (obj["kind"], obj["metadata"]["name"])

    theirs = {key(o): o for o in yaml.safe_load_all(result.stdout) if o}
    ours = {key(o): o for o in render(directory)}
    assert theirs == ours


def _queues(command: list[str]) -> list[str]:
    found = [arg.split("=", 1)[1] for arg in command if arg.startswith("--queues=")]
    return found[0].split(",") if found else []


def test_operations_have_workers_of_their_own_and_every_queue_a_consumer(objects, settings):
    """Periodic passes and webhooks never hold an operation's slot (issue 14): in the
    Kubernetes deployment and in compose.yaml, one worker consumes the operations' queues
    (retries first) and only those, another the rest, and no queue is left unconsumed."""
    deployments = by_kind(objects, "Deployment")
    kube = {
        name: _queues(deployments[name]["spec"]["template"]["spec"]["containers"][0]["command"])
        for name in ("hangar-worker", "hangar-worker-periodic")
    }
    services = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]
    compose = {name: _queues(services[name]["command"]) for name in ("worker", "worker-periodic")}
    for operations, periodic in (kube.values(), compose.values()):
        assert operations == ["operation-retries", "operations"]
        assert set(periodic) == {"periodic", "webhooks"}
        assert sorted(operations + periodic) == sorted(settings.HANGAR_QUEUES)
