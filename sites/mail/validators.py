"""The rules of mail settings, shared by the model, forms and the API."""

from __future__ import annotations

import ipaddress
import re

from django.core.exceptions import ValidationError

_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)", re.ASCII)


def validate_smtp_host(value: str) -> str:
    """A host name (RFC 1123 labels, at most 253 characters) or an IP address; returns it
    in lower case without surrounding whitespace. Code ``smtp_host``."""
    host = (value or "").strip().lower().rstrip(".")
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        pass
    if not host or len(host) > 253 or not all(_LABEL.fullmatch(p) for p in host.split(".")):
        raise ValidationError(
            f'"{value}" is not a host name or IP address; give e.g. smtp.example.com.',
            code="smtp_host",
        )
    return host
