from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "controlpanel.core"
    label = "core"
    verbose_name = "Tenancy and access"

    def ready(self) -> None:
        from controlpanel.core import checks  # noqa: F401  (registers the system checks)
