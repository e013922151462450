import logging

from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        # WeasyPrint reports each step of rendering an invoice PDF at INFO: ten log lines per
        # PDF. Quiet unless LOGGING configures the logger explicitly.
        progress = logging.getLogger("weasyprint.progress")
        if progress.level == logging.NOTSET:
            progress.setLevel(logging.WARNING)
