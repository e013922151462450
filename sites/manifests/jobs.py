"""One-off commands (drush cr, wp cache flush, php spark migrate) as Jobs with the site's
own image and configuration: what a developer used SSH for."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sites.manifests.common import NAME_LABEL, Manifest, job
from sites.manifests.workload import app_container, app_volumes, pod_spec

if TYPE_CHECKING:
    from sites.models import Environment

TASK = "task"
TASK_LABEL = "hangar.dev/task"


def render_command_job(
    environment: Environment, *, name: str, command: str, timeout_seconds: int = 3600
) -> Manifest:
    labels = {NAME_LABEL: TASK, TASK_LABEL: name}
    container = app_container(environment, TASK)
    container["command"] = ["/bin/sh", "-c", command]
    pod = pod_spec(environment, [container], app_volumes())
    pod["restartPolicy"] = "Never"
    return job(
        environment, name, labels, pod, deadline_seconds=timeout_seconds, keep_seconds=24 * 3600
    )
