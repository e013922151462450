"""Bad input through the services: a field-keyed error naming the rule, and nothing saved."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from controlpanel.core.models import AuditEvent
from sites import services
from sites.models import CronSchedule, Domain, Environment, EnvVar, Site
from tests import factories as f


def assert_rejected(call, model, field: str, fragment: str) -> None:
    before = model.objects.count()
    audit_before = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as excinfo:
        call()
    errors = excinfo.value.message_dict
    assert field in errors, errors
    assert fragment.lower() in " ".join(errors[field]).lower(), errors
    assert model.objects.count() == before
    assert AuditEvent.objects.count() == audit_before


@pytest.mark.parametrize(
    ("overrides", "field", "fragment"),
    [
        ({"slug": "Www"}, "slug", "lowercase"),
        ({"slug": "w_w"}, "slug", "'_'"),
        ({"slug": "-www"}, "slug", "hyphen"),
        ({"slug": "x" * 64}, "slug", "63"),
        ({"slug": "x" * 58}, "slug", "namespace"),  # acme- + 58 + -e > 63
        ({"kind": "cobol"}, "kind", "not a valid choice"),
        ({"repository_url": "ftp://example.com/x"}, "repository_url", "git repository"),
        ({"image_repository": "registry.example.com/Acme/web"}, "image_repository", "lowercase"),
        (
            {"image_repository": "registry.example.com/acme/web:1.0"},
            "image_repository",
            "without a tag",
        ),
    ],
)
def test_site_create_rejects(overrides, field, fragment, owner, client_a):
    values = {"name": "Website", "slug": "www", "kind": "drupal"} | overrides
    assert_rejected(
        lambda: services.site_create(actor=owner, client=client_a, **values), Site, field, fragment
    )


@pytest.mark.parametrize(
    ("overrides", "field", "fragment"),
    [
        ({"slug": "Prod"}, "slug", "lowercase"),
        ({"slug": "p" * 60}, "slug", "63"),
        ({"image": "nginx"}, "image", "tag or digest"),
        ({"image": "registry.example.com/acme/web@sha256:abc"}, "image", "sha256"),
        ({"image": "UPPER/web:1"}, "image", "lowercase"),
        ({"replicas": 51}, "replicas", "50"),
        ({"replicas": -1}, "replicas", "0"),
        ({"autoscale_enabled": True, "autoscale_min": 5, "autoscale_max": 2}, "autoscale_max", "5"),
        ({"autoscale_enabled": True, "autoscale_min": 0}, "autoscale_min", "1"),
        ({"autoscale_enabled": True, "autoscale_cpu_target": 99}, "autoscale_cpu_target", "95"),
        ({"cpu_request": "lots"}, "cpu_request", "cpu"),
        ({"cpu_request": "2", "cpu_limit": "1"}, "cpu_limit", "2"),
        ({"memory_request": "512MB"}, "memory_request", "Mi"),
        ({"memory_request": "1Gi", "memory_limit": "512Mi"}, "memory_limit", "512Mi"),
        ({"memory_limit": "1Ti"}, "memory_limit", "256Gi"),
        ({"tier": "qa"}, "tier", "not a valid choice"),
    ],
)
def test_environment_create_rejects(overrides, field, fragment, owner, site, cluster):
    values = {"name": "Production", "slug": "production"} | overrides
    assert_rejected(
        lambda: services.environment_create(actor=owner, site=site, cluster=cluster, **values),
        Environment,
        field,
        fragment,
    )


def test_environment_rejects_a_pool_of_another_cluster_or_client(
    owner, site, cluster, other_client
):
    elsewhere = f.NodePoolFactory()
    assert_rejected(
        lambda: services.environment_create(
            actor=owner, site=site, cluster=cluster, name="P", slug="p", node_pool=elsewhere
        ),
        Environment,
        "node_pool",
        "another cluster",
    )
    theirs = f.NodePoolFactory(cluster=cluster, dedicated_client=other_client)
    assert_rejected(
        lambda: services.environment_create(
            actor=owner, site=site, cluster=cluster, name="P", slug="p", node_pool=theirs
        ),
        Environment,
        "node_pool",
        "another client",
    )


def test_duplicate_environment_slug_is_refused(owner, environment):
    assert_rejected(
        lambda: services.environment_create(
            actor=owner,
            site=environment.site,
            cluster=environment.cluster,
            name="Again",
            slug=environment.slug,
        ),
        Environment,
        "__all__",
        "already has an environment",
    )


@pytest.mark.parametrize(
    ("hostname", "fragment"),
    [
        ("not a host", "hostname"),
        ("https://www.example.com/", "bare hostname"),
        ("www.example.com:8080", "bare hostname"),
        ("*.example.com", "wildcard"),
        ("192.168.1.10", "ip address"),
        ("localhost", "two labels"),
        ("-bad.example.com", "hyphen"),
        ("a" * 64 + ".example.com", "63"),
    ],
)
def test_domain_add_rejects(hostname, fragment, owner, environment):
    assert_rejected(
        lambda: services.domain_add(actor=owner, environment=environment, hostname=hostname),
        Domain,
        "hostname",
        fragment,
    )


def test_hostnames_are_normalised_and_unique_across_all_clients(
    owner, other_owner, environment, other_environment
):
    domain = services.domain_add(actor=owner, environment=environment, hostname="Bücher.Example.")
    assert domain.hostname == "xn--bcher-kva.example"
    # Another client cannot claim it, in any spelling, and learns nothing about who has it.
    for spelling in ("xn--bcher-kva.example", "BÜCHER.example"):
        assert_rejected(
            lambda spelling=spelling: services.domain_add(
                actor=other_owner, environment=other_environment, hostname=spelling
            ),
            Domain,
            "hostname",
            "already in use",
        )
    assert "Acme" not in str(Domain._meta.get_field("hostname").error_messages["unique"])


def test_second_primary_domain_moves_the_flag(owner, environment):
    first = services.domain_add(
        actor=owner, environment=environment, hostname="a.example.com", is_primary=True
    )
    second = services.domain_add(
        actor=owner, environment=environment, hostname="b.example.com", is_primary=True
    )
    first.refresh_from_db()
    assert second.is_primary and not first.is_primary


@pytest.mark.parametrize(
    ("key", "value", "field", "fragment"),
    [
        ("1ABC", "x", "key", "starts with a digit"),
        ("MY-VAR", "x", "key", "'-'"),
        ("DB_PASSWORD", "x", "key", "set by hangar"),
        ("HANGAR_THING", "x", "key", "HANGAR_"),
        ("KUBERNETES_SERVICE_HOST", "x", "key", "KUBERNETES_"),
        ("OK", "a\x00b", "value", "NUL"),
        ("OK", "x" * (32 * 1024 + 1), "value", "32"),
    ],
)
def test_env_var_set_rejects(key, value, field, fragment, owner, environment):
    assert_rejected(
        lambda: services.env_var_set(actor=owner, environment=environment, key=key, value=value),
        EnvVar,
        field,
        fragment,
    )


def test_a_secret_cannot_be_made_plain(owner, environment):
    services.env_var_set(
        actor=owner, environment=environment, key="TOKEN", value="x", is_secret=True
    )
    with pytest.raises(ValidationError) as excinfo:
        services.env_var_set(actor=owner, environment=environment, key="TOKEN", value="x")
    assert "is_secret" in excinfo.value.message_dict
    assert EnvVar.objects.get(key="TOKEN").is_secret


@pytest.mark.parametrize(
    ("overrides", "field", "fragment"),
    [
        ({"schedule": "* * * *"}, "schedule", "exactly 5"),
        ({"schedule": "0 0 * * * *"}, "schedule", "seconds"),
        ({"schedule": "61 * * * *"}, "schedule", "minute"),
        ({"schedule": "0 25 * * *"}, "schedule", "hour"),
        ({"schedule": "0 0 H * *"}, "schedule", "H"),
        ({"schedule": "0 0 31 2 *"}, "schedule", "never"),
        ({"command": "   "}, "command", "required"),
        ({"name": "Drupal Cron"}, "name", "lowercase"),
        ({"name": "c" * 48}, "name", "47"),
        ({"timeout_seconds": 10}, "timeout_seconds", "60"),
        ({"timeout_seconds": 100000}, "timeout_seconds", "86400"),
    ],
)
def test_cron_schedule_create_rejects(overrides, field, fragment, owner, environment):
    values = {"name": "drupal-cron", "schedule": "H/15 * * * *", "command": "drush cron"}
    values |= overrides
    assert_rejected(
        lambda: services.cron_schedule_create(actor=owner, environment=environment, **values),
        CronSchedule,
        field,
        fragment,
    )


def test_cron_h_is_spread_per_environment_and_described(owner, environment, other_environment):
    mine = services.cron_schedule_create(
        actor=owner, environment=environment, name="cron", schedule="H H * * *", command="x"
    )
    assert mine.schedule == "H H * * *"  # stored as typed; resolved when rendered
    minute, hour, *rest = mine.resolved_schedule.split()
    assert 0 <= int(minute) <= 59 and 0 <= int(hour) <= 23 and rest == ["*", "*", "*"]
    assert mine.resolved_schedule == mine.resolved_schedule  # deterministic
    assert mine.description.startswith("At ")
    assert len(mine.next_runs(3)) == 3
    theirs = f.CronScheduleFactory(environment=other_environment, name="cron", schedule="H H * * *")
    assert theirs.seed != mine.seed


def test_cron_update_rejects_bad_schedule_and_keeps_the_old_one(owner, environment):
    cron = services.cron_schedule_create(
        actor=owner, environment=environment, name="cron", schedule="*/5 * * * *", command="x"
    )
    with pytest.raises(ValidationError) as excinfo:
        services.cron_schedule_update(actor=owner, cron=cron, schedule="every day")
    assert "schedule" in excinfo.value.message_dict
    assert CronSchedule.objects.get(pk=cron.pk).schedule == "*/5 * * * *"
    with pytest.raises(ValidationError) as excinfo:
        services.cron_schedule_update(actor=owner, cron=cron, environment_id=1)
    assert "environment_id" in excinfo.value.message_dict
