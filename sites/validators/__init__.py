"""Validation rules for everything a user types about a site.

Pure functions: no database access and no model imports, so models, forms, serializers and
services share them. Each `validate_*` raises `django.core.exceptions.ValidationError` with a
message that states the rule and a stable `code`; the caller files it under its own field.
Where a normalised form makes sense (hostnames, CPU quantities) `validate_*` returns it.
"""

from clusters.quantities import (
    parse_cpu,
    parse_memory,
    validate_cpu,
    validate_memory,
    validate_request_within_limit,
)
from controlpanel.core.validators import (
    DNS_LABEL_MAX,
    namespace_name,
    validate_dns_label,
    validate_namespace_name,
)
from sites.validators.commands import (
    MAX_COMMAND_LENGTH,
    TIMEOUT_MAX_SECONDS,
    TIMEOUT_MIN_SECONDS,
    validate_command,
    validate_timeout,
)
from sites.validators.cron import (
    describe_cron_schedule,
    next_cron_runs,
    resolve_cron_schedule,
    validate_cron_schedule,
)
from sites.validators.envvars import (
    CONFIG_MAX_BYTES,
    ENV_VALUE_MAX_BYTES,
    RESERVED_ENV_KEYS,
    RESERVED_ENV_PREFIXES,
    validate_config_size,
    validate_env_key,
    validate_env_value,
)
from sites.validators.hostnames import normalise_hostname, validate_hostname
from sites.validators.images import (
    MAX_DIGEST_LENGTH,
    MAX_IMAGE_REFERENCE_LENGTH,
    ImageReference,
    parse_image_reference,
    validate_digest,
    validate_image_reference,
)
from sites.validators.names import (
    CRON_NAME_MAX,
    CRONJOB_NAME_MAX,
    CRONJOB_PREFIX,
    LABEL_VALUE_MAX,
    job_name,
    validate_cron_name,
)
from sites.validators.replicas import (
    CPU_TARGET_MAX,
    CPU_TARGET_MIN,
    MAX_REPLICAS,
    validate_autoscale,
    validate_replicas,
)

__all__ = [
    "CONFIG_MAX_BYTES",
    "CPU_TARGET_MAX",
    "CPU_TARGET_MIN",
    "CRONJOB_NAME_MAX",
    "CRONJOB_PREFIX",
    "CRON_NAME_MAX",
    "DNS_LABEL_MAX",
    "ENV_VALUE_MAX_BYTES",
    "LABEL_VALUE_MAX",
    "MAX_COMMAND_LENGTH",
    "MAX_DIGEST_LENGTH",
    "MAX_IMAGE_REFERENCE_LENGTH",
    "MAX_REPLICAS",
    "RESERVED_ENV_KEYS",
    "RESERVED_ENV_PREFIXES",
    "TIMEOUT_MAX_SECONDS",
    "TIMEOUT_MIN_SECONDS",
    "ImageReference",
    "describe_cron_schedule",
    "job_name",
    "namespace_name",
    "next_cron_runs",
    "normalise_hostname",
    "parse_cpu",
    "parse_image_reference",
    "parse_memory",
    "resolve_cron_schedule",
    "validate_autoscale",
    "validate_command",
    "validate_config_size",
    "validate_cpu",
    "validate_cron_name",
    "validate_cron_schedule",
    "validate_digest",
    "validate_dns_label",
    "validate_env_key",
    "validate_env_value",
    "validate_hostname",
    "validate_image_reference",
    "validate_memory",
    "validate_namespace_name",
    "validate_replicas",
    "validate_request_within_limit",
    "validate_timeout",
]
