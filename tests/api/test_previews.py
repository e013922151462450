"""Preview environments from CI (issue 22): a site's CI token creates a branch's preview,
deploys it again, reads its status and URL, and deletes it; the limit, the TTL sweep,
branch names and tenant isolation. Through the API, against the sandbox cluster."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from clusters.models import Operation
from sites.models import Backup, Environment, Release
from sites.previews.tasks import expire_previews_task
from tests import factories as f
from tests.engine import drain

IMAGE = "registry.example.com/acme/web:pr-1"
PATTERN = "{branch}.preview.example.com"


@pytest.fixture
def previews_on(api, owner, site, live_environment):
    """Previews enabled on the site (on its cluster, empty data) and a CI token for it."""

    def enable(**settings):
        api.force_authenticate(owner)
        body = {"enabled": True, "host_pattern": PATTERN, "data_source": "empty"} | settings
        response = api.put(f"/api/v1/sites/{site.pk}/preview-settings/", body, format="json")
        assert response.status_code == 200, response.json()
        created = api.post(
            f"/api/v1/sites/{site.pk}/preview-tokens/", {"name": "github"}, format="json"
        )
        assert created.status_code == 201, created.json()
        assert created.json()["scopes"] == ["preview"]
        api.force_authenticate(None)
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {created.json()['token']}")
        return response.json()

    return enable


def preview_url(site, branch):
    return f"/api/v1/sites/{site.pk}/previews/{branch}/"


def put(api, site, branch, image=IMAGE):
    return api.put(preview_url(site, branch), {"image": image}, format="json")


@pytest.mark.django_db(transaction=True)
def test_ci_creates_a_preview_deploys_it_again_and_deletes_it(api, site, previews_on, live_kube):
    previews_on()
    created = put(api, site, "feature/login")
    assert created.status_code == 202, created.json()
    body = created.json()
    assert body["created"] is True and body["branch"] == "feature/login"
    slug = body["slug"]
    assert slug.startswith("pv-feature-login-") and len(slug) == len("pv-feature-login-") + 8
    assert body["url"] == f"https://{slug[3:]}.preview.example.com/"
    assert created["Location"].endswith(f"/api/v1/operations/{body['operation']['id']}/")
    # The token follows its preview's operation.
    assert api.get(created["Location"]).status_code == 200

    assert api.get(preview_url(site, "feature/login")).json()["state"] == "deploying"
    assert api.get(preview_url(site, "feature/login"), {"wait": "soon"}).status_code == 400
    drain()
    status = api.get(preview_url(site, "feature/login"), {"wait": 60}).json()
    assert (
        status["state"] == "ready"
        and '"state":"ready"' in api.get(preview_url(site, "feature/login")).content.decode()
    )  # what the curl-only CI example greps for
    assert status["status"] == "active" and status["image"] == IMAGE
    assert status["operation"]["kind"] == "environment.deploy"
    assert status["operation"]["status"] == "succeeded"
    namespace = status["namespace"]
    deployment = live_kube.get("apps/v1", "Deployment", "web", namespace)
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == IMAGE
    ingress = live_kube.list("networking.k8s.io/v1", "Ingress", namespace)[0]
    assert ingress["spec"]["rules"][0]["host"] == f"{slug[3:]}.preview.example.com"

    again = put(api, site, "feature/login", "registry.example.com/acme/web:pr-2")
    assert again.status_code == 202 and again.json()["created"] is False
    assert again.json()["environment"] == body["environment"]
    drain()
    assert Environment.objects.filter(is_preview=True).count() == 1
    deployment = live_kube.get("apps/v1", "Deployment", "web", namespace)
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":pr-2")

    gone = api.delete(preview_url(site, "feature/login"))
    assert gone.status_code == 202 and gone.json()["kind"] == "environment.destroy"
    retried = api.delete(preview_url(site, "feature/login"))  # a pipeline's retry
    assert retried.status_code == 202 and retried.json()["id"] == gone.json()["id"]
    drain()
    assert api.get(preview_url(site, "feature/login")).status_code == 404
    assert not Environment.objects.filter(is_preview=True).exists()
    assert live_kube.get_or_none("v1", "Namespace", namespace) is None
    assert not Backup.objects.exists()  # no final backup of a preview


@pytest.mark.django_db(transaction=True)
def test_the_limit_is_a_409_naming_the_oldest_preview(api, site, previews_on):
    previews_on(max_alive=2)
    assert put(api, site, "first").status_code == 202
    assert put(api, site, "second").status_code == 202
    refused = put(api, site, "third")
    assert refused.status_code == 409
    problem = refused.json()
    assert problem["title"] == "Preview limit reached"
    assert "The oldest is first" in problem["detail"] and problem["errors"]["oldest"] == ["first"]
    assert sorted(
        Environment.objects.filter(is_preview=True).values_list("preview_branch", flat=True)
    ) == ["first", "second"]
    listed = api.get(f"/api/v1/sites/{site.pk}/previews/").json()
    assert [(p["branch"], p["image"], p["state"]) for p in listed] == [
        ("first", IMAGE, "deploying"),
        ("second", IMAGE, "deploying"),
    ]
    assert listed[0]["url"] == "https://first.preview.example.com/"
    # Deploying an existing preview again is no new preview: the limit does not apply.
    assert put(api, site, "first", "registry.example.com/acme/web:pr-9").status_code == 202


@pytest.mark.django_db(transaction=True)
def test_the_periodic_task_destroys_previews_past_their_ttl(api, site, previews_on, live_kube):
    previews_on(ttl_days=7)
    assert put(api, site, "old").status_code == 202
    assert put(api, site, "recent").status_code == 202
    drain()
    old = Environment.objects.get(preview_branch="old")
    eight_days_ago = timezone.now() - datetime.timedelta(days=8)
    Release.objects.filter(environment=old).update(created_at=eight_days_ago)
    Environment.objects.filter(pk=old.pk).update(created_at=eight_days_ago)
    namespace = old.namespace

    assert expire_previews_task.apply().get() == {"destroyed": 1}
    drain()
    assert list(
        Environment.objects.filter(is_preview=True).values_list("preview_branch", flat=True)
    ) == ["recent"]
    assert live_kube.get_or_none("v1", "Namespace", namespace) is None
    destroy = Operation.objects.get(kind="environment.destroy")
    assert destroy.requested_by is None and destroy.params["final_backup"] is False
    assert expire_previews_task.apply().get() == {"destroyed": 0}


@pytest.mark.django_db(transaction=True)
def test_a_sites_token_reaches_no_other_site(api, client_a, site, previews_on):
    previews_on()
    sibling = f.SiteFactory(client=client_a, slug="shop")  # same client, other site
    other = f.SiteFactory(slug="far")
    for target in (sibling, other):
        assert put(api, target, "feature").status_code == 404
        assert api.get(preview_url(target, "feature")).status_code == 404
        assert api.delete(preview_url(target, "feature")).status_code == 404
        assert api.get(f"/api/v1/sites/{target.pk}/previews/").status_code == 404
    # Nothing else of the API either, its own site included.
    assert api.get("/api/v1/sites/").status_code == 403
    assert api.get(f"/api/v1/sites/{site.pk}/").status_code == 403
    assert api.get("/api/v1/environments/").status_code == 403
    assert api.get(f"/api/v1/sites/{site.pk}/preview-settings/").status_code == 403
    assert not Environment.objects.filter(is_preview=True).exists()


def test_a_personal_token_cannot_have_the_preview_scope(api, owner):
    api.force_authenticate(owner)
    response = api.post("/api/v1/tokens/", {"name": "x", "scopes": ["preview"]}, format="json")
    assert response.status_code == 400
    assert "site's CI token" in response.json()["errors"]["scopes"][0]


@pytest.mark.django_db(transaction=True)
def test_branch_names_that_would_collide_get_their_own_previews(api, site, previews_on):
    previews_on(max_alive=5)
    slugs = {}
    for branch in ("Feature/X", "feature/x", "feature-x", "feature_x"):
        response = put(api, site, branch)
        assert response.status_code == 202, response.json()
        slugs[branch] = response.json()["slug"]
    assert len(set(slugs.values())) == 4
    assert slugs["feature-x"] == "pv-feature-x"  # a plain label keeps its name
    urls = {e.domains.get().hostname for e in Environment.objects.filter(is_preview=True)}
    assert len(urls) == 4

    long_branch = "renovate/" + "a-very-long-dependency-name-" * 6
    response = put(api, site, long_branch)
    assert response.status_code == 202
    preview = Environment.objects.get(preview_branch=long_branch)
    assert len(preview.namespace) <= 63 and response.json()["namespace"] == preview.namespace


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("branch", "rule"),
    [
        ("has space", "may not contain spaces"),
        ("a..b", 'may not contain ".."'),
        ("-x", "may not start with"),
        ("x.lock", '".lock"'),
        ("x" * 201, "at most 200 characters"),
        ("___", "at least one letter or digit"),
    ],
)
def test_invalid_branch_names_are_refused_naming_the_rule(api, site, previews_on, branch, rule):
    previews_on()
    response = put(api, site, branch)
    assert response.status_code == 400
    assert rule in response.json()["errors"]["branch"][0]
    assert not Environment.objects.filter(is_preview=True).exists()


@pytest.mark.django_db(transaction=True)
def test_a_site_whose_slugs_leave_no_room_refuses_with_the_namespace_rule(
    api, owner, client_a, live_cluster
):
    site = f.SiteFactory(client=client_a, slug="s" * (63 - len(client_a.slug) - 3 - 8))
    f.EnvironmentFactory(site=site, cluster=live_cluster, slug="p")
    api.force_authenticate(owner)
    assert (
        api.put(
            f"/api/v1/sites/{site.pk}/preview-settings/",
            {"enabled": True, "host_pattern": PATTERN, "data_source": "empty"},
            format="json",
        ).status_code
        == 200
    )
    response = put(api, site, "feature")
    assert response.status_code == 400
    assert "at most 63 characters" in response.json()["errors"]["branch"][0]


@pytest.mark.django_db(transaction=True)
def test_previews_must_be_enabled_and_bad_settings_name_their_field(
    api, owner, site, live_environment, other_client
):
    api.force_authenticate(owner)
    response = put(api, site, "feature")
    assert response.status_code == 400 and "not enabled" in response.json()["errors"]["site"][0]
    url = f"/api/v1/sites/{site.pk}/preview-settings/"
    bad = api.put(url, {"enabled": True, "host_pattern": "preview.example.com"}, format="json")
    assert bad.status_code == 400 and "{branch}" in bad.json()["errors"]["host_pattern"][0]
    bad = api.put(url, {"host_pattern": PATTERN, "max_alive": 0}, format="json")
    assert bad.status_code == 400 and "max_alive" in bad.json()["errors"]
    bad = api.put(url, {"host_pattern": PATTERN, "data_source": "staging"}, format="json")
    assert bad.status_code == 400 and "only start empty" in bad.json()["errors"]["data_source"][0]
    theirs = f.NodePoolFactory(cluster=live_environment.cluster, dedicated_client=other_client)
    bad = api.put(url, {"host_pattern": PATTERN, "node_pool": theirs.pk}, format="json")
    assert bad.status_code == 404  # another client's pool is not found
    assert api.get(url).json() == {"enabled": False}
