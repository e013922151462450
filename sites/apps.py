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
        from clusters.signals import cluster_changed
        from sites.receivers import cluster_changed_reapply

        # clusters announces its changes and knows nothing of sites (imports point down).
        cluster_changed.connect(cluster_changed_reapply, dispatch_uid="sites.cluster_reapply")
