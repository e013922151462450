"""Content negotiation of answers: a Status or an object is JSON, and a client whose
Accept header admits no type the API server serializes gets 406, as from upstream (whose
log endpoint answers every error this way to `Accept: text/plain`)."""

from __future__ import annotations

from .errors import ApiError

SERIALIZED = ("application/json", "application/yaml", "application/vnd.kubernetes.protobuf")


def accepts_serialized(accept: str | None) -> bool:
    """Whether an Accept header admits a type the server serializes objects as."""
    if not accept:
        return True
    for part in accept.split(","):
        media = part.split(";")[0].strip().lower()
        if media in ("*/*", "application/*", *SERIALIZED):
            return True
    return False


def not_acceptable() -> ApiError:
    return ApiError(
        406,
        "NotAcceptable",
        "only the following media types are accepted: " + ", ".join(SERIALIZED),
    )
