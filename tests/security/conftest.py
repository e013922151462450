"""Fixtures of the security tests: the backup tests' real parts (MariaDB, an S3 API server,
a sandbox that runs tool Jobs), and Hangar's ClusterRole read from docs/cluster-access.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.backups.conftest import (  # noqa: F401
    bucket,
    data_cluster,
    data_env,
    mariadb,
    s3,
    s3_server,
    tool_sandbox,
    tool_sandbox_token,
    unique,
)

ROOT = Path(__file__).resolve().parents[2]
CLUSTER_ACCESS_DOC = ROOT / "docs" / "cluster-access.md"


def cluster_access_objects() -> list[dict]:
    """The objects of the YAML block in docs/cluster-access.md: the one source of truth for
    what Hangar's service account is granted."""
    text = CLUSTER_ACCESS_DOC.read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", text, flags=re.DOTALL)
    objects = [obj for block in blocks for obj in yaml.safe_load_all(block) if obj]
    assert objects, "docs/cluster-access.md holds no YAML block"
    return objects


def _cluster_role(name: str) -> dict:
    (role,) = [
        o
        for o in cluster_access_objects()
        if o["kind"] == "ClusterRole" and o["metadata"]["name"] == name
    ]
    return role


def hangar_cluster_role() -> dict:
    """Bound cluster-wide: what Hangar does outside environment namespaces."""
    return _cluster_role("hangar")


def hangar_environment_role() -> dict:
    """Bound by Hangar itself in each environment namespace it creates."""
    return _cluster_role("hangar-environment")


@pytest.fixture
def cluster_role_rules() -> list[dict]:
    return hangar_cluster_role()["rules"]


@pytest.fixture
def environment_role_rules() -> list[dict]:
    return hangar_environment_role()["rules"]


def grant_documented_access(sandbox, settings, cluster_rules, environment_rules) -> None:
    """Make the sandbox grant Hangar's service account exactly these rules: the first
    through its ClusterRoleBinding, the second through the ClusterRole Hangar binds in each
    namespace it creates (stored in the sandbox as docs/cluster-access.md installs it)."""
    settings.HANGAR_SERVICE_ACCOUNT = ":".join(sandbox.user.split(":")[2:4])
    sandbox.create_object(hangar_environment_role() | {"rules": environment_rules})
    sandbox.allow_only(cluster_rules)
