from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "controlpanel.web"
    label = "web"
    verbose_name = "Web UI"
