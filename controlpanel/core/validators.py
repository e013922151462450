"""Validators shared by every app (the lowest layer; app-specific rules live in the apps)."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError


def _require_str(value: object, what: str, code: str) -> str:
    # Model fields and serializers can hand us None or numbers; a clear error beats a TypeError.
    if not isinstance(value, str):
        raise ValidationError(f"{what} must be text, not {type(value).__name__}.", code=code)
    return value


DNS_LABEL_MAX = 63
_DNS_LABEL_RE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", re.ASCII)


def validate_dns_label(value: str) -> str:
    """Validate a DNS-1123 label, the rule for every slug (client, site, environment, cluster).

    Rule: 1 to 63 characters, only lowercase letters ``a-z``, digits and ``-``, starting and
    ending with a letter or digit (``^[a-z0-9]([-a-z0-9]*[a-z0-9])?$``). Returns the value with
    no change: slugs are stored as given, so whitespace is an error. Error code ``dns_label``.
    """
    return _check_dns_label(value, "slug")


def suggest_dns_label(value: str) -> str:
    """A valid DNS label close to `value` ("Bad_Name" → "bad-name"), or "" if none is."""
    lowered = "".join(c if c.isascii() and c.isalnum() else "-" for c in value.lower())
    label = re.sub(r"-{2,}", "-", lowered)[:DNS_LABEL_MAX].strip("-")
    return label if _DNS_LABEL_RE.fullmatch(label) else ""


def _check_dns_label(value: str, noun: str) -> str:
    value = _require_str(value, f"A {noun}", "dns_label")
    if not value:
        raise ValidationError(f"A {noun} must not be empty.", code="dns_label")
    if len(value) > DNS_LABEL_MAX:
        raise ValidationError(
            f'"{value}" is {len(value)} characters long; a {noun} may be at most '
            f"{DNS_LABEL_MAX} characters.",
            code="dns_label",
        )
    if _DNS_LABEL_RE.fullmatch(value):
        return value
    suggestion = suggest_dns_label(value)
    # Only a suggestion that is itself valid is offered.
    try_it = f' (try "{suggestion}")' if suggestion else ""
    if any(c.isupper() for c in value):
        raise ValidationError(
            f'"{value}" contains uppercase letters; a {noun} must be lowercase{try_it}.',
            code="dns_label",
        )
    bad = sorted({c for c in value if not (c.isascii() and (c.isalnum() or c == "-"))})
    if bad:
        shown = ", ".join(repr(c) for c in bad)
        raise ValidationError(
            f'"{value}" contains {shown}; a {noun} may only contain lowercase letters a-z, '
            f"digits and hyphens{try_it}.",
            code="dns_label",
        )
    raise ValidationError(
        f'"{value}" starts or ends with a hyphen; a {noun} must start and end with a letter '
        "or digit.",
        code="dns_label",
    )


def namespace_name(client_slug: str, site_slug: str, env_slug: str) -> str:
    """Return the Kubernetes namespace for an environment: ``{client}-{site}-{env}``."""
    return f"{client_slug}-{site_slug}-{env_slug}"


def validate_namespace_name(value: str) -> str:
    """Validate a namespace name: a DNS-1123 label of at most 63 characters.

    The length is checked first, with its own code ``namespace_too_long``, because it is the
    usual failure: three individually valid slugs joined by hyphens can exceed the limit. Other
    violations use code ``dns_label``.
    """
    value = _require_str(value, "A namespace name", "dns_label")
    if len(value) > DNS_LABEL_MAX:
        raise ValidationError(
            f'The Kubernetes namespace "{value}" would be {len(value)} characters long; the '
            f"limit is {DNS_LABEL_MAX}. Use shorter client, site or environment slugs.",
            code="namespace_too_long",
        )
    return _check_dns_label(value, "namespace name")
