"""A strict Content-Security-Policy holds: every page sends it, and no page contains an
inline script, an inline style or an inline event handler. Secrets never reach a page."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from tests import factories as f
from tests.web.helpers import sign_in

POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)


class InlineFinder(HTMLParser):
    """Collects what a strict CSP would block: <script> without src, <style> elements,
    style="" attributes, on*="" handlers and javascript: URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if tag == "script" and "src" not in names:
            self.problems.append("inline <script>")
        if tag == "style":
            self.problems.append("<style> element")
        for name, value in attrs:
            if name == "style":
                self.problems.append(f"style attribute on <{tag}>")
            if name.startswith("on"):
                self.problems.append(f"{name} handler on <{tag}>")
            if value and value.strip().lower().startswith("javascript:"):
                self.problems.append(f"javascript: URL on <{tag}>")
            if name.startswith("hx-on"):
                self.problems.append(f"{name} (needs eval) on <{tag}>")


def inline_problems(html: str) -> list[str]:
    finder = InlineFinder()
    finder.feed(html)
    return finder.problems


@pytest.fixture
def every_page(populated, cluster, client_a):
    from clusters.models import Operation

    operation = f.OperationFactory(
        cluster=cluster, client=client_a, target_id=populated.pk, status=Operation.Status.RUNNING
    )
    f.OperationEventFactory(operation=operation, message="Applied 9 objects")
    env = f"/environments/{populated.pk}/"
    return [
        "/",
        "/operations/",
        f"/operations/{operation.pk}/",
        f"/operations/{operation.pk}/live/",
        env,
        env + "scaling/",
        env + "domains/",
        env + "variables/",
        env + "cron/",
        env + "logs/",
        env + "tasks/",
        env + "settings/",
        env + "backups/",
        f"/clients/{client_a.pk}/members/",
        f"/clients/{client_a.pk}/webhooks/",
        "/account/tokens/",
        "/account/two-factor/",
        "/account/password/",
        "/staff/clients/",
        f"/staff/clients/{client_a.pk}/",
        "/staff/users/",
        "/staff/clusters/",
        f"/staff/clusters/{cluster.pk}/",
        "/staff/sizes/",
        "/staff/fleet/",
        "/staff/operations/",
        "/staff/drift/",
        "/staff/audit/",
    ]


def test_every_page_sends_the_policy_and_holds_no_inline_code(client, staff_admin, every_page):
    sign_in(client, staff_admin)
    for path in every_page:
        response = client.get(path)
        assert response.status_code == 200, path
        assert response["Content-Security-Policy"] == POLICY, path
        assert inline_problems(response.content.decode()) == [], path


@pytest.mark.parametrize("path", ["/login/", "/password-reset/", "/nowhere/"])
def test_signed_out_pages_too(client, db, path):
    response = client.get(path)
    assert response["Content-Security-Policy"] == POLICY
    assert inline_problems(response.content.decode()) == []


def test_forms_with_errors_hold_no_inline_code(client, owner, populated):
    sign_in(client, owner)
    response = client.post(
        f"/environments/{populated.pk}/cron/add/",
        {"name": "x", "schedule": "not a schedule", "command": "", "timeout_seconds": 5},
    )
    assert response.status_code == 400
    assert inline_problems(response.content.decode()) == []


def test_the_enrolment_qr_code_is_inline_svg_without_styles(client, staff_admin):
    client.force_login(staff_admin)
    page = client.get("/account/two-factor/").content.decode()
    assert "<svg" in page and inline_problems(page) == []


def test_pages_cannot_be_framed(client, db):
    response = client.get("/login/")
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


def test_a_secret_value_never_reaches_a_page(client, owner, populated):
    from sites.models import EnvVar

    sign_in(client, owner)
    secret = EnvVar.objects.get(environment=populated, key="API_SECRET")
    listing = client.get(f"/environments/{populated.pk}/variables/").content.decode()
    edit = client.get(f"/environments/{populated.pk}/variables/{secret.pk}/edit/").content.decode()
    for page in (listing, edit):
        assert "s3cr3t-never-shown" not in page
        assert "API_SECRET" in page
    assert "plain-value-123" in listing  # plain values are shown
    # Replacing it keeps it secret, and the new value is not echoed either.
    response = client.post(
        f"/environments/{populated.pk}/variables/{secret.pk}/edit/", {"value": "n3w-s3cr3t"}
    )
    assert response.status_code == 302
    secret.refresh_from_db()
    assert secret.value == "n3w-s3cr3t" and secret.is_secret
    assert "n3w-s3cr3t" not in client.get(response["Location"]).content.decode()


def test_kubeconfig_is_write_only(client, staff_admin, cluster):
    sign_in(client, staff_admin)
    page = client.get(f"/staff/clusters/{cluster.pk}/").content.decode()
    assert "test-token" not in page
    assert cluster.db_admin_password not in page and cluster.storage_secret_key not in page


def test_a_secret_typed_into_a_form_with_errors_is_not_sent_back(client, owner, populated):
    sign_in(client, owner)
    response = client.post(
        f"/environments/{populated.pk}/variables/set/",
        {"key": "1-not-a-key", "value": "typed-s3cret", "is_secret": "on"},
    )
    assert response.status_code == 400
    assert "typed-s3cret" not in response.content.decode()
