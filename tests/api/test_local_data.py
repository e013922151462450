"""The data endpoints of "run locally" (issue 21.2): sanitized dumps, the files script and
the sanitize rules. A client sees only its own: another client's ids are "not found"."""

from __future__ import annotations

from sites.local.models import SanitizedDump
from tests import factories as f


def test_another_clients_backups_environments_and_sites_are_not_found(
    api, as_token, other_owner, environment
):
    backup = f.BackupFactory(environment=environment)
    SanitizedDump.objects.create(
        backup=backup, status=SanitizedDump.Status.SUCCEEDED, key=backup.key_prefix + "x"
    )
    as_token(other_owner)
    assert api.post(f"/api/v1/backups/{backup.pk}/sanitize/").status_code == 404
    assert api.get(f"/api/v1/backups/{backup.pk}/sanitized/").status_code == 404
    assert api.get(f"/api/v1/environments/{environment.pk}/files.sh").status_code == 404
    rules = f"/api/v1/sites/{environment.site.pk}/sanitize-rules/"
    assert api.get(rules).status_code == 404
    assert api.put(rules, {"sanitize_sql": ""}, format="json").status_code == 404
    assert SanitizedDump.objects.count() == 1


def test_viewers_may_not_take_data_home(api, as_token, viewer, environment):
    backup = f.BackupFactory(environment=environment)
    as_token(viewer)
    response = api.post(f"/api/v1/backups/{backup.pk}/sanitize/")
    assert response.status_code == 403
    assert api.get(f"/api/v1/backups/{backup.pk}/sanitized/").status_code == 403
    assert api.get(f"/api/v1/environments/{environment.pk}/files.sh").status_code == 403
    assert not SanitizedDump.objects.exists()


def test_the_rules_are_shown_to_members_and_changed_by_owners_only(
    api, as_token, owner, developer, site
):
    url = f"/api/v1/sites/{site.pk}/sanitize-rules/"
    as_token(developer)
    shown = api.get(url).json()
    assert shown["is_default"] is True and "UPDATE users_field_data" in shown["sanitize_sql"]
    assert api.put(url, {"sanitize_sql": "DELETE FROM watchdog;"}, format="json").status_code == 403

    as_token(owner)
    bad = api.put(url, {"sanitize_sql": "SELECT * FROM users;"}, format="json")
    assert bad.status_code == 400
    assert "is not allowed" in bad.json()["errors"]["sanitize_sql"][0]
    assert api.get(url).json()["is_default"] is True  # nothing changed

    custom = "DELETE FROM watchdog;\nUPDATE users_field_data SET mail = NULL;"
    saved = api.put(url, {"sanitize_sql": custom}, format="json").json()
    assert saved == {"sanitize_sql": custom, "is_default": False}
    site.refresh_from_db()
    assert site.sanitize_sql == custom


def test_a_backup_not_verified_is_refused_with_the_reason(api, as_token, developer, environment):
    environment.status = environment.Status.ACTIVE
    environment.save()
    backup = f.BackupFactory(environment=environment, status="failed")
    as_token(developer)
    response = api.post(f"/api/v1/backups/{backup.pk}/sanitize/")
    assert response.status_code == 400
    assert response.json()["errors"] == {"backup": ["Only a verified backup can be sanitized."]}
    assert not SanitizedDump.objects.exists()
