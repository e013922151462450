import os
import sys

from django.apps import AppConfig


class ControlPanelConfig(AppConfig):
    """The project itself, as an app: commands that span every app (demo data), and the
    embedded worker, which starts here because this app is ready after every app that
    registers operation handlers (INSTALLED_APPS order)."""

    name = "controlpanel"
    verbose_name = "Hangar"

    def ready(self) -> None:
        from django.conf import settings

        # The embedded default: the development server's serving process runs operations
        # in a thread (the autoreloader's parent process does not serve, so it does not).
        serving = "runserver" in sys.argv and (
            os.environ.get("RUN_MAIN") == "true" or "--noreload" in sys.argv
        )
        if settings.HANGAR_OPERATION_DISPATCH == "thread" and serving:
            from clusters.engine.dispatch import embedded_worker

            embedded_worker().start()
