"""Every release is a digest (issue 21.1): after a rollout Hangar records the digest the
pods really run (containerStatuses[].imageID); promote and rollback deploy that digest,
even after the tag was pushed again; a pod that pulled a moved tag is flagged."""

from __future__ import annotations

import time

from django.test import Client as WebClient
from django.urls import reverse
from rest_framework.test import APIClient

from clusters.models import Operation
from controlpanel.integrations.tokens import token_create
from sites import services
from sites.models import Release
from tests import factories as f
from tests.engine import drain, provisioned

S = Operation.Status
TAG = "registry.example.com/acme/web:{}"


def run(op: Operation) -> Operation:
    drain()
    op.refresh_from_db()
    assert op.status == S.SUCCEEDED, op.error
    return op


def deploy(environment, owner, image: str) -> Release:
    op = run(services.environment_deploy(actor=owner, environment=environment, image=image))
    return Release.objects.get(operation=op)


def web_pods(kube, environment) -> list[dict]:
    pods = kube.list(
        "v1", "Pod", environment.namespace, label_selector={"app.kubernetes.io/name": "web"}
    )
    return [p for p in pods if not p["metadata"].get("deletionTimestamp")]


def pulled(kube, environment) -> set[str]:
    """The digests the web pods report, as `kubectl get pods -o jsonpath` would show."""
    return {
        p["status"]["containerStatuses"][0]["imageID"].rpartition("@")[2]
        for p in web_pods(kube, environment)
    }


def deployment_image(kube, environment) -> str:
    deployment = kube.get("apps/v1", "Deployment", "web", environment.namespace)
    return deployment["spec"]["template"]["spec"]["containers"][0]["image"]


def test_a_tag_deploy_records_the_digest_its_pods_run(any_environment, owner, any_kube):
    environment = provisioned(any_environment, owner)
    release = deploy(environment, owner, TAG.format("1.1.0"))

    running = pulled(any_kube, environment)
    assert len(running) == 1
    assert release.digest == running.pop()
    assert release.digest.startswith("sha256:")
    assert release.pod_digests == {release.digest: 2}
    assert release.image == TAG.format("1.1.0")  # the tag as deployed stays shown


def staging_of(environment):
    return f.EnvironmentFactory(
        site=environment.site,
        cluster=environment.cluster,
        slug="staging",
        name="Staging",
        image="registry.example.com/acme/web:1.0.0",
        replicas=1,
        varnish_enabled=False,
    )


def test_promote_deploys_the_digest_staging_runs_after_the_tag_moved(
    live_environment, owner, live_sandbox, live_kube
):
    production = provisioned(live_environment, owner)
    staging = provisioned(staging_of(production), owner)
    tested = deploy(staging, owner, TAG.format("2.0.0"))
    moved_to = live_sandbox.move_tag(TAG.format("2.0.0"))
    assert moved_to != tested.digest

    op = run(services.environment_promote(actor=owner, source=staging, target=production))

    release = Release.objects.get(operation=op)
    assert deployment_image(live_kube, production) == f"{TAG.format('2.0.0')}@{tested.digest}"
    assert pulled(live_kube, production) == {tested.digest}
    assert release.digest == tested.digest
    # The tag alone would have shipped what was pushed since: a plain deploy shows it.
    direct = deploy(production, owner, TAG.format("2.0.0"))
    assert direct.digest == moved_to


def test_rollback_deploys_the_digest_that_ran_after_the_tag_moved(
    live_environment, owner, live_sandbox, live_kube
):
    environment = provisioned(live_environment, owner)
    first = deploy(environment, owner, TAG.format("1.5.0"))
    deploy(environment, owner, TAG.format("1.6.0"))
    live_sandbox.move_tag(TAG.format("1.5.0"))

    op = run(services.environment_rollback(actor=owner, environment=environment, release=first))

    assert deployment_image(live_kube, environment) == f"{TAG.format('1.5.0')}@{first.digest}"
    assert pulled(live_kube, environment) == {first.digest}
    assert Release.objects.get(operation=op).digest == first.digest


def replace_one_pod(sandbox, kube, environment) -> None:
    """A node drained: one web pod goes and the ReplicaSet starts another, which pulls
    the tag again."""
    pods = web_pods(kube, environment)
    gone = pods[0]["metadata"]["name"]
    sandbox.delete_object("v1", "Pod", gone, environment.namespace)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        names = {p["metadata"]["name"] for p in web_pods(kube, environment)}
        if gone not in names and len(names) == len(pods):
            return
        time.sleep(0.05)
    raise AssertionError("the ReplicaSet did not replace the pod")


def test_pods_that_pulled_a_moved_tag_are_flagged_in_the_api_and_the_portal(
    live_environment, owner, live_sandbox, live_kube
):
    environment = provisioned(live_environment, owner)
    release = deploy(environment, owner, TAG.format("3.0.0"))
    moved_to = live_sandbox.move_tag(TAG.format("3.0.0"))
    replace_one_pod(live_sandbox, live_kube, environment)

    services.environment_check_drift(environment=environment)

    release.refresh_from_db()
    assert release.pod_digests == {release.digest: 1, moved_to: 1}
    api = APIClient()
    _, token = token_create(actor=owner, name="t", scopes=["read"])
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    body = api.get(f"/api/v1/environments/{environment.pk}/releases/").json()
    shown = body["results"][0]
    assert shown["tag"] == TAG.format("3.0.0") and shown["digest"] == release.digest
    assert shown["pod_digests"] == {release.digest: 1, moved_to: 1}
    assert len(shown["digest_warnings"]) == 1
    assert "1 of 2 pods run " + moved_to[:19] in shown["digest_warnings"][0]

    web = WebClient()
    web.force_login(owner)
    page = web.get(reverse("portal:environment", args=[environment.pk])).content.decode()
    assert "Digest mismatch" in page and release.digest in page


def test_a_tag_deployed_again_as_another_digest_flags_the_older_release(
    live_environment, owner, live_sandbox, live_kube
):
    production = provisioned(live_environment, owner)
    staging = provisioned(staging_of(production), owner)
    older = deploy(production, owner, TAG.format("4.0.0"))
    live_sandbox.move_tag(TAG.format("4.0.0"))
    newer = deploy(staging, owner, TAG.format("4.0.0"))
    assert newer.digest != older.digest

    api = APIClient()
    _, token = token_create(actor=owner, name="t", scopes=["read"])
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    flagged = api.get(f"/api/v1/environments/{production.pk}/releases/").json()["results"][0]
    fresh = api.get(f"/api/v1/environments/{staging.pk}/releases/").json()["results"][0]

    assert flagged["digest_warnings"] == [
        f"The tag {TAG.format('4.0.0')} has moved since: release #{newer.pk} (Staging) got "
        f"{newer.digest[:19]}…."
    ]
    assert fresh["digest_warnings"] == []
