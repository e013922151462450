"""Pages that depend on billing and backups degrade when those functions are missing:
"—" for costs, "cost preview unavailable" (the confirm step stays), no backups section."""

from __future__ import annotations

from clusters.models import Operation
from controlpanel.web import integrations
from tests.web.helpers import sign_in


def without(monkeypatch, *names):
    real = integrations.find

    def find(modules, *wanted):
        if set(wanted) & set(names):
            return None
        return real(modules, *wanted)

    monkeypatch.setattr(integrations, "find", find)


def test_without_a_billing_estimate_the_preview_says_so_and_still_asks(
    client, developer, populated, monkeypatch
):
    without(monkeypatch, "estimate_scale")
    sign_in(client, developer)
    preview = client.post(f"/environments/{populated.pk}/scaling/scale/", {"replicas": 2})
    assert "Cost preview unavailable" in preview.content.decode()
    assert not Operation.objects.filter(kind="environment.scale").exists()
    client.post(f"/environments/{populated.pk}/scaling/scale/", {"replicas": 2, "step": "confirm"})
    assert Operation.objects.filter(kind="environment.scale").exists()


def test_a_failing_estimate_does_not_take_the_page_down(client, developer, populated, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("billing is having a bad day")

    monkeypatch.setattr(integrations, "find", lambda modules, *names: broken)
    sign_in(client, developer)
    preview = client.post(f"/environments/{populated.pk}/scaling/scale/", {"replicas": 2})
    assert preview.status_code == 200
    assert "Cost preview unavailable" in preview.content.decode()
    dashboard = client.get("/")
    assert dashboard.status_code == 200


def test_without_a_cost_selector_the_dashboard_shows_a_dash(client, owner, populated, monkeypatch):
    without(monkeypatch, "client_environment_costs")
    sign_in(client, owner)
    page = client.get("/").content.decode()
    assert "Cost this month" in page and "<td>—</td>" in page


def test_without_backups_the_section_is_left_out(client, owner, populated, monkeypatch):
    monkeypatch.setattr(integrations, "backup_model", lambda: None)
    sign_in(client, owner)
    page = client.get(f"/environments/{populated.pk}/").content.decode()
    assert "/backups/" not in page
    assert client.get(f"/environments/{populated.pk}/backups/").status_code == 404
    assert "Last backup" not in client.get("/").content.decode()


def test_with_backups_the_tab_and_column_are_there(client, owner, populated):
    sign_in(client, owner)
    assert (
        f"/environments/{populated.pk}/backups/"
        in client.get(f"/environments/{populated.pk}/").content.decode()
    )
    assert "Last backup" in client.get("/").content.decode()
