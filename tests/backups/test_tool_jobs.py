"""The sandbox's opt-in to run tool Jobs as local processes, and the tool manifests."""

from __future__ import annotations

import base64

import kubernetes_validate
import pytest

from clusters.sandbox import SandboxCluster
from sites.manifests.backups import (
    render_backup_cronjob,
    render_backup_job,
    render_restore_job,
    render_tools_configmap,
)
from tests import factories as f

SCRIPT = 'echo "A=$A B=$B C=$C in $(pwd)"; echo to-stderr >&2; exit "${CODE:-0}"\n'


def tool_job(name: str, *, code: str = "0", tool: bool = True, deadline: int | None = None):
    labels = {"hangar.dev/tool": "true"} if tool else {}
    spec = {
        "backoffLimit": 0,
        "template": {
            "spec": {
                "restartPolicy": "Never",
                "containers": [
                    {
                        "name": "tool",
                        "image": "toolbox:1",
                        "command": ["/bin/sh", "/scripts/run.sh"],
                        "envFrom": [
                            {"configMapRef": {"name": "plain"}},
                            {"secretRef": {"name": "s"}},
                        ],
                        "env": [
                            {"name": "B", "value": "from-env"},
                            {"name": "CODE", "value": code},
                            {"name": "C", "valueFrom": {"secretKeyRef": {"name": "s", "key": "A"}}},
                        ],
                        "volumeMounts": [{"name": "scripts", "mountPath": "/scripts"}],
                    }
                ],
                "volumes": [{"name": "scripts", "configMap": {"name": "scripts"}}],
            }
        },
    }
    if deadline:
        spec["activeDeadlineSeconds"] = deadline
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": "tools", "labels": labels},
        "spec": spec,
    }


def prepared(sandbox: SandboxCluster) -> SandboxCluster:
    sandbox.create_object({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "tools"}})
    sandbox.create_object(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "s", "namespace": "tools"},
            "data": {"A": base64.b64encode(b"secret-a").decode()},
        }
    )
    for name, data in (
        ("plain", {"A": "plain-a", "B": "plain-b"}),
        ("scripts", {"run.sh": SCRIPT}),
    ):
        sandbox.create_object(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": name, "namespace": "tools"},
                "data": data,
            }
        )
    return sandbox


def finished(sandbox: SandboxCluster, name: str) -> tuple[dict, dict, str]:
    def done():
        job = sandbox.get_object("batch/v1", "Job", name, "tools")
        conditions = (job.get("status") or {}).get("conditions") or []
        return job if any(c["status"] == "True" for c in conditions) else None

    job = sandbox.wait_until(done, timeout=10)
    pod = next(
        p
        for p in sandbox.list_objects("v1", "Pod", "tools")
        if p["metadata"]["name"].startswith(name)
    )
    log = sandbox.api.custom_logs.get(("tools", pod["metadata"]["name"], "tool"), "")
    return job, pod, log


@pytest.fixture
def executing():
    with SandboxCluster(job_duration=0.05, execute_tool_jobs=True) as sandbox:
        yield prepared(sandbox)


def test_a_tool_job_runs_its_command_with_the_pods_environment(executing):
    executing.create_object(tool_job("ok"))
    job, pod, log = finished(executing, "ok")
    assert job["status"]["conditions"][0]["type"] == "Complete"
    # envFrom in order (the Secret wins over the ConfigMap), then env, then key references.
    assert "A=secret-a B=from-env C=secret-a" in log and "to-stderr" in log
    state = pod["status"]["containerStatuses"][0]["state"]["terminated"]
    assert state["exitCode"] == 0


def test_the_exit_code_is_the_outcome(executing):
    executing.create_object(tool_job("bad", code="3"))
    job, pod, log = finished(executing, "bad")
    assert "A=secret-a" in log
    assert job["status"]["conditions"][0]["type"] == "Failed"
    assert pod["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 3


def test_a_tool_job_is_stopped_at_its_deadline(executing):
    slow = tool_job("slow", deadline=1)
    slow["spec"]["template"]["spec"]["containers"][0]["command"] = [
        "/bin/sh",
        "-c",
        "echo started; sleep 30",
    ]
    executing.create_object(slow)
    job, _, log = finished(executing, "slow")
    condition = job["status"]["conditions"][0]
    assert (condition["type"], condition["reason"]) == ("Failed", "DeadlineExceeded")
    assert "started" in log and "activeDeadlineSeconds" in log


def test_only_labelled_jobs_and_only_with_the_opt_in(executing, tmp_path):
    marker = tmp_path / "ran"
    unlabelled = tool_job("plain-job", tool=False)
    unlabelled["spec"]["template"]["spec"]["containers"][0]["command"] = ["touch", str(marker)]
    executing.create_object(unlabelled)
    job, _, log = finished(executing, "plain-job")
    assert job["status"]["conditions"][0]["type"] == "Complete" and log == ""
    assert not marker.exists()

    with SandboxCluster(job_duration=0.05) as default:
        labelled = tool_job("labelled")
        labelled["spec"]["template"]["spec"]["containers"][0]["command"] = ["touch", str(marker)]
        prepared(default).create_object(labelled)
        finished(default, "labelled")
    assert not marker.exists()


def test_a_missing_secret_fails_the_job_as_a_kubelet_would(executing):
    job = tool_job("nosecret")
    job["spec"]["template"]["spec"]["containers"][0]["envFrom"].append(
        {"secretRef": {"name": "absent"}}
    )
    executing.create_object(job)
    done, _, log = finished(executing, "nosecret")
    assert done["status"]["conditions"][0]["type"] == "Failed"
    assert 'secret "absent" not found' in log


@pytest.mark.django_db
@pytest.mark.parametrize("version", ["1.29", "1.30", "1.31"])
def test_tool_manifests_validate_against_kubernetes_schemas(version, site):
    cluster = f.ClusterFactory(provision_data=True, storage_addressing_style="path")
    environment = f.EnvironmentFactory(site=site, cluster=cluster, slug="production")
    schedule = f.BackupScheduleFactory(environment=environment)
    documents = [
        render_tools_configmap(environment),
        render_backup_job(environment, name="backup-1", key_prefix="backups/a/b/c/x/"),
        render_restore_job(
            environment,
            name="restore-1",
            source_prefix="backups/a/b/c/x/",
            database_sha256="0" * 64,
        ),
        render_restore_job(
            environment,
            name="restore-check-1",
            source_prefix="backups/a/b/c/x/",
            database_sha256="0" * 64,
            target_database="hangar_check_1",
        ),
        render_backup_cronjob(environment, schedule),
    ]
    for document in documents:
        kubernetes_validate.validate(document, version, strict=True)
    job = documents[1]
    pod = job["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] and pod["securityContext"]["runAsUser"]
    container = pod["containers"][0]
    assert container["securityContext"]["readOnlyRootFilesystem"]
    assert container["command"] == ["/bin/sh", "/hangar/scripts/backup.sh"]
    assert job["metadata"]["labels"]["hangar.dev/tool"] == "true"
    env = {item["name"]: item["value"] for item in container["env"]}
    assert env["HANGAR_BACKUP_PREFIX"] == "backups/a/b/c/x/"
    assert env["HANGAR_S3_ADDRESSING_STYLE"] == "path"
    restore_env = documents[2]["spec"]["template"]["spec"]["containers"][0]["env"]
    assert "HANGAR_TARGET_DB" not in {item["name"] for item in restore_env}
