"""Hangar control panel: the Django project package."""

from controlpanel.celery import app as celery_app

__all__ = ["celery_app"]
