"""Browser tests: Playwright driving Debian's Chromium against the live server.

They sign in as people do (staff with a TOTP code computed here from the device's key),
press the buttons, and watch pages update through htmx. With UPDATE_SCREENSHOTS=1 they
also rewrite the screenshots in docs/screenshots/ that the README shows. Without
/usr/bin/chromium they are skipped (.ci/run installs it); they never download a browser.
"""

from __future__ import annotations

import base64
import datetime
import os
import re
import tempfile
from decimal import Decimal
from pathlib import Path

import pytest
from django_otp.oath import totp

from clusters.models import NodePool, NodeSize, Operation
from sites import services
from sites.models import Environment, Release, Tier
from tests import factories as f
from tests.engine import drain

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
PASSWORD = "correct horse battery staple"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
VIEWPORT = {"width": 1280, "height": 800}
INGRESS_CLASS = {
    "apiVersion": "networking.k8s.io/v1",
    "kind": "IngressClass",
    "metadata": {"name": "nginx"},
    "spec": {"controller": "k8s.io/ingress-nginx"},
}

pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM), reason="needs Debian's chromium at /usr/bin/chromium"
)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
    # between browser steps are ordinary synchronous ones.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield browser
        browser.close()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture
def page(browser, live_server, settings):
    # The live server speaks plain HTTP.
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    context = browser.new_context(viewport=VIEWPORT, base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(10_000)
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    yield page
    context.close()
    assert violations == [], violations


def sign_in(page, email: str, password: str = PASSWORD) -> None:
    page.goto("/login/")
    page.get_by_label("Email address", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def screenshot(page, name: str) -> None:
    """Always taken (a page that cannot render fails here); written over the README's
    copies only with UPDATE_SCREENSHOTS=1, so a test run leaves the tree clean."""
    target = SCREENSHOTS if os.environ.get("UPDATE_SCREENSHOTS") else Path(tempfile.gettempdir())
    target.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target / name))


def code_from_secret(secret: str) -> str:
    key = base64.b32decode(secret.replace(" ", ""))
    return f"{totp(key, step=30, t0=0, digits=6, drift=0):06d}"


def provisioned(environment, actor) -> Environment:
    services.environment_provision(actor=actor, environment=environment)
    drain()
    environment.refresh_from_db()
    assert environment.status == Environment.Status.ACTIVE
    return environment


@pytest.fixture
def priced_pool(live_cluster, client_a):
    """A shared pool with a priced node size, so that cost estimates have figures."""
    from billing.models import NodePrice

    size, _ = NodeSize.objects.get_or_create(
        provider="digitalocean",
        slug="s-2vcpu-4gb",
        defaults={"vcpu": 2, "memory_mib": 4096, "disk_gib": 80},
    )
    NodePrice.objects.get_or_create(
        size=size,
        effective_from=datetime.date(2026, 1, 1),
        defaults={"monthly_price": Decimal("24.00"), "currency": "USD"},
    )
    return NodePool.objects.create(
        cluster=live_cluster,
        name="default-pool",
        size=size,
        count=3,
        allocatable_cpu_millicores=5700,
        allocatable_memory_bytes=3 * 3 * 2**30,
    )


@pytest.fixture
def acme_live(live_environment, priced_pool, owner, staff_admin):
    """Acme's production on the live sandbox, provisioned and running 1.0.0, with a staging
    environment and a second site beside it for a realistic dashboard."""
    Environment.objects.filter(pk=live_environment.pk).update(node_pool=priced_pool)
    live_environment.refresh_from_db()
    provisioned(live_environment, staff_admin)
    f.ReleaseFactory(
        environment=live_environment,
        image="registry.example.com/acme/web:0.9.4",
        status=Release.Status.SUCCEEDED,
        created_by=owner,
    )
    staging = f.EnvironmentFactory(
        site=live_environment.site,
        cluster=live_environment.cluster,
        node_pool=priced_pool,
        slug="staging",
        name="Staging",
        tier=Tier.STAGING,
        image="registry.example.com/acme/web:1.1.0",
        status=Environment.Status.ACTIVE,
        varnish_enabled=False,
    )
    f.ReleaseFactory(environment=staging, image=staging.image, status=Release.Status.SUCCEEDED)
    blog = f.SiteFactory(
        client=live_environment.site.client, slug="blog", name="Acme blog", kind="wordpress"
    )
    f.EnvironmentFactory(
        site=blog,
        cluster=live_environment.cluster,
        slug="production",
        name="Production",
        image="registry.example.com/acme/blog:6.6.2",
        status=Environment.Status.ACTIVE,
    )
    return live_environment


def test_staff_sign_in_with_totp_then_check_a_cluster(
    page, staff_admin, live_cluster, live_sandbox, priced_pool, live_environment
):
    # Two environments on the pool, so that its bars show requested CPU and memory.
    Environment.objects.filter(pk=live_environment.pk).update(
        node_pool=priced_pool, status=Environment.Status.ACTIVE, replicas=3
    )
    f.EnvironmentFactory(
        site=live_environment.site,
        cluster=live_cluster,
        node_pool=priced_pool,
        slug="staging",
        status=Environment.Status.ACTIVE,
        cpu_request="500m",
        memory_request="1Gi",
        cpu_limit="1",
        memory_limit="2Gi",
    )
    from clusters.sandbox import cert_manager_crds
    from tests.security.conftest import hangar_environment_role

    issuer = {
        "apiVersion": "cert-manager.io/v1",
        "kind": "ClusterIssuer",
        "metadata": {"name": live_cluster.cert_manager_issuer},
        "spec": {"acme": {"server": "https://acme.example/directory"}},
    }
    for obj in (INGRESS_CLASS, *cert_manager_crds(), issuer, hangar_environment_role()):
        live_sandbox.create_object(obj)
    live_sandbox.add_node("pool-a-1", pool="default-pool", cpu="2", memory="4Gi")
    live_sandbox.add_node("pool-a-2", pool="default-pool", cpu="2", memory="4Gi")
    sign_in(page, staff_admin.email)
    # Staff without a device are sent to enrolment before anything else.
    page.wait_for_url(re.compile(r"/account/two-factor/"))
    assert page.locator(".qr svg").is_visible()
    secret = page.locator("#totp-secret").inner_text()
    page.get_by_label("Code from your authenticator app", exact=True).fill(code_from_secret(secret))
    page.get_by_role("button", name="Turn on two-factor authentication").click()
    page.locator(".alert", has_text="Two-factor authentication is on").wait_for()

    page.goto(f"/staff/clusters/{live_cluster.pk}/")
    page.get_by_role("button", name="Test the connection").click()
    page.locator(".alert", has_text="Connection OK").wait_for()
    page.get_by_role("button", name="Sync nodes").click()
    page.locator(".alert", has_text="Synced: 1 node pool.").wait_for()
    assert page.locator("meter.hangar-meter").count() >= 2
    screenshot(page, "staff-cluster.png")


def test_owner_deploys_and_watches_the_progress_bar_reach_success(page, owner, acme_live):
    sign_in(page, owner.email)
    page.wait_for_url(re.compile(r"/$"))
    page.goto(f"/environments/{acme_live.pk}/")
    page.get_by_label("Image", exact=True).fill("registry.example.com/acme/web:1.1.0")
    page.get_by_role("button", name="Deploy", exact=True).click()
    page.wait_for_url(re.compile(r"/operations/\d+/"))
    live = page.locator("#op-live")
    assert live.get_attribute("data-status") == "pending"
    drain()  # a worker runs it; the page polls and updates in place
    page.locator('#op-live[data-status="succeeded"]').wait_for()
    assert page.locator("#op-progress").get_attribute("value") == "100"
    assert "Rollout complete" in page.locator("#op-log").inner_text()
    acme_live.refresh_from_db()
    assert acme_live.image == "registry.example.com/acme/web:1.1.0"

    page.goto(f"/environments/{acme_live.pk}/")
    screenshot(page, "environment.png")
    page.goto("/")
    page.get_by_role("heading", name="Acme website").wait_for()
    screenshot(page, "dashboard.png")


def test_an_operation_in_progress(page, owner, acme_live):
    """A deploy halfway through its rollout, as people see it while they wait."""
    operation = Operation.objects.create(
        kind="environment.deploy",
        cluster=acme_live.cluster,
        client=acme_live.site.client,
        target_type="environment",
        target_id=acme_live.pk,
        target_label=str(acme_live),
        lock_key=f"screenshot:{acme_live.pk}",
        params={"image": "registry.example.com/acme/web:1.2.0", "rollback_on_failure": True},
        status=Operation.Status.RUNNING,
        steps_done=1,
        steps_total=2,
        attempts=1,
        progress_message="Rollout: 1 of 2 updated replicas are available",
        requested_by=owner,
    )
    for message in (
        f"Requested by {owner}.",
        "Started on worker web-1 (attempt 1).",
        f"Applied 12 objects to {acme_live.namespace} (1 written, 11 unchanged).",
        "Rollout: 0 of 2 updated replicas are available",
        "Rollout: 1 of 2 updated replicas are available",
    ):
        f.OperationEventFactory(operation=operation, message=message)
    sign_in(page, owner.email)
    page.goto(f"/operations/{operation.pk}/")
    assert page.locator("#op-live").get_attribute("hx-trigger") == "every 1s"
    assert page.locator("#op-progress").get_attribute("value") == "50"
    screenshot(page, "operation.png")
    # It finishes: the page notices by itself and stops polling.
    Operation.objects.filter(pk=operation.pk).update(
        status=Operation.Status.SUCCEEDED, steps_done=2, progress_message="Done"
    )
    f.OperationEventFactory(operation=operation, message="Rollout complete.")
    page.locator('#op-live[data-status="succeeded"]').wait_for()
    assert page.locator("#op-live").get_attribute("hx-trigger") is None
    page.get_by_text("Rollout complete.").wait_for()


def test_scaling_shows_the_cost_difference_before_confirming(page, owner, acme_live):
    sign_in(page, owner.email)
    page.goto(f"/environments/{acme_live.pk}/scaling/")
    page.get_by_label("Replicas", exact=True).fill("4")
    page.get_by_role("button", name="Preview the cost").first.click()
    preview = page.locator("#cost-preview")
    preview.wait_for()
    difference = page.get_by_test_id("cost-difference").inner_text()
    assert "per month" in difference or "Cost preview unavailable" in difference
    assert not Operation.objects.filter(kind="environment.scale").exists()  # nothing yet
    page.get_by_role("button", name="Confirm: scale to 4").click()
    page.wait_for_url(re.compile(r"/operations/\d+/"))
    drain()
    page.locator('#op-live[data-status="succeeded"]').wait_for()
    acme_live.refresh_from_db()
    assert acme_live.replicas == 4


def test_a_bad_cron_line_is_shown_next_to_the_field(page, owner, acme_live):
    sign_in(page, owner.email)
    page.goto(f"/environments/{acme_live.pk}/cron/")
    page.get_by_label("Name", exact=True).fill("nightly")
    page.get_by_label("Schedule", exact=True).fill("61 * * * *")
    page.get_by_label("Command", exact=True).fill("drush cron")
    page.get_by_role("button", name="Add the schedule").click()
    error = page.locator("#id_schedule_error")
    error.wait_for()
    assert error.inner_text().strip()
    assert page.get_by_label("Schedule", exact=True).get_attribute("aria-invalid") == "true"
    assert not acme_live.cron_schedules.exists()


def test_a_viewer_sees_no_deploy_or_scale_controls(page, viewer, acme_live):
    sign_in(page, viewer.email)
    page.goto(f"/environments/{acme_live.pk}/")
    page.get_by_role("heading", name="Release history").wait_for()
    assert page.get_by_role("button", name="Deploy", exact=True).count() == 0
    assert page.get_by_label("Image", exact=True).count() == 0
    page.goto(f"/environments/{acme_live.pk}/scaling/")
    assert page.get_by_role("button", name="Preview the cost").count() == 0
    assert page.get_by_text("Your role cannot scale this environment.").is_visible()


def test_another_clients_environment_url_is_not_found(page, other_owner, environment):
    sign_in(page, other_owner.email)
    page.wait_for_url(re.compile(r"/$"))
    response = page.goto(f"/environments/{environment.pk}/")
    assert response.status == 404
    assert page.get_by_role("heading", name="Page not found").is_visible()
    assert environment.site.name not in page.content()


def test_back_up_production_and_restore_it_into_staging(
    page, owner, staff_admin, data_env, staging_env
):
    provisioned(data_env, staff_admin)
    provisioned(staging_env, staff_admin)
    sign_in(page, owner.email)
    page.goto(f"/environments/{data_env.pk}/backups/")
    page.get_by_role("button", name="Back up now").click()
    page.wait_for_url(re.compile(r"/operations/\d+/"))
    drain(timeout=60)
    page.locator('#op-live[data-status="succeeded"]').wait_for()

    page.goto(f"/environments/{data_env.pk}/backups/")
    page.get_by_role("link", name="Restore…").first.click()
    page.get_by_label("Restore into", exact=True).select_option(str(staging_env.pk))
    page.get_by_label("Type the target environment's name to confirm", exact=True).fill("Staging")
    page.get_by_role("button", name="Restore", exact=True).click()
    page.wait_for_url(re.compile(r"/operations/\d+/"))
    drain(timeout=60)
    page.locator('#op-live[data-status="succeeded"]').wait_for(timeout=20_000)
    restore = Operation.objects.get(kind="backup.restore")
    assert restore.target_id == staging_env.pk and restore.status == "succeeded"


# --- Operations that tell the truth (issue 17) ---------------------------------------------


def _in_background(operation):
    """Run `operation` as a worker would, beside the browser."""
    import threading

    from django.db import connection

    from clusters.engine.runner import run_operation

    def run() -> None:
        try:
            run_operation(operation.pk)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_a_failing_deploy_shows_its_cause_first(page, owner, acme_live, live_kube):
    live_kube.merge_patch(
        "apps/v1",
        "Deployment",
        "web",
        {"metadata": {"annotations": {"sandbox.hangar.dev/fail-rollout": "crash-loop"}}},
        namespace=acme_live.namespace,
        field_manager="test",
    )
    sign_in(page, owner.email)
    page.wait_for_url(re.compile(r"/$"))
    page.goto(f"/environments/{acme_live.pk}/")
    page.get_by_label("Image", exact=True).fill("registry.example.com/acme/web:1.2.0")
    page.get_by_role("button", name="Deploy", exact=True).click()
    page.wait_for_url(re.compile(r"/operations/\d+/"))
    drain()
    page.locator('#op-live[data-status="failed"]').wait_for()
    cause = page.locator(".op-error").inner_text()
    assert cause.startswith("Container web of pod web-")
    assert "keeps crashing (CrashLoopBackOff" in cause
    assert "exiting with code 1" in cause and "BackOff" in cause
    assert "Rolled back" in page.locator("#op-log").inner_text()


def test_production_promote_names_the_change_and_asks_first(page, owner, acme_live):
    sign_in(page, owner.email)
    page.wait_for_url(re.compile(r"/$"))
    page.goto(f"/environments/{acme_live.pk}/")
    promote = page.get_by_label("Promote what runs in", exact=True)
    assert promote.input_value() == ""  # no default source
    promote.select_option(label="Staging (registry.example.com/acme/web:1.1.0)")
    page.get_by_role("button", name=f"Promote to {acme_live.name}").click()
    change = page.get_by_test_id("confirm-change").first.inner_text()
    assert "registry.example.com/acme/web:1.1.0 (what runs in Staging) replaces" in change
    assert acme_live.image in change
    assert not Operation.objects.filter(kind="environment.deploy").exists()
    page.get_by_role("button", name=f"Confirm: Promote to {acme_live.name}").click()
    page.wait_for_url(re.compile(r"/operations/\d+/"))
    page.get_by_role("heading", name=re.compile("Promote from Staging")).wait_for()


def test_a_running_task_streams_its_output_and_can_be_stopped(
    page, owner, acme_live, live_sandbox, live_kube
):
    live_sandbox.controllers.job_duration = 120
    sign_in(page, owner.email)
    page.wait_for_url(re.compile(r"/$"))
    page.goto(f"/environments/{acme_live.pk}/tasks/")
    page.get_by_label("Command", exact=True).fill("drush updb -y")
    page.get_by_role("button", name="Run", exact=True).click()
    page.wait_for_url(re.compile(r"/operations/\d+/"))
    operation = Operation.objects.get(kind="environment.command")
    worker = _in_background(operation)
    try:
        # Its output shows while it runs, without a reload.
        page.locator("#op-output").wait_for()
        assert page.locator('#op-live[data-status="running"]').count() == 1
        assert "started image" in page.locator("#op-output").inner_text()
        page.reload()  # the Stop button is there for a running task
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="Stop", exact=True).click()
        page.locator('#op-live[data-status="cancelled"]').wait_for()
    finally:
        worker.join(timeout=30)
    job = Operation.objects.get(pk=operation.pk).params["job_name"]
    assert live_kube.get_or_none("batch/v1", "Job", job, acme_live.namespace) is None
    assert "Deleted job" in page.locator("#op-log").inner_text()


def test_a_form_shows_every_error_at_once(page, owner, acme_live):
    sign_in(page, owner.email)
    page.wait_for_url(re.compile(r"/$"))
    page.goto(f"/environments/{acme_live.pk}/cron/")
    page.get_by_label("Name", exact=True).fill("Bad_Name")
    page.get_by_label("Schedule", exact=True).fill("61 * * * *")
    page.get_by_role("button", name="Add the schedule").click()
    for field in ("name", "schedule", "command"):
        page.locator(f"#id_{field}_error").wait_for()
    assert 'try "bad-name"' in page.locator("#id_name_error").inner_text()


def test_the_environment_page_fits_a_phone(browser, live_server, settings, owner, acme_live):
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    context = browser.new_context(viewport={"width": 390, "height": 844}, base_url=live_server.url)
    phone = context.new_page()
    try:
        sign_in(phone, owner.email)
        phone.wait_for_url(re.compile(r"/$"))
        for tail in ("", "scaling/", "domains/", "logs/", "tasks/", "cron/", "variables/"):
            phone.goto(f"/environments/{acme_live.pk}/{tail}")
            wide = phone.evaluate(
                """() => [...document.querySelectorAll('body *')]
                    .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
                    .filter(e => !e.parentElement.closest('.table-responsive, .log-view, pre'))
                    .map(e => e.tagName + '.' + e.className + ' ' + e.textContent.slice(0, 40))
                    .slice(0, 8)"""
            )
            width = phone.evaluate("() => document.documentElement.scrollWidth")
            assert width <= 390 and not wide, (tail, width, wide)
    finally:
        context.close()
