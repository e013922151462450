"""Run this environment on my laptop: a compose project valid against the Compose
Specification's schema, running the digest that runs in the cluster, with the same
variable names (secret values left out), the same VCL and the cluster's MariaDB."""

from __future__ import annotations

import json
import zipfile
from io import BytesIO
from pathlib import Path

import jsonschema
import pytest
import yaml
from django.core.exceptions import PermissionDenied

from sites.local.compose import mariadb_tag
from sites.local.selectors import environment_local_project, local_project_zip
from sites.manifests.varnish import vcl
from sites.models import Environment, Release
from tests import factories as f

SCHEMA = json.loads((Path(__file__).parent.parent / "data" / "compose-spec.json").read_text())
DIGEST = "sha256:" + "4f" * 32
IMAGE = "registry.example.com/acme/web:1.4.2"


@pytest.fixture
def running(environment, owner):
    environment.image = IMAGE
    environment.status = Environment.Status.ACTIVE
    environment.varnish_enabled = True
    environment.save()
    f.ReleaseFactory(
        environment=environment, image=IMAGE, digest=DIGEST, status=Release.Status.SUCCEEDED
    )
    f.EnvVarFactory(environment=environment, key="COLOR", value="blue")
    f.EnvVarFactory(
        environment=environment, key="API_TOKEN", value="tok-4471-secret", is_secret=True
    )
    return environment


def test_the_compose_project_is_valid_and_runs_the_digest(running, developer):
    project = environment_local_project(actor=developer, environment=running)
    document = yaml.safe_load(project.compose)
    jsonschema.Draft201909Validator(SCHEMA).validate(document)
    web = document["services"]["web"]
    assert web["image"] == f"{IMAGE}@{DIGEST}"
    assert web["environment"]["DB_HOST"] == "db" and web["environment"]["SMTP_HOST"] == "mail"
    assert document["services"]["db"]["image"] == "docker.io/library/mariadb:11.4"
    assert set(document["services"]) == {"web", "varnish", "db", "mail"}
    assert document["services"]["varnish"]["volumes"] == [
        "./varnish/default.vcl:/etc/varnish/default.vcl:ro"
    ]
    assert project.vcl == vcl(backend_host="web")
    assert project.vcl.replace('"web"', '"127.0.0.1"').split("\n", 3)[3] == vcl().split("\n", 3)[3]


def test_variables_keep_their_names_and_secrets_stay_out(running, developer):
    env = environment_local_project(actor=developer, environment=running).env_example
    assert "COLOR=blue" in env
    assert "API_TOKEN=\n" in env and "tok-4471-secret" not in env
    assert running.hash_salt not in env and "HASH_SALT=\n" in env
    keys = {line.split("=", 1)[0] for line in env.splitlines() if "=" in line and line[0] != "#"}
    assert {"DB_NAME", "DB_USER", "DB_PASSWORD", "S3_BUCKET", "COLOR", "API_TOKEN"} <= keys


def test_the_zip_holds_every_file(running, developer):
    project = environment_local_project(actor=developer, environment=running)
    archive = zipfile.ZipFile(BytesIO(local_project_zip(project, folder="acme-www")))
    assert set(archive.namelist()) == {
        "acme-www/compose.yaml",
        "acme-www/.env.example",
        "acme-www/varnish/default.vcl",
        "acme-www/dump/.keep",
    }


def test_the_database_major_version_follows_the_server():
    assert mariadb_tag("10.11.6-MariaDB-1:10.11.6+maria~ubu2204") == "10.11"
    assert mariadb_tag("11.4.2-MariaDB") == "11.4"
    assert mariadb_tag("8.0.36") == "11.4", "MySQL: the MariaDB LTS"
    assert mariadb_tag(None) == "11.4"


def test_the_database_version_is_read_from_the_clusters_server(running, developer, settings):
    import pymysql

    from tests.backups.helpers import MARIADB

    running.cluster.db_host = MARIADB["host"]
    running.cluster.db_port = MARIADB["port"]
    running.cluster.db_admin_user = "root"
    running.cluster.db_admin_password = ""
    running.cluster.save()
    server = pymysql.connect(host=MARIADB["host"], port=MARIADB["port"], user="root")
    with server.cursor() as cursor:
        cursor.execute("SELECT VERSION()")
        version = cursor.fetchone()[0]
    project = environment_local_project(actor=developer, environment=running)
    assert project.mariadb == mariadb_tag(version)


def test_only_people_who_may_deploy_get_it(running, viewer, other_owner):
    for actor in (viewer, other_owner):
        with pytest.raises(PermissionDenied):
            environment_local_project(actor=actor, environment=running)
