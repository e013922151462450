"""The environment's configuration: Secret ``app-env`` and ConfigMap ``app-config``."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from sites.manifests.common import CONFIGMAP_NAME, SECRET_NAME, Manifest, metadata

if TYPE_CHECKING:
    from sites.models import Environment, EnvVar

# What the API server accepts as a Secret or ConfigMap key.
_DATA_KEY_RE = re.compile(r"[-._a-zA-Z0-9]+", re.ASCII)


def configuration(
    environment: Environment,
    env_vars: Iterable[EnvVar],
    secret_env: Mapping[str, str] | None = None,
) -> tuple[dict[str, str], dict[str, str]]:
    """Split the variables into (secret, plain) maps, with Hangar's own variables added.

    Hangar's variables win over the user's: most of their keys are reserved by the key
    validator already, but SITE_TIER is not, and a key reserved later may still be stored.
    A key lives in one map only, so the order of ``envFrom`` never decides a value.
    """
    env_vars = list(env_vars)
    user_secret = {var.key: var.value for var in env_vars if var.is_secret}
    user_plain = {var.key: var.value for var in env_vars if not var.is_secret}
    # str(): provisioning may hand over a port as an int.
    hangar_secret = {"HASH_SALT": environment.hash_salt} | {
        key: str(value) for key, value in (secret_env or {}).items()
    }
    # str(): a just-assigned choice is a Tier member, which YAML cannot represent.
    hangar_plain = {"SITE_ENVIRONMENT": environment.slug, "SITE_TIER": str(environment.tier)}

    secret = {k: v for k, v in user_secret.items() if k not in hangar_plain} | hangar_secret
    plain = {k: v for k, v in user_plain.items() if k not in secret} | hangar_plain
    for key in (*secret, *plain):
        if not _DATA_KEY_RE.fullmatch(key):
            raise ValueError(f"{key!r} cannot be a key of a Secret or ConfigMap.")
    return dict(sorted(secret.items())), dict(sorted(plain.items()))


def render_secret(environment: Environment, values: Mapping[str, str]) -> Manifest:
    # data, not stringData: the API server stores stringData as data anyway, so applying
    # data is what makes a re-apply of unchanged values a no-op.
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata(environment, SECRET_NAME),
        "type": "Opaque",
        "data": {
            key: base64.b64encode(value.encode("utf-8")).decode("ascii")
            for key, value in sorted(values.items())
        },
    }


def render_configmap(environment: Environment, values: Mapping[str, str]) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(environment, CONFIGMAP_NAME),
        "data": dict(sorted(values.items())),
    }


def config_checksum(secret: Manifest, configmap: Manifest) -> str:
    """sha256 (hex) of the canonical JSON of both data maps: sorted keys, no whitespace.

    The Secret's values enter base64-encoded, as they are in the object. HASH_SALT is always
    among them, so the checksum, visible on the pods, gives no handle for guessing a value.
    """
    canonical = json.dumps(
        {"configmap": configmap.get("data", {}), "secret": secret.get("data", {})},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
