from django.apps import AppConfig


class SitesConfig(AppConfig):
    name = "sites"
    verbose_name = "Sites"

    def ready(self) -> None:
        from sites import operations  # noqa: F401  (registers the operation handlers)
        from sites.backups import handlers, tasks  # noqa: F401  (backups, restores; beat tasks)
