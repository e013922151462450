"""The "send test mail" Job: the toolbox image runs sites/scripts/test-mail.sh with the
environment's Secret ``app-env`` as its environment, so it connects exactly as the site
would, from the site's namespace and through its network policy."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from django.conf import settings

from sites.manifests.backups import SCRIPTS_DIR, TOOL_LABEL, tool_pod_spec
from sites.manifests.common import (
    NAME_LABEL,
    SECRET_NAME,
    TMP_DIR,
    Manifest,
    Resources,
    job,
)
from sites.manifests.workload import container_security_context

if TYPE_CHECKING:
    from sites.models import Environment

TEST_MAIL = "test-mail"
TEST_MAIL_TIMEOUT = 120


@cache
def test_mail_script() -> str:
    return (SCRIPTS_DIR / "test-mail.sh").read_text()


def render_test_mail_job(environment: Environment, *, name: str, recipient: str) -> Manifest:
    labels = {NAME_LABEL: TEST_MAIL, TOOL_LABEL: "true"}
    container: Manifest = {
        "name": TEST_MAIL,
        "image": settings.HANGAR_TOOLBOX_IMAGE,
        # The script travels in the Job itself: a test mail works on every cluster, also
        # those without the backup tools' ConfigMap.
        "command": ["/bin/sh", "-c", test_mail_script(), TEST_MAIL],
        "envFrom": [{"secretRef": {"name": SECRET_NAME}}],
        "env": [
            {"name": "HANGAR_MAIL_TO", "value": recipient},
            {"name": "HOME", "value": TMP_DIR},
            {"name": "TMPDIR", "value": TMP_DIR},
        ],
        "resources": Resources.of_environment(environment).to_container(),
        "securityContext": container_security_context(),
        "volumeMounts": [{"name": "tmp", "mountPath": TMP_DIR}],
    }
    pod = tool_pod_spec(container, [{"name": "tmp", "emptyDir": {"sizeLimit": "16Mi"}}])
    return job(
        environment,
        name,
        labels,
        pod,
        deadline_seconds=TEST_MAIL_TIMEOUT,
        keep_seconds=3600,
    )
