"""The Celery application. Tasks stay thin: they take an id and call a service."""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "controlpanel.settings")

app = Celery("controlpanel")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def reuse_database_connections(**kwargs: object) -> None:
    """Around every task, what Django does around every request: close this thread's
    connections only if they are broken or older than CONN_MAX_AGE (settings set
    CELERY_DB_REUSE_MAX, so Celery's own fixup no longer closes them every time)."""
    from django.db import close_old_connections

    task = kwargs.get("task")
    if getattr(getattr(task, "request", None), "is_eager", False):
        return  # run in the caller's thread (apply()): its connection is the caller's
    close_old_connections()
