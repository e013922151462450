from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    """API tokens and webhooks: models and the services the REST API and the web UI both
    call (neither imports the other). The label stays "api": these tables, their migration
    history and content types were made when this code lived in controlpanel.api."""

    name = "controlpanel.integrations"
    label = "api"
    verbose_name = "API tokens and webhooks"

    def ready(self) -> None:
        from controlpanel.integrations import webhooks  # noqa: F401  (subscribes to domain events)
