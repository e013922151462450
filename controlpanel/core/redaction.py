"""Keeping secrets out of log lines and error reports.

- `RedactSecretsFilter`: a logging filter that rewrites a record's message so that API
  tokens (`hgr_...`), webhook signing secrets (`whsec_...`), bearer credentials and
  `Authorization` headers never reach a handler. Settings attach it to the console
  handler and to the loggers that talk to the outside (kubernetes, urllib3, requests,
  botocore, django.request).
- `KubernetesBodyFilter`: the official client logs every response body at DEBUG; those
  bodies hold Secrets (base64, which no pattern can recognise), so they are replaced by
  their size.
- `SafeExceptionReporterFilter`: Django's error reports (500 emails, DEBUG pages) with the
  Authorization header, cookies and any setting whose name says secret masked, and every
  frame local masked unless it is known safe (numbers, dates, model instances).
"""

from __future__ import annotations

import datetime
import logging
import re
from decimal import Decimal
from typing import Any

from django.views.debug import SafeExceptionReporterFilter as DjangoReporterFilter

REDACTED = "[redacted]"

# hgr_ + 8 characters is a token's public prefix (shown in lists); the rest is the secret.
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b(hgr_[A-Za-z0-9_-]{0,8})[A-Za-z0-9_-]*"), r"\1…" + REDACTED),
    (re.compile(r"\bwhsec_[A-Za-z0-9_-]+"), "whsec_" + REDACTED),
    (
        re.compile(
            r"(?i)\b(authorization['\"]?\s*[:=]\s*['\"]?)(?:bearer|basic|token)?\s*[^'\"\s,}]+"
        ),
        r"\1" + REDACTED,
    ),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 " + REDACTED),
)


def redact(text: str) -> str:
    """`text` with tokens, signing secrets and credentials replaced by [redacted]."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecretsFilter(logging.Filter):
    """Formats the record's message once, redacted; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to the handler to report
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class KubernetesBodyFilter(logging.Filter):
    """Replaces the kubernetes client's "response body: ..." DEBUG lines by their size."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and record.msg.startswith("response body"):
            size = len(record.args[0]) if record.args and record.args[0] is not None else 0
            record.msg, record.args = "response body: (%d bytes, not logged)", (size,)
        return True


# Django's list plus what Hangar calls its secrets; matched against setting names, request
# headers (META keys) and, here, the names of local variables in tracebacks.
HIDDEN = re.compile(
    "API|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|AUTHORIZATION|CREDENTIAL|KUBECONFIG"
    "|SALT|BROKER_URL|EMAIL_URL|CACHE_URL|DATABASE_URL|LOCATION",
    flags=re.IGNORECASE,
)


# Local variables in tracebacks: the names above, and the ones services and views give
# values that may be secret (a variable's value, a parsed request body).
FRAME_HIDDEN = re.compile(
    HIDDEN.pattern + "|^(value|values|secret_env|secret_values|data|body|environ)$",
    flags=re.IGNORECASE,
)


# A local may hold anything a person typed (a secret variable's value, a kubeconfig, a
# password), in Hangar's frames and in the library frames between them (a decorator's
# `kwds`, a serializer's `data`): error reports show only values known to be safe.
_SAFE_TYPES = (int, float, bool, type(None), Decimal, datetime.date, datetime.timedelta)


def _known_safe(value: Any) -> bool:
    """Numbers, dates, None, and model instances (shown by their str(): a name)."""
    from django.db.models import Model

    return isinstance(value, (*_SAFE_TYPES, Model))


class SafeExceptionReporterFilter(DjangoReporterFilter):
    """Masks by default: every frame local that is not known safe (`_known_safe`)."""

    hidden_settings = HIDDEN

    def get_traceback_frame_variables(self, request: Any, tb_frame: Any) -> Any:
        cleansed = []
        for name, value in super().get_traceback_frame_variables(request, tb_frame):
            if not _known_safe(value) or FRAME_HIDDEN.search(str(name)):
                value = self.cleansed_substitute
            cleansed.append((name, value))
        return cleansed

    def get_safe_request_meta(self, request: Any) -> dict[str, Any]:
        meta = super().get_safe_request_meta(request)
        return {
            key: redact(value) if isinstance(value, str) else value for key, value in meta.items()
        }
