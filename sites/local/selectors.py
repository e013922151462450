"""What a developer downloads to run an environment locally."""

from __future__ import annotations

import io
import logging
import zipfile

from django.core.exceptions import ValidationError

from clusters.dbserver import DatabaseServer, DatabaseServerError
from controlpanel.core.models import User
from controlpanel.core.permissions import Action, require
from sites.local.compose import LocalProject, render_local_project
from sites.local.models import SanitizedDump
from sites.models import Backup, Environment, Release
from sites.services.environments import pinned

logger = logging.getLogger(__name__)


def live_image(environment: Environment) -> str:
    """What runs, by digest when Hangar knows it (the newest live release's)."""
    release = (
        Release.objects.filter(environment=environment, status=Release.Status.SUCCEEDED)
        .order_by("-created_at", "-pk")
        .first()
    )
    if release is not None and release.image == environment.image:
        return pinned(release.image, release.digest)
    return environment.image


def _server_version(environment: Environment) -> str | None:
    cluster = environment.cluster
    if not cluster.db_host:
        return None
    try:
        return DatabaseServer.for_cluster(cluster).version()
    except DatabaseServerError as exc:
        logger.warning("database server of %s: %s", cluster, exc.message)
        return None


def environment_local_project(*, actor: User, environment: Environment) -> LocalProject:
    """The compose project of the environment, for someone who may deploy to it."""
    require(actor, Action.DEPLOY, environment.site.client)
    if not environment.image:
        raise ValidationError({"environment": "Nothing runs here yet: deploy an image first."})
    return render_local_project(
        environment, image=live_image(environment), server_version=_server_version(environment)
    )


def local_project_zip(project: LocalProject, *, folder: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in project.files().items():
            archive.writestr(f"{folder}/{name}", text)
        archive.writestr(f"{folder}/dump/.keep", "")
    return buffer.getvalue()


def newest_verified_backup(environment: Environment) -> Backup | None:
    return (
        Backup.objects.filter(environment=environment, status=Backup.Status.SUCCEEDED)
        .order_by("-taken_at", "-pk")
        .first()
    )


def newest_sanitized_dump(backup: Backup | None) -> SanitizedDump | None:
    """The backup's newest sanitized dump, whatever its status (to show progress)."""
    if backup is None:
        return None
    return backup.sanitized_dumps.order_by("-created_at", "-pk").first()
