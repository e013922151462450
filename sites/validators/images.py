"""Container image references: the OCI/Docker reference grammar, plus Hangar's rule that
a reference names a tag or digest."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError

from controlpanel.core.validators import _require_str

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
# A whole reference (name, tag and digest); forms, serializers and model fields use this.
MAX_IMAGE_REFERENCE_LENGTH = 512
# The longest digest: "sha512:" and 128 hex characters.
MAX_DIGEST_LENGTH = len("sha512:") + _DIGEST_HEX_LENGTHS["sha512"]


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


def validate_digest(digest: str) -> str:
    """A content digest such as ``sha256:<64 hex>`` (sha384 and sha512 too); returns it."""
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
    return digest


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
            lowered = repository.lower()
            # Only a suggestion that is itself valid is offered.
            valid = all(_PATH_COMPONENT_RE.fullmatch(part) for part in lowered.split("/"))
            raise _image_error(
                f'"{repository}" contains uppercase letters; the repository path must be '
                "lowercase" + (f' (try "{lowered}").' if valid else ".")
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
    if len(value) > MAX_IMAGE_REFERENCE_LENGTH:
        raise _image_error(
            f"The image reference is {len(value)} characters long; the limit is "
            f"{MAX_IMAGE_REFERENCE_LENGTH}."
        )

    remainder, at, digest = value.partition("@")
    if at:
        if "@" in digest:
            raise _image_error(f'"{value}" contains more than one "@".')
        validate_digest(digest)

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
        port = (
            first.rpartition("]")[2].partition(":")[2]
            if first.startswith("[")
            else (first.partition(":")[2])
        )
        if port and not 1 <= int(port) <= 65535:
            raise _image_error(
                f'The registry port {port} in "{first}" is out of range; a port is 1-65535.'
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
