from django.apps import AppConfig


class ControlPanelConfig(AppConfig):
    """The project itself, as an app: commands that span every app (demo data)."""

    name = "controlpanel"
    verbose_name = "Hangar"
