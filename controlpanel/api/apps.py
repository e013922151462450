from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "controlpanel.api"
    label = "api"
    verbose_name = "API"

    def ready(self) -> None:
        from controlpanel.api import webhooks  # noqa: F401  (subscribes to domain events)
