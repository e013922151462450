"""The portal's forms and buttons, through Django's test client: each calls its service or
action, maps field-keyed errors next to the fields, and says what happened."""

from __future__ import annotations

import pytest
from django.core import mail

from clusters.kube.errors import KubeError
from clusters.models import Operation, OperationEvent
from controlpanel.core.models import Membership
from controlpanel.integrations.models import ApiToken, Webhook
from sites.models import CronSchedule, Domain, Environment, EnvVar, Release
from tests import factories as f
from tests.web.helpers import sign_in

S = Operation.Status


@pytest.fixture
def env(populated):
    return populated


@pytest.fixture
def as_owner(client, owner):
    return sign_in(client, owner)


@pytest.fixture
def as_developer(client, developer):
    return sign_in(client, developer)


def url(env, tail=""):
    return f"/environments/{env.pk}/{tail}"


def operations(kind):
    return Operation.objects.filter(kind=kind)


def test_deploy_errors_are_shown_next_to_the_image_field(as_developer, env):
    response = as_developer.post(url(env, "deploy/"), {"image": "not an image!"})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="id_image_error"' in page and 'aria-invalid="true"' in page
    assert not operations("environment.deploy").exists()


def test_deploy_starts_an_operation_and_says_so(as_developer, env):
    response = as_developer.post(url(env, "deploy/"), {"image": "registry.example.com/a/web:2"})
    operation = operations("environment.deploy").get()
    assert response["Location"] == f"/operations/{operation.pk}/"
    page = as_developer.get(response["Location"]).content.decode()
    assert "Deploying registry.example.com/a/web:2" in page
    assert 'hx-trigger="every 1s"' in page  # it polls while unfinished


def test_promote_runs_the_siblings_image_pinned_by_digest(as_developer, env, cluster):
    staging = f.EnvironmentFactory(
        site=env.site,
        cluster=cluster,
        slug="staging",
        name="Staging",
        status="active",
        image="registry.example.com/acme/web:1.1.0",
    )
    f.ReleaseFactory(
        environment=staging,
        image=staging.image,
        digest="sha256:" + "a" * 64,
        status=Release.Status.SUCCEEDED,
    )
    page = as_developer.get(url(env)).content.decode()
    assert "Staging (registry.example.com/acme/web:1.1.0)" in page
    # No source chosen for you (issue 17.7): an empty choice is an error, not Development.
    missing = as_developer.post(url(env, "promote/"), {})
    assert "Choose the environment whose image to promote." in missing.content.decode()
    # Production asks first, naming what replaces what; nothing runs until confirmed.
    confirm = as_developer.post(url(env, "promote/"), {"source": staging.pk}).content.decode()
    assert 'id="confirm-action"' in confirm
    assert f"registry.example.com/acme/web:1.1.0@sha256:{'a' * 64} (what runs in Staging)" in (
        confirm
    )
    assert f"replaces {env.image} (release #" in confirm
    assert not operations("environment.deploy").exists()
    as_developer.post(url(env, "promote/"), {"source": staging.pk, "step": "confirm"})
    operation = operations("environment.deploy").get()
    assert operation.params["image"].endswith("@sha256:" + "a" * 64)
    assert operation.params["label"] == "Promote from Staging"


def test_rollback_to_a_live_release(as_developer, env):
    old = f.ReleaseFactory(
        environment=env, image="registry.example.com/acme/web:0.9", status=Release.Status.SUCCEEDED
    )
    f.ReleaseFactory(environment=env, status=Release.Status.SUCCEEDED)
    confirm = as_developer.post(url(env, f"rollback/{old.pk}/")).content.decode()
    assert f"registry.example.com/acme/web:0.9 (release #{old.pk}) replaces" in confirm
    assert not operations("environment.deploy").exists()
    as_developer.post(url(env, f"rollback/{old.pk}/"), {"step": "confirm"})
    assert (
        operations("environment.deploy")
        .get()
        .params["image"]
        .startswith("registry.example.com/acme/web:0.9")
    )


def test_scaling_previews_first_and_changes_nothing_until_confirmed(as_developer, env):
    preview = as_developer.post(url(env, "scaling/scale/"), {"replicas": 3})
    page = preview.content.decode()
    assert preview.status_code == 200 and 'id="cost-preview"' in page
    assert "per month" in page or "Cost preview unavailable" in page
    assert not operations("environment.scale").exists()
    confirmed = as_developer.post(url(env, "scaling/scale/"), {"replicas": 3, "step": "confirm"})
    assert confirmed.status_code == 302
    assert operations("environment.scale").get().params["replicas"] == 3


def test_scaling_errors_are_field_errors(as_developer, env):
    response = as_developer.post(url(env, "scaling/scale/"), {"replicas": 99})
    assert response.status_code == 400 and 'id="id_replicas_error"' in response.content.decode()


def test_autoscaling_previews_then_applies(as_developer, env):
    data = {"enabled": "on", "autoscale_min": 2, "autoscale_max": 5, "autoscale_cpu_target": 60}
    preview = as_developer.post(url(env, "scaling/autoscale/"), data)
    assert 'id="cost-preview"' in preview.content.decode()
    assert not operations("environment.scale").exists()
    as_developer.post(url(env, "scaling/autoscale/"), data | {"step": "confirm"})
    params = operations("environment.scale").get().params
    assert params["autoscale_enabled"] and params["autoscale_max"] == 5
    bad = as_developer.post(url(env, "scaling/autoscale/"), data | {"autoscale_min": 6})
    assert bad.status_code == 400


def test_domains_add_and_remove(as_developer, env):
    bad = as_developer.post(
        url(env, "domains/add/"), {"hostname": "not a host", "tls_enabled": "on"}
    )
    assert bad.status_code == 400 and 'id="id_hostname_error"' in bad.content.decode()
    taken = as_developer.post(url(env, "domains/add/"), {"hostname": "www.acme.example"})
    assert "already in use" in taken.content.decode()
    as_developer.post(
        url(env, "domains/add/"), {"hostname": "shop.acme.example", "tls_enabled": "on"}
    )
    domain = Domain.objects.get(hostname="shop.acme.example")
    assert domain.tls_enabled
    as_developer.post(url(env, f"domains/{domain.pk}/remove/"))
    assert not Domain.objects.filter(pk=domain.pk).exists()


def test_variables_set_edit_and_delete(as_developer, env):
    bad = as_developer.post(url(env, "variables/set/"), {"key": "1BAD", "value": "x"})
    assert bad.status_code == 400 and 'id="id_key_error"' in bad.content.decode()
    as_developer.post(url(env, "variables/set/"), {"key": "FEATURE", "value": "on"})
    variable = EnvVar.objects.get(environment=env, key="FEATURE")
    as_developer.post(url(env, f"variables/{variable.pk}/edit/"), {"value": "off"})
    variable.refresh_from_db()
    assert variable.value == "off"
    as_developer.post(url(env, f"variables/{variable.pk}/delete/"))
    assert not EnvVar.objects.filter(pk=variable.pk).exists()


def test_cron_schedules_with_description_next_runs_and_errors(as_developer, env):
    page = as_developer.get(url(env, "cron/")).content.decode()
    cron = env.cron_schedules.get()
    cron.environment = env
    assert "drupal-cron" in page and cron.description in page  # "At 6, 21, 36 and 51 minutes…"
    assert f'datetime="{cron.next_runs(1)[0].isoformat()}' in page
    bad = as_developer.post(
        url(env, "cron/add/"),
        {
            "name": "nightly",
            "schedule": "61 * * * *",
            "command": "drush cron",
            "timeout_seconds": 3600,
        },
    )
    assert bad.status_code == 400 and 'id="id_schedule_error"' in bad.content.decode()
    as_developer.post(
        url(env, "cron/add/"),
        {
            "name": "nightly",
            "schedule": "0 3 * * *",
            "command": "drush cron",
            "timeout_seconds": 3600,
        },
    )
    cron = CronSchedule.objects.get(environment=env, name="nightly")
    as_developer.post(
        url(env, f"cron/{cron.pk}/edit/"),
        {"schedule": "30 4 * * *", "command": "drush cron", "timeout_seconds": 600},
    )
    cron.refresh_from_db()
    assert cron.schedule == "30 4 * * *" and cron.timeout_seconds == 600
    run = as_developer.post(url(env, f"cron/{cron.pk}/run/"))
    assert run["Location"].startswith("/operations/")
    as_developer.post(url(env, f"cron/{cron.pk}/delete/"))
    assert not CronSchedule.objects.filter(pk=cron.pk).exists()


def test_cron_runs_survive_a_cluster_that_does_not_answer(as_developer, env, monkeypatch):
    def unreachable(**kwargs):
        raise KubeError("The cluster did not answer in time.")

    monkeypatch.setattr("controlpanel.web.portal.views.cron.cron_last_runs", unreachable)
    cron = env.cron_schedules.get()
    response = as_developer.get(url(env, f"cron/{cron.pk}/runs/"))
    assert response.status_code == 200
    assert "Could not read the runs from the cluster" in response.content.decode()


def test_logs_follow_and_survive_cluster_errors(as_developer, env, monkeypatch):
    from sites.selectors import PodLog

    monkeypatch.setattr(
        "controlpanel.web.portal.views.logs.environment_logs",
        lambda **kwargs: [PodLog("web-abc", kwargs["container"], "GET / 200\n")],
    )
    page = as_developer.get(url(env, "logs/tail/?container=web&tail_lines=50&follow=on"))
    text = page.content.decode()
    assert "GET / 200" in text and 'hx-trigger="every 2s"' in text
    still = as_developer.get(url(env, "logs/tail/?container=web&tail_lines=50"))
    assert "hx-trigger" not in still.content.decode()  # not following: no polling

    def broken(**kwargs):
        raise KubeError("Connection refused.")

    monkeypatch.setattr("controlpanel.web.portal.views.logs.environment_logs", broken)
    failed = as_developer.get(url(env, "logs/tail/?container=web&tail_lines=50&follow=on"))
    assert "Could not read the logs" in failed.content.decode()


def test_one_off_tasks_for_the_site_kind(as_developer, viewer, client, env):
    page = as_developer.get(url(env, "tasks/")).content.decode()
    assert "drush cr" in page and "Rebuild caches" in page
    as_developer.post(url(env, "tasks/run/"), {"command": "drush cr", "timeout": 3600})
    assert operations("environment.command").get().params["command"] == "drush cr"
    sign_in(client, viewer)
    assert "Rebuild caches" not in client.get(url(env, "tasks/")).content.decode()


PASSWORD = "correct horse battery staple"  # the factories' password


def test_destroy_asks_for_the_namespace_and_the_password(as_owner, env):
    wrong = as_owner.post(url(env, "destroy/"), {"confirm": "production", "password": PASSWORD})
    assert wrong.status_code == 400 and env.namespace in wrong.content.decode()
    no_password = as_owner.post(
        url(env, "destroy/"), {"confirm": env.namespace, "password": "guess"}
    )
    assert no_password.status_code == 400
    assert "not your current password" in no_password.content.decode()
    assert not operations("environment.destroy").exists()
    as_owner.post(url(env, "destroy/"), {"confirm": env.namespace, "password": PASSWORD})
    assert operations("environment.destroy").exists()
    env.refresh_from_db()
    assert env.status == Environment.Status.DESTROYING


def test_developers_cannot_destroy(as_developer, env):
    assert as_developer.post(url(env, "destroy/"), {"confirm": env.namespace}).status_code == 403


def test_deploy_tokens_are_shown_once_and_revoked_by_name(as_developer, env):
    created = as_developer.post(url(env, "deploy-tokens/"), {"name": "GitLab CI"})
    page = created.content.decode()
    token = ApiToken.objects.get(environment=env)
    shown = page.split('id="new-token">')[1].split("<")[0]
    assert shown.startswith("hgr_") and shown.startswith(token.prefix)
    assert shown not in as_developer.get(url(env, "settings/")).content.decode()
    revoke = url(env, f"deploy-tokens/{token.pk}/revoke/")
    assert as_developer.post(revoke, {"confirm": "gitlab ci"}).status_code == 400
    as_developer.post(revoke, {"confirm": "GitLab CI"})
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_personal_tokens_with_scopes(client, viewer, staff_admin):
    sign_in(client, viewer)
    form = client.get("/account/tokens/").content.decode()
    assert 'value="admin"' not in form  # only staff may ask for admin
    created = client.post(
        "/account/tokens/add/", {"name": "laptop", "scopes": ["read"], "expires_in_days": 30}
    )
    assert 'id="new-token"' in created.content.decode()
    token = ApiToken.objects.get(user=viewer)
    assert token.scopes == ["read"] and token.expires_at is not None
    client.post(f"/account/tokens/{token.pk}/revoke/", {"confirm": "laptop"})
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_admin_tokens_need_the_current_password(client, staff_admin):
    sign_in(client, staff_admin)
    body = {"name": "automation", "scopes": ["admin"], "expires_in_days": 30}
    refused = client.post("/account/tokens/add/", body | {"password": "guess"})
    assert refused.status_code == 400
    assert "not your current password" in refused.content.decode()
    assert not ApiToken.objects.filter(user=staff_admin).exists()
    created = client.post("/account/tokens/add/", body | {"password": PASSWORD})
    assert 'id="new-token"' in created.content.decode()
    assert ApiToken.objects.get(user=staff_admin).scopes == ["admin"]


def test_webhooks_secret_shown_once(as_owner, client_a, settings):
    settings.HANGAR_WEBHOOK_ALLOW_PRIVATE = True
    bad = as_owner.post(f"/clients/{client_a.pk}/webhooks/add/", {"url": "ftp://x", "events": []})
    assert bad.status_code == 400
    created = as_owner.post(
        f"/clients/{client_a.pk}/webhooks/add/",
        {"url": "https://127.0.0.1/hooks", "events": ["operation.finished"]},
    )
    assert "whsec_" in created.content.decode()
    webhook = Webhook.objects.get(client=client_a)
    assert webhook.secret not in as_owner.get(f"/clients/{client_a.pk}/webhooks/").content.decode()
    as_owner.post(f"/clients/{client_a.pk}/webhooks/{webhook.pk}/delete/")
    assert not Webhook.objects.exists()


def test_owners_change_roles_but_keep_an_owner(as_owner, owner, developer, client_a):
    membership = Membership.objects.get(user=developer)
    as_owner.post(
        f"/clients/{client_a.pk}/members/{membership.pk}/role/",
        {f"m{membership.pk}-role": "viewer"},
    )
    membership.refresh_from_db()
    assert membership.role == "viewer"
    mine = Membership.objects.get(user=owner)
    response = as_owner.post(
        f"/clients/{client_a.pk}/members/{mine.pk}/remove/", {"confirm": "True"}, follow=True
    )
    assert "at least one owner" in response.content.decode()
    as_owner.post(f"/clients/{client_a.pk}/members/{membership.pk}/remove/", {"confirm": "True"})
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_viewers_see_members_but_cannot_invite(client, viewer, client_a):
    sign_in(client, viewer)
    page = client.get(f"/clients/{client_a.pk}/members/").content.decode()
    assert viewer.email in page and "Invite someone" not in page
    response = client.post(
        f"/clients/{client_a.pk}/members/invite/", {"email": "x@acme.test", "role": "viewer"}
    )
    assert response.status_code == 403 and not mail.outbox


def test_pending_operations_can_be_cancelled(as_developer, env):
    confirm = as_developer.post(url(env, "restart/")).content.decode()
    assert "Restart every pod of" in confirm and not operations("environment.restart").exists()
    as_developer.post(url(env, "restart/"), {"step": "confirm"})
    operation = operations("environment.restart").get()
    response = as_developer.post(f"/operations/{operation.pk}/cancel/", follow=True)
    operation.refresh_from_db()
    assert operation.status == S.CANCELLED
    assert "Cancelled" in response.content.decode()


def test_the_live_fragment_appends_new_log_lines_and_stops_when_finished(
    as_developer, env, cluster, client_a
):
    operation = f.OperationFactory(
        cluster=cluster,
        client=client_a,
        target_id=env.pk,
        status=S.RUNNING,
        steps_total=2,
        steps_done=1,
    )
    first = f.OperationEventFactory(operation=operation, message="first line")
    f.OperationEventFactory(operation=operation, message="second line")
    live = as_developer.get(f"/operations/{operation.pk}/live/?after={first.pk}").content.decode()
    assert "second line" in live and "first line" not in live
    assert 'hx-swap-oob="beforeend:#op-log"' in live and 'hx-trigger="every 1s"' in live
    assert 'value="50"' in live
    Operation.objects.filter(pk=operation.pk).update(status=S.FAILED, error="Image not found.")
    last = OperationEvent.objects.filter(operation=operation).last()
    done = as_developer.get(f"/operations/{operation.pk}/live/?after={last.pk}").content.decode()
    assert "hx-trigger" not in done and "Image not found." in done


def test_forms_report_every_error_in_one_round(as_developer, env, client, staff_admin):
    # Issue 17.8: the name's rule next to the missing command, not after it is fixed.
    bad = as_developer.post(
        url(env, "cron/add/"),
        {"name": "Bad_Name", "schedule": "61 * * * *", "command": "", "timeout_seconds": 3600},
    )
    page = bad.content.decode()
    assert bad.status_code == 400
    for field in ("name", "schedule", "command"):
        assert f'id="id_{field}_error"' in page, field
    # The suggestion offered is itself accepted.
    assert "(try &quot;bad-name&quot;)" in page
    good = as_developer.post(
        url(env, "cron/add/"),
        {"name": "bad-name", "schedule": "0 3 * * *", "command": "true", "timeout_seconds": 60},
    )
    assert good.status_code == 302 and CronSchedule.objects.filter(name="bad-name").exists()

    sign_in(client, staff_admin)
    bad = client.post("/staff/clients/add/", {"name": "", "slug": "Not A Slug"})
    page = bad.content.decode()
    for field in ("name", "slug", "billing_email"):
        assert f'id="id_{field}_error"' in page, field
    assert "(try &quot;not-a-slug&quot;)" in page


def test_a_suspended_client_sees_why_and_what_still_works(as_owner, env, client_a):
    from controlpanel.core.models import Client

    Client.objects.filter(pk=client_a.pk).update(status=Client.Status.SUSPENDED)
    for page in (url(env), "/"):
        html = as_owner.get(page).content.decode()
        assert 'data-testid="client-suspended"' in html, page
        assert "is suspended by the agency" in html and "you can still read everything" in html
    html = as_owner.get(url(env)).content.decode()
    assert "client suspended" in html  # next to the environment's own status
    assert "Deploy an image" not in html


def test_owners_read_their_clients_activity_filtered(as_owner, env, client_a, other_client):
    f.AuditEventFactory(client=client_a, action="environment.deploy", actor_label="ann@acme.test")
    f.AuditEventFactory(client=client_a, action="cron.create", actor_label="bob@acme.test")
    f.AuditEventFactory(client=other_client, action="environment.deploy", actor_label="x@globex")
    page = as_owner.get(f"/clients/{client_a.pk}/activity/").content.decode()
    assert "ann@acme.test" in page and "bob@acme.test" in page and "x@globex" not in page
    page = as_owner.get(f"/clients/{client_a.pk}/activity/?action=environment.").content.decode()
    assert "ann@acme.test" in page and "bob@acme.test" not in page
    assert as_owner.get(f"/clients/{other_client.pk}/activity/").status_code == 404


def test_developers_do_not_read_the_activity(as_developer, client_a):
    assert as_developer.get(f"/clients/{client_a.pk}/activity/").status_code == 403


def test_logs_download_the_shown_range_and_keep_the_choice(as_developer, env, monkeypatch):
    from sites.selectors import PodLog

    seen = {}

    def fake(**kwargs):
        seen.update(kwargs)
        return [PodLog("web-abc", kwargs["container"], "2026-01-01T00:00:00Z GET / 200\n")]

    monkeypatch.setattr("controlpanel.web.portal.views.logs.environment_logs", fake)
    query = "container=web&tail_lines=50&timestamps=on&search=GET"
    download = as_developer.get(url(env, f"logs/tail/?{query}&download=1"))
    assert download["Content-Disposition"].startswith("attachment;")
    assert "==> web-abc (web) <==\n2026-01-01T00:00:00Z GET / 200" in download.content.decode()
    assert seen["timestamps"] is True and seen["search"] == "GET"
    page = as_developer.get(url(env, "logs/")).content.decode()
    assert 'value="GET"' in page  # the last choice is kept for the next visit
