#!/usr/bin/env python
"""Django's command-line utility for Hangar."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "controlpanel.settings")
    # A checkout with neither DEBUG nor a SECRET_KEY configured is a developer's machine:
    # let manage.py (makemigrations, shell, ...) run there in development mode. Production
    # always sets SECRET_KEY, so it keeps DEBUG off; gunicorn and Celery never pass here
    # and still refuse to start without a key.
    configured = any(
        name in os.environ for name in ("DEBUG", "SECRET_KEY", "SECRET_KEY_FILE")
    ) or os.path.exists(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".env"))
    if not configured:
        os.environ["DEBUG"] = "1"
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
