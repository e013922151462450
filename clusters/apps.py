import os
import sys

from django.apps import AppConfig


class ClustersConfig(AppConfig):
    name = "clusters"
    verbose_name = "Clusters"

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
