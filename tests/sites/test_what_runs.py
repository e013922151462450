"""A deploy succeeds only when the cluster runs what was deployed (issues 14.1, 15.3).

The applied-object record lets Hangar skip writing what it applied before; it may only
say what the server confirmed, and a skip is allowed only while the live object is the
one that write produced.
"""

from __future__ import annotations

from clusters.kube.client import KubeClient, path_key
from clusters.models import AppliedObject, Operation
from sites import services
from sites.models import Release
from tests.engine import drain, provisioned

S = Operation.Status
IMAGE = "registry.example.com/acme/web:{}"


def deployed(environment, owner, version: str) -> Operation:
    op = services.environment_deploy(
        actor=owner, environment=environment, image=IMAGE.format(version)
    )
    drain()
    op.refresh_from_db()
    return op


def running_image(kube: KubeClient, environment) -> str:
    deployment = kube.get("apps/v1", "Deployment", "web", environment.namespace)
    return deployment["spec"]["template"]["spec"]["containers"][0]["image"]


def set_image_behind_hangars_back(kube: KubeClient, environment, image: str) -> None:
    """What `kubectl set image deployment/web web=...` does: another field manager
    changes the live Deployment's image, with a strategic merge patch (a read-then-PUT
    would race the deployment controller's status writes and get a 409)."""
    path = f"/apis/apps/v1/namespaces/{environment.namespace}/deployments/web"
    kube.transport.request(
        "PATCH",
        path,
        body={"spec": {"template": {"spec": {"containers": [{"name": "web", "image": image}]}}}},
        content_type="application/strategic-merge-patch+json",
        query=[("fieldManager", "kubectl-set")],
    )


def messages(op: Operation) -> list[str]:
    return [event.message for event in op.events.all()]


def test_a_deploy_writes_over_a_change_made_behind_hangars_back(any_environment, owner, any_kube):
    environment = provisioned(any_environment, owner)
    assert deployed(environment, owner, "1.10.0").status == S.SUCCEEDED
    set_image_behind_hangars_back(any_kube, environment, IMAGE.format("1.8.0"))

    op = deployed(environment, owner, "1.10.0")

    assert op.status == S.SUCCEEDED, op.error
    assert running_image(any_kube, environment) == IMAGE.format("1.10.0")
    assert any("1 written" in m for m in messages(op)), messages(op)
    assert any(f"every pod runs {IMAGE.format('1.10.0')}" in m for m in messages(op))


def test_an_unchanged_redeploy_reads_the_deployment_and_its_pods_once_and_writes_nothing(
    live_environment, owner, live_sandbox
):
    """The Deployment is read to know it is still the one Hangar wrote (issue 14.1), which
    also proves its namespace was not replaced, so the Namespace is not read for its owner
    when nothing is written (issue 23); the pods are listed for the digest they run
    (issue 21.1: the release records it)."""
    environment = provisioned(live_environment, owner)
    live_sandbox.requests.clear()
    op = deployed(environment, owner, "1.0.0")
    assert op.status == S.SUCCEEDED, op.error
    assert live_sandbox.requests.writes == []
    reads = [(r.method, r.path) for r in live_sandbox.requests.filter("GET")]
    assert reads == [
        ("GET", f"/apis/apps/v1/namespaces/{environment.namespace}/deployments/web"),
        ("GET", f"/api/v1/namespaces/{environment.namespace}/pods"),
    ]


def test_a_lost_answer_leaves_no_record_and_the_next_deploy_writes_again(
    live_environment, owner, live_sandbox, live_kube
):
    """Issue 14.1: a write of the older Deployment reached the server but its answer was
    lost. The record must not go on claiming the newer one, or a later deploy of the newer
    image skips its write and reports success while the older image runs."""
    environment = provisioned(live_environment, owner)
    assert deployed(environment, owner, "2.0.0").status == S.SUCCEEDED
    key = path_key("apps/v1", "Deployment", "web", environment.namespace)
    assert AppliedObject.objects.filter(key=key).exists()

    rule = live_sandbox.faults.lose_answer("PATCH", r"/deployments/web$", times=None)
    going_back = services.environment_deploy(
        actor=owner, environment=environment, image=IMAGE.format("1.0.0")
    )
    Operation.objects.filter(pk=going_back.pk).update(max_attempts=1)
    drain()
    live_sandbox.faults.remove(rule)
    going_back.refresh_from_db()
    assert going_back.status == S.FAILED
    # The server did apply it; only its answer was lost. Nothing claims otherwise.
    assert running_image(live_kube, environment) == IMAGE.format("1.0.0")
    assert not AppliedObject.objects.filter(key=key).exists()

    op = deployed(environment, owner, "2.0.0")

    assert op.status == S.SUCCEEDED, op.error
    assert running_image(live_kube, environment) == IMAGE.format("2.0.0")
    assert any("1 written" in m for m in messages(op)), messages(op)
    environment.refresh_from_db()
    assert environment.image == IMAGE.format("2.0.0")
    assert Release.objects.get(operation=op).status == Release.Status.SUCCEEDED


def test_a_deploy_that_finds_another_image_running_is_not_a_success(
    live_environment, owner, live_sandbox, live_kube, monkeypatch
):
    """Whatever the record says, the last word is the live Deployment: here someone
    changes the image while Hangar waits for the rollout."""
    environment = provisioned(live_environment, owner)
    waiting = KubeClient.wait_rollout

    def meanwhile(self, namespace, name, **kwargs):
        # A hook, not a stand-in: the real wait runs, after a concurrent `kubectl set image`.
        set_image_behind_hangars_back(live_kube, environment, IMAGE.format("0.9.0"))
        return waiting(self, namespace, name, **kwargs)

    monkeypatch.setattr(KubeClient, "wait_rollout", meanwhile)
    op = deployed(environment, owner, "3.0.0")

    assert op.status == S.FAILED
    assert f"runs {IMAGE.format('0.9.0')}, not {IMAGE.format('3.0.0')}" in op.error, op.error
    environment.refresh_from_db()
    assert environment.image == IMAGE.format("1.0.0")
    assert Release.objects.get(operation=op).status == Release.Status.FAILED


def test_pods_reporting_another_digest_fail_the_deploy(live_environment, owner, live_kube):
    """The pods report the digest they pulled (containerStatuses[].imageID); a deploy
    pinned by digest is done only when they report that one."""
    environment = provisioned(live_environment, owner)
    image = IMAGE.format("4.0.0") + "@sha256:" + "cd" * 32
    op = services.environment_deploy(actor=owner, environment=environment, image=image)
    drain()
    op.refresh_from_db()
    assert op.status == S.SUCCEEDED, op.error
    pods = live_kube.list(
        "v1", "Pod", environment.namespace, label_selector={"app.kubernetes.io/name": "web"}
    )
    pod = pods[0]
    assert pod["status"]["containerStatuses"][0]["imageID"].endswith("cd" * 32)
    # A node that pulled something else under that name (a mutating registry mirror, say).
    other = "sha256:" + "ef" * 32
    pod["status"]["containerStatuses"][0]["imageID"] = f"registry.example.com/acme/web@{other}"
    live_kube.transport.request(
        "PUT",
        f"/api/v1/namespaces/{environment.namespace}/pods/{pod['metadata']['name']}/status",
        body=pod,
        content_type="application/json",
        query=[("fieldManager", "kubelet")],
    )

    again = services.environment_deploy(actor=owner, environment=environment, image=image)
    drain()
    again.refresh_from_db()
    assert again.status == S.FAILED
    assert f"Pod {pod['metadata']['name']} runs {other}, not the deployed" in again.error
