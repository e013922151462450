"""The API's interactive docs (Swagger UI at /api/docs/, ReDoc at /api/redoc/) come from
Hangar's own static files, pinned, and live under the strict Content-Security-Policy: they
work without internet and put no third-party code on the panel's origin."""

from __future__ import annotations

import os
import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from django.contrib.staticfiles import finders

from tests.web.test_browser import CHROMIUM, browser  # noqa: F401 - the Chromium fixture
from tests.web.test_security import POLICY, inline_problems

REDOC_POLICY = POLICY.replace(
    "style-src 'self'",
    "style-src 'self' 'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=' "
    "'sha256-QMIg+bpjm3JdElJ388KYke01izlUW0UoNOeKjpMxdgc='",
)


class References(HTMLParser):
    """Every URL a page loads or links to (src, href)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]


def references(html: str) -> list[str]:
    parser = References()
    parser.feed(html)
    return parser.urls


@pytest.mark.parametrize(
    ("path", "policy"), [("/api/docs/", POLICY), ("/api/redoc/", REDOC_POLICY)]
)
def test_docs_pages_load_only_hangars_own_files(client, db, settings, path, policy):
    response = client.get(path)
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == policy
    html = response.content.decode()
    assert inline_problems(html) == []
    urls = references(html)
    assert any(url.endswith(".js") for url in urls)
    for url in urls:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc, f"{path} loads {url} from elsewhere"
        if parts.path.startswith(settings.STATIC_URL):
            static = parts.path.removeprefix(settings.STATIC_URL)
            assert finders.find(static), f"{path}: {url} is not among the static files"


def test_swagger_ui_set_up_script_is_a_file_of_its_own(client, db):
    """The split view: the page's only script besides the bundles is its own URL."""
    html = client.get("/api/docs/").content.decode()
    script = next(url for url in references(html) if "script" in url and "static" not in url)
    response = client.get(script)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle(" in response.content.decode()
    assert "/api/schema/" in response.content.decode()


needs_chromium = pytest.mark.skipif(
    not os.path.exists(CHROMIUM), reason="needs Debian's chromium at /usr/bin/chromium"
)


def _open(browser, live_server, path: str):  # noqa: F811
    """Load `path` in Chromium; the requests it made and the CSP violations it reported."""
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    requests: list[str] = []
    violations: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.goto(live_server.url + path)
    return page, requests, violations


@needs_chromium
@pytest.mark.django_db(transaction=True)
def test_swagger_ui_renders_under_the_policy(browser, live_server):  # noqa: F811
    page, requests, violations = _open(browser, live_server, "/api/docs/")
    page.locator(".opblock").first.wait_for()
    assert page.locator(".info .title").first.inner_text().startswith("Hangar API")
    assert page.locator(".opblock").count() > 20
    assert page.get_by_text("/api/v1/environments/{id}/deploy/").count() == 1
    page.close()
    assert violations == []
    assert {urlsplit(url).netloc for url in requests} == {urlsplit(live_server.url).netloc}


@needs_chromium
@pytest.mark.django_db(transaction=True)
def test_redoc_renders_under_the_policy(browser, live_server):  # noqa: F811
    page, requests, violations = _open(browser, live_server, "/api/redoc/")
    page.locator("h1").first.wait_for()
    assert page.locator("h1").first.inner_text().startswith("Hangar API")
    page.get_by_role("menuitem", name="environments").first.wait_for()
    page.close()
    own = urlsplit(live_server.url).netloc
    elsewhere = [url for url in requests if urlsplit(url).netloc != own]
    # The bundle's "API docs by Redocly" footer asks for its logo from the vendor's CDN:
    # the policy refuses it, and nothing else is asked of another origin or refused.
    assert elsewhere == ["https://cdn.redoc.ly/redoc/logo-mini.svg"]
    assert len(violations) == 1 and re.search(r"Loading the image .*cdn\.redoc\.ly", violations[0])
