"""Validation rules for everything a user types about a site.

These are pure functions: no database access and no model imports, so models, forms,
serializers and services can all share them. Each ``validate_*`` function raises
``django.core.exceptions.ValidationError`` with a message that states the rule and a stable
``code``; the caller attaches the error to its own field. Where a normalised form makes sense
(hostnames, CPU quantities, ...) the ``validate_*`` function returns it.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import idna
from cron_descriptor import Options as CronDescriptorOptions
from cron_descriptor import get_description
from croniter import CroniterBadDateError, croniter
from django.core.exceptions import ValidationError

from controlpanel.core.validators import (
    DNS_LABEL_MAX,
    _check_dns_label,
    _require_str,
    validate_dns_label,
)

__all__ = [
    "DNS_LABEL_MAX",
    "ENV_VALUE_MAX_BYTES",
    "MAX_REPLICAS",
    "RESERVED_ENV_KEYS",
    "RESERVED_ENV_PREFIXES",
    "ImageReference",
    "describe_cron_schedule",
    "namespace_name",
    "next_cron_runs",
    "normalise_hostname",
    "parse_cpu",
    "parse_image_reference",
    "parse_memory",
    "resolve_cron_schedule",
    "validate_autoscale",
    "validate_cpu",
    "validate_cron_schedule",
    "validate_dns_label",
    "validate_env_key",
    "validate_env_value",
    "validate_hostname",
    "validate_image_reference",
    "validate_memory",
    "validate_namespace_name",
    "validate_replicas",
    "validate_request_within_limit",
]


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


# --------------------------------------------------------------------------------------------
# Container image references
# --------------------------------------------------------------------------------------------

# Regexps transcribed from github.com/distribution/reference (regexp.go). Go's \w is ASCII-only,
# hence explicit classes and re.ASCII.
_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT_RE = re.compile(rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*", re.ASCII)
_DOMAIN_NAME_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_NAME = rf"{_DOMAIN_NAME_COMPONENT}(?:\.{_DOMAIN_NAME_COMPONENT})*"
_IPV6_ADDRESS = r"\[(?:[a-fA-F0-9:]+)\]"
_DOMAIN_AND_PORT_RE = re.compile(rf"(?:{_DOMAIN_NAME}|{_IPV6_ADDRESS})(?::[0-9]+)?", re.ASCII)
_TAG_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", re.ASCII)
_DIGEST_RE = re.compile(
    r"(?P<algorithm>[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*):(?P<encoded>.*)",
    re.ASCII,
)
# go-digest only accepts these algorithms, each with a fixed-length lowercase hex encoding.
_DIGEST_HEX_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}
_NAME_TOTAL_LENGTH_MAX = 255


@dataclass(frozen=True)
class ImageReference:
    """A parsed container image reference such as ``ghcr.io/acme/web:v1@sha256:...``."""

    registry: str | None
    repository: str
    tag: str | None
    digest: str | None

    @property
    def name(self) -> str:
        """The image name without tag or digest: ``registry/repository`` or ``repository``."""
        return f"{self.registry}/{self.repository}" if self.registry else self.repository

    def __str__(self) -> str:
        text = self.name
        if self.tag is not None:
            text += f":{self.tag}"
        if self.digest is not None:
            text += f"@{self.digest}"
        return text


def _image_error(message: str, code: str = "image_reference") -> ValidationError:
    return ValidationError(message, code=code)


def _check_digest(digest: str) -> None:
    if not digest:
        raise _image_error(
            "The digest after '@' is empty; give it as sha256:<64 hex characters>.",
            code="image_digest",
        )
    match = _DIGEST_RE.fullmatch(digest)
    if not match:
        raise _image_error(
            f'"{digest}" is not a valid digest; a digest looks like sha256:<64 hex characters>.',
            code="image_digest",
        )
    algorithm, encoded = match["algorithm"], match["encoded"]
    expected = _DIGEST_HEX_LENGTHS.get(algorithm)
    if expected is None:
        supported = ", ".join(_DIGEST_HEX_LENGTHS)
        raise _image_error(
            f'Digest algorithm "{algorithm}" is not supported; use one of {supported}.',
            code="image_digest",
        )
    if len(encoded) != expected or not re.fullmatch(r"[0-9a-f]+", encoded, re.ASCII):
        raise _image_error(
            f'"{digest}" is not a valid {algorithm} digest; it must be {algorithm}: followed by '
            f"exactly {expected} lowercase hexadecimal characters (got {len(encoded)}).",
            code="image_digest",
        )


def _check_tag(tag: str) -> None:
    if not tag:
        raise _image_error(
            "The tag after ':' is empty; give a tag such as :1.27 or remove the colon.",
            code="image_tag",
        )
    if len(tag) > 128:
        raise _image_error(
            f"The tag is {len(tag)} characters long; a tag may be at most 128 characters.",
            code="image_tag",
        )
    if not _TAG_RE.fullmatch(tag):
        raise _image_error(
            f'"{tag}" is not a valid tag; a tag may contain letters, digits, "_", "." and "-" '
            'and must not start with "." or "-".',
            code="image_tag",
        )


def _check_repository(repository: str) -> None:
    for component in repository.split("/"):
        if not component:
            raise _image_error(
                f'"{repository}" has an empty path component (a leading, trailing or doubled "/").'
            )
        if _PATH_COMPONENT_RE.fullmatch(component):
            continue
        if any(c.isupper() for c in component):
            raise _image_error(
                f'"{repository}" contains uppercase letters; the repository path must be '
                f'lowercase (try "{repository.lower()}").'
            )
        raise _image_error(
            f'"{component}" is not a valid repository path component; use lowercase letters and '
            'digits, separated by ".", "_", "__" or hyphens, starting and ending with a letter '
            "or digit."
        )


def parse_image_reference(value: str) -> ImageReference:
    """Parse a container image reference following the Docker/OCI reference grammar.

    Rules (github.com/distribution/reference): ``[registry/]repository[:tag][@digest]``.
    The first path component is a registry only if it contains "." or ":" or is "localhost";
    a registry is ``host[:port]`` with host a domain name, an IPv4 address or a bracketed IPv6
    address. Repository path components are lowercase letters and digits joined by ".", "_",
    "__" or runs of "-". A tag is ``[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}``. A digest is
    ``algorithm:hex`` (sha256 with exactly 64 lowercase hex characters, sha384 96, sha512 128).
    The name (registry and repository) is at most 255 characters. No whitespace is allowed.

    Hangar additionally requires a tag or a digest, since an untagged reference means
    ``:latest``, which is not reproducible. Surrounding whitespace is removed first; the result's
    ``str()`` reproduces the (stripped) input exactly.
    """
    value = _require_str(value, "An image reference", "image_reference").strip()
    if not value:
        raise _image_error("The image reference is empty.")
    if any(c.isspace() for c in value):
        raise _image_error(f'"{value}" contains whitespace; an image reference cannot.')

    remainder, at, digest = value.partition("@")
    if at:
        if "@" in digest:
            raise _image_error(f'"{value}" contains more than one "@".')
        _check_digest(digest)

    # The tag is a ':' after the last '/', so a registry port ("host:5000/x") is not one.
    slash = remainder.rfind("/")
    name, colon, tag = remainder[slash + 1 :].rpartition(":")
    if colon:
        name = remainder[: slash + 1] + name
        _check_tag(tag)
    else:
        name, tag = remainder, ""

    if not name:
        raise _image_error(f'"{value}" has no repository name.')
    if len(name) > _NAME_TOTAL_LENGTH_MAX:
        raise _image_error(
            f"The image name is {len(name)} characters long; the limit is "
            f"{_NAME_TOTAL_LENGTH_MAX} (not counting the tag and digest)."
        )

    registry: str | None = None
    repository = name
    first, slash_found, rest = name.partition("/")
    if slash_found and ("." in first or ":" in first or first == "localhost"):
        if not _DOMAIN_AND_PORT_RE.fullmatch(first):
            raise _image_error(
                f'"{first}" is not a valid registry; give host[:port], where host is a domain '
                "name, an IPv4 address or a bracketed IPv6 address."
            )
        registry, repository = first, rest
    _check_repository(repository)

    if not colon and not at:
        raise _image_error(
            f'"{value}" has no tag or digest. A tag or digest is required because an untagged '
            f"reference means :latest, which is not reproducible; for example {value}:1.0 or "
            f"{value}@sha256:<digest>.",
            code="image_tag_required",
        )
    return ImageReference(
        registry=registry,
        repository=repository,
        tag=tag if colon else None,
        digest=digest if at else None,
    )


def validate_image_reference(value: str) -> str:
    """Validate an image reference (see :func:`parse_image_reference`); returns it stripped."""
    return str(parse_image_reference(value))


# --------------------------------------------------------------------------------------------
# Hostnames
# --------------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------------
# Cron schedules
# --------------------------------------------------------------------------------------------

_CRON_FIELDS = ("minute", "hour", "day-of-month", "month", "day-of-week")
_CRON_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_CRON_NAMES: tuple[dict[str, int], ...] = (
    {},
    {},
    {},
    {
        name: number
        for number, name in enumerate(
            ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
            start=1,
        )
    },
    {name: number for number, name in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))},
)
_CRON_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_H_FIELDS = (0, 1)
_H_RE = re.compile(r"H(?:\((?P<start>\d+)-(?P<end>\d+)\))?(?:/(?P<step>\d+))?", re.ASCII)
_CRON_ATOM = r"(?:\d+|[A-Za-z]{3})"
_CRON_ELEMENT_RE = re.compile(
    rf"(?:(?P<star>[*?])|(?P<start>{_CRON_ATOM})(?:-(?P<end>{_CRON_ATOM}))?)"
    r"(?:/(?P<step>\d+))?",
    re.ASCII,
)
# Seed used when validating a schedule that has no environment to hash against yet.
_VALIDATION_SEED = "hangar-cron-validation"


def _cron_error(field: int | None, message: str) -> ValidationError:
    prefix = f"{_CRON_FIELDS[field]}: " if field is not None else ""
    return ValidationError(f"{prefix}{message}", code="cron_schedule")


def _split_cron(value: str) -> list[str]:
    text = _require_str(value, "A cron schedule", "cron_schedule").strip()
    if not text:
        raise _cron_error(None, "The schedule is empty.")
    if text.startswith("@"):
        expanded = _CRON_MACROS.get(text.lower())
        if expanded is None:
            macros = ", ".join(_CRON_MACROS)
            raise _cron_error(
                None, f'"{text}" is not a supported macro; use one of {macros} or five fields.'
            )
        return expanded.split()
    fields = text.split()
    if len(fields) != 5:
        extra = " Seconds (a sixth field) are not supported." if len(fields) == 6 else ""
        raise _cron_error(
            None,
            f'"{text}" has {len(fields)} field{"s" if len(fields) != 1 else ""}; a schedule '
            "needs exactly 5: minute hour day-of-month month day-of-week." + extra,
        )
    return fields


def _h_hash(seed: str, field: int) -> int:
    digest = hashlib.sha256(f"{seed}:{field}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _resolve_h(element: str, field: int, seed: str) -> str:
    match = _H_RE.fullmatch(element)
    if not match:
        raise _cron_error(
            field, f'"{element}" is not a valid H expression; use H, H(a-b), H/n or H(a-b)/n.'
        )
    low, high = _CRON_RANGES[field]
    if match["start"] is not None:
        start, end = int(match["start"]), int(match["end"])
        for bound in (start, end):
            if not low <= bound <= high:
                raise _cron_error(field, f"{bound} is out of range {low}-{high}")
        if start > end:
            raise _cron_error(field, f"H({start}-{end}) is backwards; the start must be <= end.")
        low, high = start, end
    span = high - low + 1
    number = _h_hash(seed, field)
    if match["step"] is None:
        return str(low + number % span)
    step = int(match["step"])
    if not 1 <= step <= span:
        raise _cron_error(field, f"step {step} must be between 1 and {span} in {element!r}.")
    return ",".join(str(v) for v in range(low + number % step, high + 1, step))


def _cron_number(atom: str, field: int) -> int:
    if atom.isdigit():
        number = int(atom)
    else:
        names = _CRON_NAMES[field]
        if atom.lower() not in names:
            raise _cron_error(field, f'"{atom}" is not a number or a known name.')
        number = names[atom.lower()]
    low, high = _CRON_RANGES[field]
    if not low <= number <= high:
        raise _cron_error(field, f"{number} is out of range {low}-{high}")
    return number


def _check_cron_element(element: str, field: int) -> None:
    match = _CRON_ELEMENT_RE.fullmatch(element)
    if not match:
        # Extensions croniter understands (L, W, #) are left for croniter to judge.
        return
    if match["star"] == "?" and field not in (2, 4):
        raise _cron_error(field, '"?" is only allowed in the day-of-month and day-of-week fields.')
    low, high = _CRON_RANGES[field]
    if match["start"] is not None:
        start = _cron_number(match["start"], field)
        if match["end"] is not None:
            end = _cron_number(match["end"], field)
            # croniter quietly accepts reversed ranges with surprising results; refuse them.
            if start > end:
                raise _cron_error(
                    field, f"range {element} is backwards; the start must not exceed the end."
                )
    if match["step"] is not None:
        step = int(match["step"])
        span = high - low + 1
        if not 1 <= step <= span:
            raise _cron_error(field, f"step {step} must be between 1 and {span}.")


def resolve_cron_schedule(value: str, *, seed: str) -> str:
    """Resolve ``H`` tokens and macros and validate, returning a plain five-field expression.

    Rules: exactly five fields (minute hour day-of-month month day-of-week); six-field
    (seconds) expressions are rejected. Macros @yearly/@annually, @monthly, @weekly,
    @daily/@midnight and @hourly become their standard forms (``@hourly`` → ``0 * * * *``).

    ``H`` is allowed in the minute and hour fields only, alone or in comma lists:
    ``H`` is a value in the field's range (minute 0-59, hour 0-23) picked from
    sha256(f"{seed}:{field_index}"); ``H(a-b)`` picks within a..b inclusive; ``H/n`` starts at
    that value modulo n and repeats every n (minute ``H/15`` → e.g. ``7,22,37,52``);
    ``H(a-b)/n`` does the same within a..b. The same value and seed always resolve the same
    way, while different seeds (environments) spread their jobs over the hour/day.

    The result must be accepted by croniter and must fire at least once. Errors name the
    field, e.g. ``hour: 25 is out of range 0-23``. Error code ``cron_schedule``.
    """
    fields = _split_cron(value)
    resolved: list[str] = []
    for index, text in enumerate(fields):
        elements = text.split(",")
        parts: list[str] = []
        for element in elements:
            if not element:
                raise _cron_error(index, f'"{text}" has an empty item in its comma list.')
            # No month or weekday name starts with H, so this cannot misread "THU".
            if element.startswith("H"):
                if index not in _H_FIELDS:
                    raise _cron_error(index, "H is only supported in the minute and hour fields.")
                parts.append(_resolve_h(element, index, seed))
            else:
                _check_cron_element(element, index)
                parts.append(element)
        resolved.append(",".join(parts))

    expression = " ".join(resolved)
    _check_with_croniter(expression)
    return expression


def _check_with_croniter(expression: str) -> None:
    if not croniter.is_valid(expression):
        fields = expression.split()
        # Validate each field against an all-star template to say which one croniter dislikes.
        for index, text in enumerate(fields):
            probe = ["*"] * 5
            probe[index] = text
            if not croniter.is_valid(" ".join(probe)):
                raise _cron_error(index, f'"{text}" is not a valid value for this field.')
        raise _cron_error(None, f'"{expression}" is not a valid cron schedule.')
    try:
        croniter(expression, datetime(2000, 1, 1)).get_next(datetime)
    except CroniterBadDateError as exc:
        raise _cron_error(
            None, f'"{expression}" never runs (no date matches, e.g. 31 February).'
        ) from exc
    except (ValueError, KeyError) as exc:
        raise _cron_error(None, f'"{expression}" is not a valid cron schedule: {exc}.') from exc


def validate_cron_schedule(value: str) -> str:
    """Validate a cron schedule (see :func:`resolve_cron_schedule`) with a fixed seed.

    Returns the original text, stripped and with runs of whitespace collapsed to single spaces,
    keeping any ``H`` tokens so each environment resolves them with its own seed.
    """
    resolve_cron_schedule(value, seed=_VALIDATION_SEED)
    return " ".join(value.split())


def describe_cron_schedule(value: str, *, seed: str | None = None) -> str:
    """Describe a cron schedule in English, e.g. ``"At 03:07, only on Sunday"``.

    ``H`` tokens are resolved with ``seed`` when given. Without a seed they are resolved with a
    fixed example seed and the description ends with a note saying the H-resolved minute/hour
    is chosen per environment, so the times shown are an example. Times use the 24-hour clock.
    """
    expression = resolve_cron_schedule(value, seed=seed if seed is not None else _VALIDATION_SEED)
    options = CronDescriptorOptions()
    options.use_24hour_time_format = True
    try:
        description = get_description(expression, options)
    except Exception as exc:  # cron_descriptor raises a variety of its own exception types
        raise _cron_error(None, f'"{expression}" cannot be described: {exc}.') from exc
    if seed is None:
        fields = _split_cron(value)
        hashed = [
            _CRON_FIELDS[i]
            for i in _H_FIELDS
            if any(element.startswith("H") for element in fields[i].split(","))
        ]
        if hashed:
            which = " and ".join(hashed)
            verb = "are" if len(hashed) > 1 else "is"
            description += f" (example: the {which} marked H {verb} chosen per environment)"
    return description


def next_cron_runs(
    value: str,
    *,
    seed: str,
    count: int = 5,
    start: datetime | None = None,
    tz: str = "UTC",
) -> list[datetime]:
    """Return the next ``count`` run times of a schedule as timezone-aware datetimes in ``tz``.

    ``H`` is resolved with ``seed``. ``start`` defaults to now; a naive ``start`` is taken to be
    in ``tz``, an aware one is converted to it. The schedule is interpreted in ``tz`` (so
    ``0 3 * * *`` with ``Europe/Amsterdam`` runs at 03:00 local time across DST changes).
    """
    if count < 0:
        raise ValueError("count must not be negative")
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(f'"{tz}" is not a known time zone.', code="timezone") from exc
    expression = resolve_cron_schedule(value, seed=seed)
    if start is None:
        start = datetime.now(zone)
    elif start.tzinfo is None:
        start = start.replace(tzinfo=zone)
    else:
        start = start.astimezone(zone)
    iterator = croniter(expression, start)
    return [iterator.get_next(datetime) for _ in range(count)]


# --------------------------------------------------------------------------------------------
# Kubernetes resource quantities
# --------------------------------------------------------------------------------------------

_CPU_RE = re.compile(r"(?P<number>\d+(?:\.\d+)?)(?P<unit>[A-Za-z]*)", re.ASCII)
_CPU_MIN_MILLICORES = 10
_CPU_MAX_MILLICORES = 64_000
_MEMORY_RE = re.compile(r"(?P<number>\d+(?:\.\d+)?)(?P<unit>[A-Za-z]*)", re.ASCII)
_MEMORY_UNITS = {
    "": 1,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
}
_MEMORY_MIN_BYTES = 16 * 2**20
_MEMORY_MAX_BYTES = 256 * 2**30


def parse_cpu(value: str) -> int:
    """Parse a Kubernetes CPU quantity and return millicores.

    Accepted: whole or decimal cores (``"1"``, ``"0.5"``, ``"1.5"``) or integer millicores
    (``"250m"``). The value must be greater than zero and a whole number of millicores
    (``"1.2345"`` is too precise). No other units, signs or exponents. Code ``cpu_quantity``.
    """
    text = _require_str(value, "A CPU quantity", "cpu_quantity").strip()
    if text.startswith("-"):
        raise ValidationError(
            f'CPU "{text}" is negative; give a positive amount such as 250m or 1.',
            code="cpu_quantity",
        )
    match = _CPU_RE.fullmatch(text)
    if not match:
        raise ValidationError(
            f'"{text}" is not a CPU quantity; give cores (e.g. 1 or 0.5) or millicores '
            "(e.g. 250m).",
            code="cpu_quantity",
        )
    unit = match["unit"]
    if unit not in ("", "m"):
        raise ValidationError(
            f'"{unit}" is not a CPU unit in "{text}"; the only unit is m (millicores), '
            "e.g. 250m, or give whole or decimal cores such as 1.5.",
            code="cpu_quantity",
        )
    millicores = Decimal(match["number"]) * (1 if unit == "m" else 1000)
    if millicores != millicores.to_integral_value():
        raise ValidationError(
            f'CPU "{text}" is more precise than 1m (a thousandth of a core); round it, '
            "e.g. to 3 decimal places of a core.",
            code="cpu_quantity",
        )
    if millicores <= 0:
        raise ValidationError(f'CPU "{text}" must be greater than zero.', code="cpu_quantity")
    return int(millicores)


def _format_cpu(millicores: int) -> str:
    return str(millicores // 1000) if millicores % 1000 == 0 else f"{millicores}m"


def validate_cpu(value: str) -> str:
    """Validate a CPU quantity between 10m and 64 cores and return its canonical form.

    Canonical form: whole cores as a plain integer (``"1"``, ``"2"``), anything else in
    millicores (``"0.5"`` → ``"500m"``, ``"1.5"`` → ``"1500m"``, ``"1000m"`` → ``"1"``), which is
    how kubectl shows CPU. Code ``cpu_quantity``.
    """
    millicores = parse_cpu(value)
    if millicores < _CPU_MIN_MILLICORES:
        raise ValidationError(
            f'CPU "{value.strip()}" is too small; the minimum is {_CPU_MIN_MILLICORES}m.',
            code="cpu_quantity",
        )
    if millicores > _CPU_MAX_MILLICORES:
        raise ValidationError(
            f'CPU "{value.strip()}" is too large; the maximum is '
            f"{_CPU_MAX_MILLICORES // 1000} cores.",
            code="cpu_quantity",
        )
    return _format_cpu(millicores)


def _memory_unit_hint(unit: str) -> str:
    if unit == "m":
        return " (in Kubernetes m means thousandths of a byte; did you mean Mi or M?)"
    if unit.lower().endswith("b"):
        # "MB", "gb", "GiB": people write byte units the way disks are labelled.
        stem = unit[:-1].lower()
        for decimal in ("k", "M", "G", "T"):
            binary = f"{decimal.upper()}i"
            if stem == decimal.lower():
                return f" (write {decimal} or {binary})"
            if stem == binary.lower():
                return f" (write {binary})"
    for candidate in _MEMORY_UNITS:
        if candidate and unit.lower() == candidate.lower():
            return f" (units are case-sensitive; did you mean {candidate}?)"
    return ""


def parse_memory(value: str) -> int:
    """Parse a Kubernetes memory quantity and return bytes.

    Accepted: a number of bytes, optionally with a binary suffix Ki, Mi, Gi, Ti (powers of 1024)
    or a decimal suffix k, M, G, T (powers of 1000). Decimal fractions are allowed
    (``"1.5Gi"``) if the result is a whole number of bytes. Suffixes are case-sensitive; "MB",
    "gb", signs and exponents are rejected. The value must be greater than zero. Code
    ``memory_quantity``.
    """
    text = _require_str(value, "A memory quantity", "memory_quantity").strip()
    if text.startswith("-"):
        raise ValidationError(
            f'Memory "{text}" is negative; give a positive amount such as 512Mi.',
            code="memory_quantity",
        )
    match = _MEMORY_RE.fullmatch(text)
    if not match:
        raise ValidationError(
            f'"{text}" is not a memory quantity; give a number with an optional unit, '
            "e.g. 512Mi or 1.5Gi.",
            code="memory_quantity",
        )
    unit = match["unit"]
    multiplier = _MEMORY_UNITS.get(unit)
    if multiplier is None:
        raise ValidationError(
            f'"{unit}" is not a memory unit in "{text}"{_memory_unit_hint(unit)}; use Ki, Mi, '
            "Gi, Ti (binary) or k, M, G, T (decimal).",
            code="memory_quantity",
        )
    try:
        amount = Decimal(match["number"]) * multiplier
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only plain decimals
        raise ValidationError(f'"{text}" is not a number.', code="memory_quantity") from exc
    if amount != amount.to_integral_value():
        raise ValidationError(
            f'Memory "{text}" is not a whole number of bytes; use a larger unit or fewer '
            "decimal places.",
            code="memory_quantity",
        )
    if amount <= 0:
        raise ValidationError(f'Memory "{text}" must be greater than zero.', code="memory_quantity")
    return int(amount)


def validate_memory(value: str) -> str:
    """Validate a memory quantity between 16Mi and 256Gi; returns it stripped.

    The user's unit is kept (not converted) because "512Mi" and "1G" read better than bytes.
    Code ``memory_quantity``.
    """
    amount = parse_memory(value)
    text = value.strip()
    if amount < _MEMORY_MIN_BYTES:
        raise ValidationError(
            f'Memory "{text}" is too small; the minimum is 16Mi.', code="memory_quantity"
        )
    if amount > _MEMORY_MAX_BYTES:
        raise ValidationError(
            f'Memory "{text}" is too large; the maximum is 256Gi.', code="memory_quantity"
        )
    return text


def validate_request_within_limit(
    *, request_cpu: str, limit_cpu: str, request_memory: str, limit_memory: str
) -> None:
    """Check that the CPU and memory requests do not exceed their limits.

    Raises ``ValidationError`` with a dict keyed ``cpu_limit`` / ``memory_limit`` (code
    ``request_exceeds_limit``). A pair is skipped when either side is empty (no limit) or does
    not parse: the per-field validators report those on their own fields, following Django's
    convention that ``clean()`` runs even when field validation failed.
    """
    errors: dict[str, ValidationError] = {}
    pairs = (
        ("cpu_limit", "CPU", parse_cpu, request_cpu, limit_cpu),
        ("memory_limit", "Memory", parse_memory, request_memory, limit_memory),
    )
    for field, label, parse, request, limit in pairs:
        if not request or not limit:
            continue
        try:
            request_amount, limit_amount = parse(request), parse(limit)
        except ValidationError:
            continue
        if request_amount > limit_amount:
            errors[field] = ValidationError(
                f"{label} request {request.strip()} is greater than the {label} limit "
                f"{limit.strip()}; the request must not exceed the limit.",
                code="request_exceeds_limit",
            )
    if errors:
        raise ValidationError(errors)


# --------------------------------------------------------------------------------------------
# Replicas and autoscaling
# --------------------------------------------------------------------------------------------

MAX_REPLICAS = 50
_CPU_TARGET_MIN = 10
_CPU_TARGET_MAX = 95


def _is_int(value: object) -> bool:
    # bool is an int subclass, but True replicas is a bug upstream, not a count.
    return isinstance(value, int) and not isinstance(value, bool)


def validate_replicas(value: int) -> int:
    """Validate a replica count: a whole number from 0 (stopped) to ``MAX_REPLICAS``.

    Booleans and non-integers are rejected. Code ``replicas``.
    """
    if not _is_int(value):
        raise ValidationError(f"Replicas must be a whole number, not {value!r}.", code="replicas")
    if not 0 <= value <= MAX_REPLICAS:
        raise ValidationError(
            f"{value} replicas is out of range; use 0 (stopped) to {MAX_REPLICAS}.",
            code="replicas",
        )
    return value


def validate_autoscale(*, min_replicas: int, max_replicas: int, cpu_target: int) -> None:
    """Validate autoscaling settings.

    Rules: 1 <= minimum replicas <= maximum replicas <= ``MAX_REPLICAS``, and the CPU target is
    10 to 95 percent. Raises a ``ValidationError`` dict keyed ``autoscale_min``,
    ``autoscale_max`` and ``autoscale_cpu_target`` (code ``autoscale``).
    """
    errors: dict[str, ValidationError] = {}
    min_ok = _is_int(min_replicas)
    max_ok = _is_int(max_replicas)
    if not min_ok:
        errors["autoscale_min"] = ValidationError(
            f"Minimum replicas must be a whole number, not {min_replicas!r}.", code="autoscale"
        )
    elif not 1 <= min_replicas <= MAX_REPLICAS:
        errors["autoscale_min"] = ValidationError(
            f"Minimum replicas {min_replicas} is out of range; use 1 to {MAX_REPLICAS}.",
            code="autoscale",
        )
    if not max_ok:
        errors["autoscale_max"] = ValidationError(
            f"Maximum replicas must be a whole number, not {max_replicas!r}.", code="autoscale"
        )
    elif not 1 <= max_replicas <= MAX_REPLICAS:
        errors["autoscale_max"] = ValidationError(
            f"Maximum replicas {max_replicas} is out of range; use 1 to {MAX_REPLICAS}.",
            code="autoscale",
        )
    elif min_ok and max_replicas < min_replicas:
        errors["autoscale_max"] = ValidationError(
            f"Maximum replicas {max_replicas} is less than the minimum {min_replicas}; the "
            "maximum must be at least the minimum.",
            code="autoscale",
        )
    if not _is_int(cpu_target):
        errors["autoscale_cpu_target"] = ValidationError(
            f"The CPU target must be a whole number of percent, not {cpu_target!r}.",
            code="autoscale",
        )
    elif not _CPU_TARGET_MIN <= cpu_target <= _CPU_TARGET_MAX:
        errors["autoscale_cpu_target"] = ValidationError(
            f"A CPU target of {cpu_target}% is out of range; use {_CPU_TARGET_MIN} to "
            f"{_CPU_TARGET_MAX} percent.",
            code="autoscale",
        )
    if errors:
        raise ValidationError(errors)


# --------------------------------------------------------------------------------------------
# Environment variables
# --------------------------------------------------------------------------------------------

RESERVED_ENV_KEYS: frozenset[str] = frozenset(
    {
        "DB_HOST",
        "DB_PORT",
        "DB_NAME",
        "DB_USER",
        "DB_PASSWORD",
        "S3_ENDPOINT",
        "S3_REGION",
        "S3_BUCKET",
        "S3_PREFIX",
        "S3_ACCESS_KEY",
        "S3_SECRET_KEY",
        "SMTP_HOST",
        "SMTP_PORT",
        "SMTP_USER",
        "SMTP_PASSWORD",
        "HASH_SALT",
        "SITE_ENVIRONMENT",
        "MYSQL_HOST",
        "MYSQL_PORT",
        "MYSQL_DATABASE",
        "MYSQL_USER",
        "MYSQL_PASSWORD",
        "MARIADB_HOST",
        "MARIADB_PORT",
        "MARIADB_DATABASE",
        "MARIADB_USERNAME",
        "MARIADB_PASSWORD",
    }
)
RESERVED_ENV_PREFIXES: tuple[str, ...] = ("HANGAR_", "KUBERNETES_")
ENV_VALUE_MAX_BYTES = 32 * 1024
_ENV_KEY_MAX = 128
_ENV_KEY_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*", re.ASCII)


def validate_env_key(value: str) -> str:
    """Validate an environment variable name; returns it stripped.

    Rules: a POSIX name (``^[A-Za-z_][A-Za-z0-9_]*$``) of at most 128 characters, not one of
    ``RESERVED_ENV_KEYS`` that Hangar injects and not starting with a prefix in
    ``RESERVED_ENV_PREFIXES``. Names are case-sensitive, as in the container, so ``db_host``
    is allowed. Code ``env_key``.
    """
    key = _require_str(value, "A variable name", "env_key").strip()
    if not key:
        raise ValidationError("The variable name is empty.", code="env_key")
    if len(key) > _ENV_KEY_MAX:
        raise ValidationError(
            f"The variable name is {len(key)} characters long; the limit is {_ENV_KEY_MAX}.",
            code="env_key",
        )
    if not _ENV_KEY_RE.fullmatch(key):
        if key[0].isdigit():
            reason = "it starts with a digit"
        else:
            bad = sorted({c for c in key if not (c.isascii() and (c.isalnum() or c == "_"))})
            reason = "it contains " + ", ".join(repr(c) for c in bad)
        raise ValidationError(
            f'"{key}" is not a valid variable name ({reason}); use letters, digits and '
            "underscores, not starting with a digit.",
            code="env_key",
        )
    if key in RESERVED_ENV_KEYS:
        raise ValidationError(
            f"{key} is set by Hangar and cannot be overridden.", code="env_key_reserved"
        )
    for prefix in RESERVED_ENV_PREFIXES:
        if key.startswith(prefix):
            raise ValidationError(
                f"{key} starts with {prefix}, which is reserved for variables set by Hangar and "
                "Kubernetes.",
                code="env_key_reserved",
            )
    return key


def validate_env_value(value: str) -> str:
    """Validate an environment variable value; returns it unchanged.

    Rules: at most ``ENV_VALUE_MAX_BYTES`` (32 KiB) when encoded as UTF-8 and no NUL
    characters, which cannot be passed through exec(). Whitespace is kept because it may be
    significant. Code ``env_value``.
    """
    text = _require_str(value, "A variable value", "env_value")
    if "\x00" in text:
        raise ValidationError(
            "The value contains a NUL character (\\x00), which environment variables cannot hold.",
            code="env_value",
        )
    size = len(text.encode("utf-8"))
    if size > ENV_VALUE_MAX_BYTES:
        raise ValidationError(
            f"The value is {size} bytes long; the limit is {ENV_VALUE_MAX_BYTES} bytes (32 KiB).",
            code="env_value",
        )
    return text
