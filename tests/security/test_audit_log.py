"""The audit log is append-only, records IP address and user agent for UI, API and admin
changes, and exports as CSV with the list's scoping (staff all, owners their client's)."""

from __future__ import annotations

import csv
import io

import pytest
from rest_framework.test import APIClient

from controlpanel.core import services as core_services
from controlpanel.core.audit import audit_record
from controlpanel.core.audit_export import CSV_COLUMNS, audit_events_csv
from controlpanel.core.models import AuditEvent, AuditLogIsAppendOnly
from sites import services as site_services
from tests import factories as f
from tests.web.helpers import sign_in

pytestmark = pytest.mark.django_db

AGENT = "Mozilla/5.0 (X11; Linux x86_64) HangarSecurityTest/1.0"
EXPORT = "/api/v1/audit-events/export.csv"


# --- append-only ------------------------------------------------------------------------


def test_a_stored_event_cannot_be_saved_again(client_a, owner):
    event = audit_record(actor=owner, action="test.event", client=client_a)
    event.action = "rewritten"
    with pytest.raises(AuditLogIsAppendOnly):
        event.save()
    assert AuditEvent.objects.get(pk=event.pk).action == "test.event"


def test_a_stored_event_cannot_be_deleted(client_a, owner):
    event = audit_record(actor=owner, action="test.event", client=client_a)
    with pytest.raises(AuditLogIsAppendOnly):
        event.delete()
    assert AuditEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.parametrize(
    "change",
    [
        lambda qs: qs.update(action="rewritten"),
        lambda qs: qs.delete(),
        lambda qs: qs.filter(action="test.event").update(changes={}),
        lambda qs: qs.bulk_update(list(qs), ["action"]),
        lambda qs: qs.update_or_create(action="test.event", defaults={"action": "x"}),
    ],
    ids=["update", "delete", "filtered-update", "bulk_update", "update_or_create"],
)
def test_querysets_refuse_bulk_changes(client_a, owner, change):
    audit_record(actor=owner, action="test.event", client=client_a)
    with pytest.raises(AuditLogIsAppendOnly):
        change(AuditEvent.objects.all())
    with pytest.raises(AuditLogIsAppendOnly):
        change(AuditEvent.objects.for_user(owner))
    assert AuditEvent.objects.filter(action="test.event").count() == 1


def test_deleting_a_person_keeps_their_events_readable(client_a, staff_admin):
    person = f.UserFactory(email="leaver@acme.test")
    event = audit_record(actor=person, action="test.event", client=client_a)
    person.delete()
    event = AuditEvent.objects.get(pk=event.pk)
    assert event.actor_id is None and event.actor_label == "leaver@acme.test"


def test_the_admin_offers_no_way_to_change_events(client, staff_admin, client_a):
    event = audit_record(actor=staff_admin, action="test.event", client=client_a)
    sign_in(client, staff_admin)
    url = f"/admin/core/auditevent/{event.pk}/"
    assert client.post(url + "delete/", {"post": "yes"}).status_code == 403
    assert client.get("/admin/core/auditevent/add/").status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk).exists()


# --- who, from where, with what ----------------------------------------------------------


def test_api_changes_record_ip_address_and_user_agent(client_a, owner, environment):
    api = APIClient(REMOTE_ADDR="203.0.113.7", HTTP_USER_AGENT=AGENT)
    api.force_authenticate(owner)
    response = api.post(
        f"/api/v1/environments/{environment.pk}/domains/",
        {"hostname": "audit.acme.example"},
        format="json",
    )
    assert response.status_code == 201, response.content
    event = AuditEvent.objects.get(action="domain.add")
    assert (event.actor, event.client, event.ip_address) == (owner, client_a, "203.0.113.7")
    assert event.user_agent == AGENT
    listed = api.get("/api/v1/audit-events/", {"action": "domain.add"}).json()["results"]
    assert listed[0]["user_agent"] == AGENT and listed[0]["ip_address"] == "203.0.113.7"


def test_ui_changes_record_ip_address_and_user_agent(client, owner, client_a, environment):
    sign_in(client, owner)
    response = client.post(
        f"/environments/{environment.pk}/domains/add/",
        {"hostname": "ui.acme.example", "tls_enabled": "on"},
        REMOTE_ADDR="198.51.100.4",
        HTTP_USER_AGENT=AGENT,
    )
    assert response.status_code < 400, response.content[:2000]
    event = AuditEvent.objects.get(action="domain.add")
    assert (event.actor, event.client) == (owner, client_a)
    assert (event.ip_address, event.user_agent) == ("198.51.100.4", AGENT)


def test_admin_changes_record_ip_address_and_user_agent(client, staff_admin, client_a):
    sign_in(client, staff_admin)
    response = client.post(
        f"/admin/core/client/{client_a.pk}/change/",
        {
            "name": "Acme Renamed",
            "billing_email": client_a.billing_email,
            "status": "active",
            "markup_percent": "0",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
            "memberships-MIN_NUM_FORMS": "0",
            "memberships-MAX_NUM_FORMS": "1000",
        },
        REMOTE_ADDR="192.0.2.9",
        HTTP_USER_AGENT=AGENT,
    )
    assert response.status_code == 302, response.content[:2000]
    event = AuditEvent.objects.get(action="client.update")
    assert event.actor == staff_admin and event.client == client_a
    assert (event.ip_address, event.user_agent) == ("192.0.2.9", AGENT)
    assert event.changes["name"] == ["Acme", "Acme Renamed"]


def test_the_ingress_header_names_the_client_address(settings, client_a, owner, environment):
    settings.HANGAR_CLIENT_IP_HEADER = "HTTP_X_REAL_IP"
    api = APIClient(REMOTE_ADDR="10.0.0.1", HTTP_X_REAL_IP="203.0.113.50")
    api.force_authenticate(owner)
    api.post(
        f"/api/v1/environments/{environment.pk}/domains/",
        {"hostname": "ip.acme.example"},
        format="json",
    )
    assert AuditEvent.objects.get(action="domain.add").ip_address == "203.0.113.50"
    # A header that is not an address is ignored rather than stored.
    api = APIClient(REMOTE_ADDR="10.0.0.1", HTTP_X_REAL_IP="<script>")
    api.force_authenticate(owner)
    api.post(
        f"/api/v1/environments/{environment.pk}/domains/",
        {"hostname": "ip2.acme.example"},
        format="json",
    )
    assert AuditEvent.objects.filter(action="domain.add").first().ip_address == "10.0.0.1"


def test_events_outside_a_request_are_the_systems(client_a):
    event = audit_record(actor=None, action="invoice.generate_month", client=client_a)
    assert event.actor_label == "system" and event.ip_address is None and event.user_agent == ""


# --- CSV export --------------------------------------------------------------------------


def rows(response) -> list[dict[str, str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


@pytest.fixture
def two_clients_events(client_a, other_client, owner, other_owner, staff_admin):
    core_services.client_update(actor=staff_admin, client=client_a, name="Acme Two")
    site_services.site_create(actor=owner, client=client_a, name="Blog", slug="blog")
    site_services.site_create(actor=other_owner, client=other_client, name="Shop", slug="shop")
    audit_record(actor=None, action="nodeprice.create")  # agency-wide, no client


def test_staff_export_every_event(staff_admin, two_clients_events):
    api = APIClient()
    api.force_authenticate(staff_admin)
    response = api.get(EXPORT)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    exported = rows(response)
    assert len(exported) == AuditEvent.objects.count()
    assert [r["id"] for r in exported] == sorted((r["id"] for r in exported), key=int)
    assert set(exported[0]) == set(CSV_COLUMNS)


def test_owners_export_only_their_clients_events(owner, client_a, two_clients_events):
    api = APIClient()
    api.force_authenticate(owner)
    exported = rows(api.get(EXPORT))
    assert exported
    assert {r["client_id"] for r in exported} == {str(client_a.pk)}
    listed = api.get("/api/v1/audit-events/?page_size=200").json()["results"]
    assert sorted(int(r["id"]) for r in exported) == sorted(e["id"] for e in listed)


@pytest.mark.parametrize("who", ["developer", "viewer"])
def test_developers_and_viewers_export_nothing(request, who, two_clients_events):
    api = APIClient()
    api.force_authenticate(request.getfixturevalue(who))
    response = api.get(EXPORT)
    assert response.status_code == 200
    assert rows(response) == []


def test_export_needs_a_signed_in_caller(db):
    assert APIClient().get(EXPORT).status_code == 401


def test_export_follows_the_lists_filters(staff_admin, client_a, two_clients_events):
    api = APIClient()
    api.force_authenticate(staff_admin)
    exported = rows(api.get(EXPORT, {"action": "site.create", "client": client_a.pk}))
    assert [r["action"] for r in exported] == ["site.create"]
    assert exported[0]["client"] == "Acme Two"


def test_export_by_read_token_and_csv_accept_header(as_token, api, staff_admin, two_clients_events):
    as_token(staff_admin, scopes=("read",))
    response = api.get(EXPORT, HTTP_ACCEPT="text/csv")
    assert response.status_code == 200
    assert rows(response)


def test_export_defuses_spreadsheet_formulas(client_a):
    event = audit_record(actor=None, action="test.event", client=client_a)
    AuditEvent.objects.create(
        client=client_a, action="test.event", actor_label="=HYPERLINK(1)", user_agent="+cmd"
    )
    lines = list(audit_events_csv(AuditEvent.objects.filter(pk__gte=event.pk)))
    last = next(csv.reader(io.StringIO(lines[-1])))
    assert last[CSV_COLUMNS.index("actor")] == "'=HYPERLINK(1)"
    assert last[CSV_COLUMNS.index("user_agent")] == "'+cmd"
