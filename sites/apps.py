from django.apps import AppConfig


class SitesConfig(AppConfig):
    name = "sites"
    verbose_name = "Sites"

    def ready(self) -> None:
        # Importing registers the operation handlers with the engine and the beat tasks.
        import sites.backups.handlers
        import sites.backups.tasks
        import sites.handlers
        import sites.local.handlers
        import sites.mail.handlers
        import sites.previews.tasks  # noqa: F401
