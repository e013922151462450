"""Destructive actions confirmed on a page of their own, server-side: revoking a token (a
site's CI token, an environment's deploy token, a personal API token: it breaks what uses
it) and removing a member. A GET shows what stops
working; a POST without the confirmation changes nothing and shows the page again; another
client's owner reaches neither page nor action, through either client's ids."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from controlpanel.core.models import Membership
from controlpanel.integrations.models import ApiToken
from controlpanel.integrations.tokens import (
    deploy_token_create,
    preview_token_create,
    token_create,
)
from tests import factories as f
from tests.web.helpers import sign_in


@pytest.fixture
def ci_token(owner, site):
    row, _ = preview_token_create(actor=owner, site=site, name="GitLab previews")
    ApiToken.objects.filter(pk=row.pk).update(
        last_used_at=timezone.now() - datetime.timedelta(hours=3)
    )
    return row


def test_revoking_a_ci_token_is_asked_on_its_own_page_then_done_by_name(
    client, owner, site, ci_token
):
    sign_in(client, owner)
    listing = client.get(f"/sites/{site.pk}/previews/").content.decode()
    revoke = f"/sites/{site.pk}/previews/tokens/{ci_token.pk}/revoke/"
    assert f'href="{revoke}"' in listing  # a link to the question, not a one-click form

    asked = client.get(revoke)
    page = asked.content.decode()
    assert asked.status_code == 200
    assert "GitLab previews" in page and ci_token.prefix in page
    assert "3\xa0hours ago" in page  # its last use
    assert "can no longer create, deploy or delete" in page

    for body in ({}, {"confirm": "gitlab previews"}):
        refused = client.post(revoke, body)
        assert refused.status_code == 400
        assert 'data-testid="confirm"' in refused.content.decode()
        ci_token.refresh_from_db()
        assert ci_token.revoked_at is None

    done = client.post(revoke, {"confirm": "GitLab previews"})
    assert done.status_code == 302 and done["Location"] == f"/sites/{site.pk}/previews/"
    ci_token.refresh_from_db()
    assert ci_token.revoked_at is not None


@pytest.mark.parametrize("kind", ["deploy", "personal"])
def test_every_token_revocation_shows_the_token_and_its_last_use_first(
    kind, client, owner, environment
):
    if kind == "deploy":
        token, _ = deploy_token_create(actor=owner, environment=environment, name="Jenkins")
        revoke = f"/environments/{environment.pk}/deploy-tokens/{token.pk}/revoke/"
    else:
        token, _ = token_create(actor=owner, name="Jenkins", scopes=["read"])
        revoke = f"/account/tokens/{token.pk}/revoke/"
    ApiToken.objects.filter(pk=token.pk).update(
        last_used_at=timezone.now() - datetime.timedelta(days=2)
    )
    sign_in(client, owner)
    page = client.get(revoke).content.decode()
    assert 'data-testid="confirm"' in page
    assert "Jenkins" in page and token.prefix in page and "2\xa0days ago" in page
    assert client.post(revoke).status_code == 400
    token.refresh_from_db()
    assert token.revoked_at is None


def test_removing_a_member_is_asked_on_its_own_page_and_needs_the_confirmation(
    client, owner, developer, client_a
):
    sign_in(client, owner)
    membership = Membership.objects.get(user=developer, client=client_a)
    remove = f"/clients/{client_a.pk}/members/{membership.pk}/remove/"
    listing = client.get(f"/clients/{client_a.pk}/members/").content.decode()
    assert f'href="{remove}"' in listing

    asked = client.get(remove)
    page = asked.content.decode()
    assert asked.status_code == 200
    assert developer.email in page and "Developer" in page
    assert 'name="confirm"' in page

    refused = client.post(remove)  # what a client-side-only confirmation let through
    assert refused.status_code == 400
    assert "Nothing was changed" in refused.content.decode()
    assert 'name="confirm" value="True"' in refused.content.decode()  # the button works now
    assert Membership.objects.filter(pk=membership.pk).exists()

    done = client.post(remove, {"confirm": "True"}, follow=True)
    assert f"Removed {developer.email}" in done.content.decode()
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_another_clients_owner_reaches_no_token_or_member_confirmation(
    client, owner, other_owner, other_client, site, ci_token, client_a
):
    membership = Membership.objects.get(user=owner, client=client_a)
    their_site = f.SiteFactory.create(client=other_client)
    personal, _ = token_create(actor=owner, name="GitLab previews", scopes=["read"])
    sign_in(client, other_owner)
    paths = [
        f"/account/tokens/{personal.pk}/revoke/",
        f"/sites/{site.pk}/previews/tokens/{ci_token.pk}/revoke/",
        # Their own ids in the path, Acme's object at the end.
        f"/sites/{their_site.pk}/previews/tokens/{ci_token.pk}/revoke/",
        f"/clients/{client_a.pk}/members/{membership.pk}/remove/",
        f"/clients/{other_client.pk}/members/{membership.pk}/remove/",
    ]
    for path in paths:
        assert client.get(path).status_code == 404, path
        confirmations = {"confirm": "GitLab previews"} if "tokens" in path else {"confirm": "True"}
        answer = client.post(path, confirmations)
        assert answer.status_code == 404, path
        assert "GitLab previews" not in answer.content.decode()
        assert owner.email not in answer.content.decode()
    assert not ApiToken.objects.filter(revoked_at__isnull=False).exists()
    assert Membership.objects.filter(pk=membership.pk).exists()
