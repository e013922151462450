"""Commands run in an environment's image (one-off tasks, cron schedules) and their
timeouts."""

from __future__ import annotations

from django.core.exceptions import ValidationError

MAX_COMMAND_LENGTH = 2000
TIMEOUT_MIN_SECONDS = 60
TIMEOUT_MAX_SECONDS = 24 * 3600


def validate_command(value: str) -> str:
    """A shell command (run with /bin/sh -c): not empty, at most ``MAX_COMMAND_LENGTH``
    characters, no NUL. Returns it without surrounding whitespace. Code ``command``."""
    command = (value or "").strip()
    if not command:
        raise ValidationError("A command is required.", code="required")
    if len(command) > MAX_COMMAND_LENGTH:
        raise ValidationError(
            f"The command is {len(command)} characters long; the limit is {MAX_COMMAND_LENGTH}.",
            code="command",
        )
    if "\x00" in command:
        raise ValidationError("The command contains a NUL character.", code="command")
    return command


def validate_timeout(value: int) -> int:
    """A run's timeout in seconds: ``TIMEOUT_MIN_SECONDS`` (one minute) to
    ``TIMEOUT_MAX_SECONDS`` (24 hours). Code ``timeout``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"The timeout must be a whole number of seconds, not {value!r}.")
    if not TIMEOUT_MIN_SECONDS <= value <= TIMEOUT_MAX_SECONDS:
        raise ValidationError(
            f"A timeout of {value} seconds is out of range; use {TIMEOUT_MIN_SECONDS} seconds "
            f"to {TIMEOUT_MAX_SECONDS // 3600} hours.",
            code="timeout",
        )
    return value
