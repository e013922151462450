"""Names Hangar derives from what users type: every one must fit the limit the API server
applies to it, checked when the user types it, not when the server refuses it."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from controlpanel.core.validators import DNS_LABEL_MAX, validate_dns_label

# Label values (and so Job names: a Job's pods carry its name in the job-name label).
LABEL_VALUE_MAX = DNS_LABEL_MAX
# The CronJob controller names each Job "{cronjob}-{scheduled minute}", 11 characters
# more, so the API server refuses CronJob names over 52 characters.
CRONJOB_NAME_MAX = 52
CRONJOB_PREFIX = "cron-"
CRON_NAME_MAX = CRONJOB_NAME_MAX - len(CRONJOB_PREFIX)


def validate_cron_name(value: str) -> str:
    """A cron schedule's name: a DNS label that leaves its CronJob ``cron-{name}`` within
    the API server's 52 characters, i.e. at most 47 characters. Code ``cron_name``."""
    name = validate_dns_label(value)
    if len(CRONJOB_PREFIX + name) > CRONJOB_NAME_MAX:
        raise ValidationError(
            f'"{name}" is {len(name)} characters long; a cron schedule\'s name may be at most '
            f"{CRON_NAME_MAX}, since its CronJob cron-{{name}} may be at most "
            f"{CRONJOB_NAME_MAX} characters.",
            code="cron_name",
        )
    return name


def job_name(base: str, suffix: str) -> str:
    """``{base}-{suffix}`` cut to a label value's 63 characters by shortening `base`, so the
    unique suffix survives whole and the name never ends with a hyphen."""
    room = LABEL_VALUE_MAX - len(suffix) - 1
    return f"{base[:room].rstrip('-')}-{suffix}"
