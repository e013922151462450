import logging

from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        # Pools' dedication history is recorded on every NodePool save.
        from billing import dedication  # noqa: F401

        # WeasyPrint reports each step of rendering an invoice PDF at INFO: ten log lines per
        # PDF. Quiet unless LOGGING configures the logger explicitly.
        progress = logging.getLogger("weasyprint.progress")
        if progress.level == logging.NOTSET:
            progress.setLevel(logging.WARNING)
