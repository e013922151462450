"""Hostnames of domains: RFC 1123 labels, IDNA-normalised, no wildcards or IP addresses."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

import idna
from django.core.exceptions import ValidationError

from controlpanel.core.validators import DNS_LABEL_MAX, _require_str

_HOSTNAME_MAX = 253
_LDH_LABEL_RE = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?", re.ASCII | re.IGNORECASE)


def normalise_hostname(value: str) -> str:
    """Return the canonical ASCII form of a hostname.

    Strips surrounding whitespace and one trailing dot, converts internationalised labels to
    punycode with IDNA 2008 / UTS-46 (``bücher.example`` → ``xn--bcher-kva.example``) and
    lower-cases. Raises ``ValidationError`` (code ``hostname``) when IDNA rejects the name.
    """
    value = _require_str(value, "A hostname", "hostname").strip()
    value = value.removesuffix(".")
    if not value:
        raise ValidationError("The hostname is empty.", code="hostname")
    try:
        ascii_name = idna.encode(value, uts46=True, std3_rules=True, transitional=False)
    except (idna.IDNAError, UnicodeError) as exc:
        raise ValidationError(
            f'"{value}" is not a valid hostname: {exc}.', code="hostname"
        ) from exc
    return ascii_name.decode("ascii").lower()


def _looks_like_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value.removeprefix("[").removesuffix("]"))
    except ValueError:
        return False
    return True


def _check_ascii_label(label: str, hostname: str) -> None:
    if not label:
        raise ValidationError(
            f'"{hostname}" has an empty label (two dots in a row, or a leading dot).',
            code="hostname",
        )
    if len(label) > DNS_LABEL_MAX:
        raise ValidationError(
            f'The label "{label}" in "{hostname}" is {len(label)} characters long; each label '
            f"may be at most {DNS_LABEL_MAX} characters.",
            code="hostname",
        )
    if _LDH_LABEL_RE.fullmatch(label):
        return
    if label.startswith("-") or label.endswith("-"):
        raise ValidationError(
            f'The label "{label}" in "{hostname}" starts or ends with a hyphen; labels must '
            "start and end with a letter or digit.",
            code="hostname",
        )
    bad = ", ".join(repr(c) for c in sorted({c for c in label if not (c.isalnum() or c == "-")}))
    raise ValidationError(
        f'The label "{label}" in "{hostname}" contains {bad}; hostnames may only contain '
        "letters, digits and hyphens.",
        code="hostname",
    )


def _check_hostname_length(hostname: str) -> None:
    if len(hostname) > _HOSTNAME_MAX:
        raise ValidationError(
            f"The hostname is {len(hostname)} characters long; the limit is {_HOSTNAME_MAX}.",
            code="hostname",
        )


def validate_hostname(value: str) -> str:
    """Validate a hostname a site answers on and return its normalised (punycode) form.

    Rules: a bare hostname (no scheme, path or port); no wildcards; not an IP address; at least
    two labels; each label 1 to 63 letters, digits or hyphens, not starting or ending with a
    hyphen (RFC 1123); at most 253 characters in total; the top-level label not all-numeric.
    Internationalised names are accepted and converted to punycode (see
    :func:`normalise_hostname`). Error code ``hostname``.
    """
    raw = _require_str(value, "A hostname", "hostname").strip()
    if not raw:
        raise ValidationError("The hostname is empty.", code="hostname")
    if any(c.isspace() for c in raw):
        raise ValidationError(f'"{raw}" contains whitespace; a hostname cannot.', code="hostname")
    if "://" in raw or "/" in raw:
        # Users paste URLs from the browser; tell them which part we want.
        parsed = urlsplit(raw if "://" in raw else f"//{raw}")
        host = parsed.hostname or "example.com"
        raise ValidationError(
            f'"{raw}" looks like a URL; give the bare hostname (e.g. "{host}") without a '
            "scheme, path or port.",
            code="hostname",
        )
    if _looks_like_ip(raw.removesuffix(".")):
        raise ValidationError(
            f'"{raw}" is an IP address; an IP address is not a hostname. Give the DNS name '
            "that points to the site.",
            code="hostname",
        )
    if ":" in raw:
        host, _, port = raw.rpartition(":")
        if _looks_like_ip(host):
            raise ValidationError(
                f'"{raw}" is an IP address with a port; an IP address is not a hostname. Give '
                "the bare DNS name that points to the site.",
                code="hostname",
            )
        raise ValidationError(
            f'"{raw}" includes a port (":{port}"); give the bare hostname (e.g. "{host}") '
            "without a port.",
            code="hostname",
        )
    if "*" in raw:
        raise ValidationError(
            f'"{raw}": wildcard hostnames are not supported; add each hostname separately.',
            code="hostname",
        )

    # Give precise RFC 1123 messages for ASCII labels before IDNA's terser ones.
    stripped = raw.removesuffix(".")
    for label in stripped.split("."):
        if label.isascii():
            _check_ascii_label(label, raw)
    if stripped.isascii():
        _check_hostname_length(stripped)

    hostname = normalise_hostname(raw)
    labels = hostname.split(".")
    for label in labels:
        _check_ascii_label(label, hostname)
    _check_hostname_length(hostname)
    if len(labels) < 2:
        raise ValidationError(
            f'"{hostname}" has a single label; a hostname needs at least two labels, such as '
            '"example.com".',
            code="hostname",
        )
    if labels[-1].isdigit():
        raise ValidationError(
            f'The top-level label "{labels[-1]}" of "{hostname}" is all digits; top-level '
            "domains are never numeric.",
            code="hostname",
        )
    return hostname
