"""Reading kubeconfigs: enough to validate one and find its API server, never to log it."""

from __future__ import annotations

import re
from typing import Any

import yaml
from django.core.exceptions import ValidationError

MAX_KUBECONFIG_BYTES = 256 * 1024
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def parse_kubeconfig(text: str) -> dict[str, Any]:
    """Parse and check the structure of a kubeconfig; raise ValidationError saying what is
    wrong. Error messages never quote the document: it holds credentials."""
    if len(text.encode()) > MAX_KUBECONFIG_BYTES:
        raise ValidationError(
            f"A kubeconfig must be at most {MAX_KUBECONFIG_BYTES // 1024} KiB.", code="too_large"
        )
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ValidationError(f"Not valid YAML{where}.", code="yaml") from None
    if not isinstance(data, dict):
        raise ValidationError("A kubeconfig is a YAML mapping (kind: Config).", code="structure")
    for key in ("clusters", "users", "contexts"):
        if not isinstance(data.get(key), list) or not data[key]:
            raise ValidationError(f"The kubeconfig has no '{key}' list.", code="structure")
    contexts = {
        c.get("name"): c.get("context") or {} for c in data["contexts"] if isinstance(c, dict)
    }
    current = data.get("current-context") or (next(iter(contexts)) if len(contexts) == 1 else None)
    if current not in contexts:
        raise ValidationError(
            "The kubeconfig's current-context names no context in it.", code="context"
        )
    cluster_name = contexts[current].get("cluster")
    clusters = {
        c.get("name"): c.get("cluster") or {} for c in data["clusters"] if isinstance(c, dict)
    }
    if cluster_name not in clusters or not clusters[cluster_name].get("server"):
        raise ValidationError(
            f"Context '{current}' points at no cluster with a server address.", code="context"
        )
    return data


def kubeconfig_server(text: str) -> str:
    """The API server URL of the kubeconfig's current context."""
    data = parse_kubeconfig(text)
    contexts = {c["name"]: c.get("context") or {} for c in data["contexts"]}
    current = data.get("current-context") or next(iter(contexts))
    clusters = {c["name"]: c.get("cluster") or {} for c in data["clusters"]}
    return str(clusters[contexts[current]["cluster"]]["server"])


def validate_bucket_name(value: str) -> str:
    """S3 bucket naming rules: 3-63 lower-case letters, digits, dots and hyphens."""
    if not _BUCKET.match(value) or ".." in value:
        raise ValidationError(
            "A bucket name is 3-63 lower-case letters, digits, dots or hyphens, starting and "
            "ending with a letter or digit.",
            code="bucket",
        )
    return value


def build_kubeconfig(*, name: str, server: str, token: str, namespace: str = "default") -> str:
    """A kubeconfig (YAML) for a bearer-token service account at `server`."""
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": {"server": server}}],
        "users": [{"name": f"{name}-hangar", "user": {"token": token}}],
        "contexts": [
            {
                "name": name,
                "context": {"cluster": name, "user": f"{name}-hangar", "namespace": namespace},
            }
        ],
        "current-context": name,
    }
    return yaml.safe_dump(document, sort_keys=False)
