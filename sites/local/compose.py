"""The compose project that runs an environment on a laptop: its exact image (by digest),
the same variable names (secret values left out, to fill in), the Varnish sidecar with the
same VCL, MariaDB of the cluster's major version and a local mail catcher.

Pure rendering: the caller gives the facts it read (the live release, the database
server's version); nothing here touches the network.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import yaml
from django.conf import settings

from sites.manifests.common import VARNISH_PORT, WEB_PORT, Resources
from sites.manifests.config import configuration
from sites.manifests.varnish import VCL_PATH, varnishd_args, vcl
from sites.models import Environment

LOCAL_PORT = 8080
MAIL_UI_PORT = 8025
MAILPIT_IMAGE = "docker.io/axllent/mailpit:v1.21"
DEFAULT_MARIADB = "11.4"
# What the site reads for its database, storage and mail: pointed at the compose services
# or left for the developer.
DATABASE_KEYS = ("DB_", "MYSQL_", "MARIADB_")
STORAGE_KEYS = ("S3_",)
MAIL_KEYS = ("SMTP_",)


@dataclass(frozen=True)
class LocalProject:
    compose: str
    env_example: str
    vcl: str | None
    mariadb: str

    def files(self) -> dict[str, str]:
        files = {"compose.yaml": self.compose, ".env.example": self.env_example}
        if self.vcl is not None:
            files["varnish/default.vcl"] = self.vcl
        return files


def mariadb_tag(server_version: str | None) -> str:
    """``10.11.6-MariaDB-1:10.11.6+maria~ubu2204`` → ``10.11`` (the official image's tag
    of that major version); MySQL-style or unknown versions give the current LTS."""
    match = re.match(r"(\d+)\.(\d+)", server_version or "")
    if not match or "mariadb" not in (server_version or "").lower():
        return DEFAULT_MARIADB
    return f"{match[1]}.{match[2]}"


def _cpus(millicores: int) -> str:
    return f"{millicores / 1000:g}"


def _web(environment: Environment, image: str) -> dict:
    resources = Resources.of_environment(environment)
    local = {
        "SITE_ENVIRONMENT": environment.slug,
        "SITE_TIER": str(environment.tier),
        "DB_HOST": "db",
        "DB_PORT": "3306",
        "MYSQL_HOST": "db",
        "MYSQL_PORT": "3306",
        "MARIADB_HOST": "db",
        "MARIADB_PORT": "3306",
        "SMTP_MODE": "capture",
        "SMTP_HOST": "mail",
        "SMTP_PORT": "1025",
        "SMTP_TLS": "none",
        "SMTP_USER": "",
        "SMTP_PASSWORD": "",
    }
    service = {
        "image": image,
        "env_file": [".env"],
        "environment": local,
        "depends_on": {"db": {"condition": "service_healthy"}},
        # The same limits as one pod of the environment.
        "deploy": {
            "resources": {
                "limits": {
                    "cpus": _cpus(resources.cpu_limit),
                    "memory": f"{resources.memory_limit // 2**20}M",
                }
            }
        },
        "restart": "unless-stopped",
    }
    if not environment.varnish_enabled:
        service["ports"] = [f"127.0.0.1:{LOCAL_PORT}:{WEB_PORT}"]
    return service


def _varnish(environment: Environment) -> dict:
    return {
        "image": settings.VARNISH_IMAGE,
        "command": ["varnishd", *varnishd_args(environment)],
        "volumes": [f"./varnish/default.vcl:{VCL_PATH}:ro"],
        "ports": [f"127.0.0.1:{LOCAL_PORT}:{VARNISH_PORT}"],
        "depends_on": ["web"],
        "restart": "unless-stopped",
    }


def _db(tag: str) -> dict:
    return {
        "image": f"docker.io/library/mariadb:{tag}",
        "environment": {
            "MARIADB_DATABASE": "${DB_NAME:-app}",
            "MARIADB_USER": "${DB_USER:-app}",
            "MARIADB_PASSWORD": "${DB_PASSWORD:?set DB_PASSWORD in .env}",
            "MARIADB_RANDOM_ROOT_PASSWORD": "1",
        },
        # A dump (e.g. the sanitized one Hangar offers) in ./dump is loaded on first start.
        "volumes": ["db:/var/lib/mysql", "./dump:/docker-entrypoint-initdb.d:ro"],
        "healthcheck": {
            "test": ["CMD", "healthcheck.sh", "--connect", "--innodb_initialized"],
            "interval": "5s",
            "timeout": "5s",
            "retries": 30,
        },
        "restart": "unless-stopped",
    }


def _mail() -> dict:
    return {
        "image": MAILPIT_IMAGE,
        "ports": [f"127.0.0.1:{MAIL_UI_PORT}:8025"],
        "restart": "unless-stopped",
    }


def _env_example(environment: Environment) -> str:
    secret, plain = configuration(environment, environment.env_vars.all())
    lines = [
        f"# Variables of {environment.site.client.slug}/{environment.site.slug}/"
        f"{environment.slug}, as Hangar gives them to its containers.",
        "# Copy to .env and fill in what is marked. Database and mail point at the compose",
        "# services; secret values never leave Hangar.",
        "",
        "# The local database (the db service).",
        "DB_NAME=app",
        "DB_USER=app",
        "DB_PASSWORD=change-me-locally",
        "MYSQL_DATABASE=app",
        "MYSQL_USER=app",
        "MYSQL_PASSWORD=change-me-locally",
        "MARIADB_DATABASE=app",
        "MARIADB_USERNAME=app",
        "MARIADB_PASSWORD=change-me-locally",
        "",
        "# A random string of your own (Drupal's hash salt; the environment's stays secret).",
        "HASH_SALT=",
    ]
    skip = ("SITE_ENVIRONMENT", "SITE_TIER", "HASH_SALT")
    variables = [
        (key, value)
        for key, value in plain.items()
        if key not in skip and not key.startswith(DATABASE_KEYS + MAIL_KEYS)
    ]
    if variables:
        lines += ["", "# The environment's plain variables, with their values."]
        lines += [f"{key}={_quoted(value)}" for key, value in variables]
    secrets = [
        key
        for key in secret
        if key not in skip and not key.startswith(DATABASE_KEYS + MAIL_KEYS + STORAGE_KEYS)
    ]
    if secrets:
        lines += ["", "# The environment's secret variables: fill in (ask a project owner)."]
        lines += [f"{key}=" for key in secrets]
    lines += [
        "",
        "# Object storage for uploaded files: fill in to use a bucket of your own, or leave",
        "# empty and copy the files locally (see Hangar's Run locally page).",
        *(f"{key}=" for key in ("S3_ENDPOINT", "S3_REGION", "S3_BUCKET", "S3_PREFIX")),
        "S3_ACCESS_KEY=",
        "S3_SECRET_KEY=",
        "",
    ]
    return "\n".join(lines)


def _quoted(value: str) -> str:
    # Compose's .env syntax: single quotes keep a value literal; newlines cannot be kept.
    if re.fullmatch(r"[A-Za-z0-9_./:@,+-]*", value):
        return value
    return "'" + value.replace("\n", " ").replace("'", "'\"'\"'") + "'"


def render_local_project(
    environment: Environment, *, image: str, server_version: str | None
) -> LocalProject:
    """The compose project of `environment` running `image` (give it by digest)."""
    tag = mariadb_tag(server_version)
    services = {"web": _web(environment, image)}
    if environment.varnish_enabled:
        services["varnish"] = _varnish(environment)
    services["db"] = _db(tag)
    services["mail"] = _mail()
    # No top-level "name": compose names the project after its folder (the download's
    # folder is the namespace), and older compose versions refuse the key.
    project = {"services": services, "volumes": {"db": {}}}
    header = (
        f"# {environment.site.name} / {environment.name}, on your machine: the image that runs\n"
        f"# there, by digest. Generated by Hangar. Start with: docker compose up\n"
        f"# The site: http://127.0.0.1:{LOCAL_PORT}/  Captured mail: "
        f"http://127.0.0.1:{MAIL_UI_PORT}/\n"
    )
    compose = header + yaml.safe_dump(project, sort_keys=False, default_flow_style=False)
    return LocalProject(
        compose=compose,
        env_example=_env_example(environment),
        vcl=vcl(backend_host="web") if environment.varnish_enabled else None,
        mariadb=tag,
    )
