"""The tenant matrix of portal pages: every page for every kind of person.

Anonymous visitors are sent to sign in; members of Acme see Acme's pages (owners alone its
webhooks); Globex's owner gets 404 for every Acme id, exactly as for an id that does not
exist; agency staff see everything.
"""

from __future__ import annotations

import pytest
from django.test import Client

from tests import factories as f
from tests.web.helpers import sign_in

ACTORS = ["anonymous", "viewer", "developer", "owner", "other_owner", "staff_operator"]

# page → expected status per actor (in ACTORS order); environment pages use Acme's.
ENVIRONMENT_PAGES = [
    "",
    "scaling/",
    "domains/",
    "variables/",
    "cron/",
    "logs/",
    "tasks/",
    "mail/",
    "settings/",
    "backups/",
    "logs/tail/?container=web&tail_lines=50",
]
MEMBER = [302, 200, 200, 200, 404, 200]
OWNER_ONLY = [302, 403, 403, 200, 404, 200]


def pages(environment, operation, cron, variable, release, token, membership, ci_token):
    client_id = environment.site.client_id
    backup = f.BackupFactory(environment=environment)
    rows = [(f"/environments/{environment.pk}/{page}", MEMBER) for page in ENVIRONMENT_PAGES]
    rows += [
        (f"/environments/{environment.pk}/local/", MEMBER),
        (f"/environments/{environment.pk}/local/project.zip", [302, 403, 200, 200, 404, 200]),
        # No object storage on this cluster, no sanitized dump yet: back to the tab, 302.
        (f"/environments/{environment.pk}/local/files.sh", [302, 403, 302, 302, 404, 302]),
        (
            f"/environments/{environment.pk}/local/backups/{backup.pk}/sanitized/",
            [302, 403, 302, 302, 404, 302],
        ),
        (f"/environments/{environment.pk}/cron/{cron.pk}/runs/", MEMBER),
        (f"/environments/{environment.pk}/cron/{cron.pk}/edit/", [302, 403, 200, 200, 404, 200]),
        (
            f"/environments/{environment.pk}/variables/{variable.pk}/edit/",
            [302, 403, 200, 200, 404, 200],
        ),
        (
            f"/environments/{environment.pk}/deploy-tokens/{token.pk}/revoke/",
            [302, 403, 200, 200, 404, 200],
        ),
        (f"/operations/{operation.pk}/", MEMBER),
        (f"/operations/{operation.pk}/live/", MEMBER),
        (f"/clients/{client_id}/members/", MEMBER),
        (f"/clients/{client_id}/webhooks/", OWNER_ONLY),
        # The confirmation pages of destructive actions: members' removal is for owners
        # and staff admins, a site's CI token's revocation for those who manage sites.
        (
            f"/clients/{client_id}/members/{membership.pk}/remove/",
            [302, 403, 403, 200, 404, 403],
        ),
        (
            f"/sites/{environment.site_id}/previews/tokens/{ci_token.pk}/revoke/",
            [302, 403, 403, 200, 404, 200],
        ),
    ]
    return rows


@pytest.fixture
def acme(environment, cluster, owner):
    from clusters.models import Operation

    operation = f.OperationFactory(
        cluster=cluster,
        client=environment.site.client,
        target_id=environment.pk,
        lock_key=environment.lock_key,
        status=Operation.Status.SUCCEEDED,
    )
    cron = f.CronScheduleFactory(environment=environment)
    variable = f.EnvVarFactory(environment=environment)
    release = f.ReleaseFactory(environment=environment)
    from controlpanel.core.models import Membership
    from controlpanel.integrations.tokens import deploy_token_create, preview_token_create

    token, _ = deploy_token_create(actor=owner, environment=environment, name="ci")
    ci_token, _ = preview_token_create(actor=owner, site=environment.site, name="previews")
    membership = Membership.objects.get(user=owner, client=environment.site.client)
    return environment, operation, cron, variable, release, token, membership, ci_token


@pytest.mark.parametrize("actor_index", range(len(ACTORS)), ids=ACTORS)
def test_portal_pages_per_actor(actor_index, request, client, acme):
    actor = ACTORS[actor_index]
    if actor != "anonymous":
        sign_in(client, request.getfixturevalue(actor))
    wrong = []
    for path, expected in pages(*acme):
        response = client.get(path)
        if response.status_code != expected[actor_index]:
            wrong.append((path, response.status_code, expected[actor_index]))
        if expected[actor_index] == 302 and actor == "anonymous":
            assert response["Location"].startswith("/login/")
        elif expected[actor_index] == 302:  # nothing to download yet: back to the tab
            assert response["Location"] == f"/environments/{acme[0].pk}/local/", path
    assert not wrong, wrong


@pytest.mark.parametrize(
    ("actor", "expected"),
    [("anonymous", 302), ("other_owner", 404), ("viewer", 403), ("developer", 302)],
)
def test_actions_per_actor(actor, expected, request, client, acme):
    """Deploying: viewers are refused, other clients' owners see nothing there."""
    environment = acme[0]
    environment.status = "active"
    environment.save(update_fields=["status"])
    if actor != "anonymous":
        sign_in(client, request.getfixturevalue(actor))
    response = client.post(
        f"/environments/{environment.pk}/deploy/", {"image": "registry.example.com/a/b:2"}
    )
    assert response.status_code == expected
    if actor == "developer":
        assert response["Location"].startswith("/operations/")


def test_another_clients_ids_look_like_missing_ones(client, other_owner, acme):
    environment = acme[0]
    sign_in(client, other_owner)
    missing = client.get("/environments/999999/")
    foreign = client.get(f"/environments/{environment.pk}/")
    assert missing.status_code == foreign.status_code == 404
    assert environment.site.name not in foreign.content.decode()


@pytest.mark.parametrize("actor", ["owner", "viewer", "developer", "other_owner"])
def test_staff_console_does_not_exist_for_client_users(actor, request, client, cluster):
    sign_in(client, request.getfixturevalue(actor))
    for path in ("/staff/clients/", f"/staff/clusters/{cluster.pk}/", "/staff/audit/"):
        assert client.get(path).status_code == 404


@pytest.mark.parametrize("actor", ["staff_admin", "staff_operator", "staff_billing"])
def test_staff_console_pages_for_every_staff_role(actor, request, client, cluster, environment):
    sign_in(client, request.getfixturevalue(actor))
    for path in (
        "/staff/clients/",
        f"/staff/clients/{environment.site.client_id}/",
        "/staff/users/",
        "/staff/clusters/",
        f"/staff/clusters/{cluster.pk}/",
        "/staff/sizes/",
        "/staff/operations/",
        "/staff/drift/",
        "/staff/audit/",
    ):
        assert client.get(path).status_code == 200, path
    # Fleet deploys are for those who manage clusters.
    fleet = client.get("/staff/fleet/").status_code
    assert fleet == (403 if actor == "staff_billing" else 200)


# The admin site per staff role (docs/security.md, "Staff roles in the admin"): what each
# may open (200), only read (a POST answers 403) or not see at all (403/404).
ADMIN_MATRIX = {
    # path template: (admin, operator, billing) for GET; "ro" = page opens read-only
    "/admin/core/user/{user}/change/": (200, "ro", "ro"),
    "/admin/core/client/{client}/change/": (200, 200, "ro"),
    "/admin/clusters/cluster/{cluster}/change/": (200, 200, "ro"),
    "/admin/sites/environment/{environment}/change/": (200, 200, "ro"),
    "/admin/billing/nodeprice/": (200, "ro", 200),
    "/admin/otp_totp/totpdevice/": (404, 404, 404),
    "/admin/otp_totp/totpdevice/{device}/change/": (404, 404, 404),
}


@pytest.mark.parametrize("index", range(3), ids=["staff_admin", "staff_operator", "staff_billing"])
def test_admin_pages_for_every_staff_role(index, request, client, cluster, environment):
    actor = request.getfixturevalue(["staff_admin", "staff_operator", "staff_billing"][index])
    sign_in(client, actor)
    other = request.getfixturevalue("staff_admin")
    device = sign_in(Client(), other) and other.totpdevice_set.first()
    ids = {
        "user": other.pk,
        "client": environment.site.client_id,
        "cluster": cluster.pk,
        "environment": environment.pk,
        "device": device.pk,
    }
    for template, expected in ADMIN_MATRIX.items():
        path = template.format(**ids)
        response = client.get(path)
        wanted = expected[index]
        if wanted == "ro":
            assert response.status_code == 200, path
            assert b'name="_save"' not in response.content, path
        else:
            assert response.status_code == wanted, path
        if device.key:
            assert device.key not in response.content.decode(), path


@pytest.mark.parametrize("actor", ["owner", "viewer", "developer", "other_owner"])
def test_the_admin_does_not_open_for_client_users(actor, request, client):
    sign_in(client, request.getfixturevalue(actor))
    response = client.get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
