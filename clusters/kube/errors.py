"""Hangar's errors for Kubernetes failures. Each carries what a user can act on: the
server's Status message and reason, and whether trying again may help."""

from __future__ import annotations

import json
from typing import Any

# Status codes worth retrying: throttling and server-side trouble. 409 Conflict on an
# apply means another field manager owns a field — retrying does not change that.
TRANSIENT_STATUS = frozenset({429, 500, 502, 503, 504})


class KubeError(Exception):
    """A Kubernetes API call failed. `retryable` says whether repeating it may succeed."""

    retryable = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        reason: str = "",
        retry_after: float | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.reason = reason
        self.retry_after = retry_after
        # The Status body's details: the kind and name it is about ({"kind": "namespaces",
        # "name": ...} for a write into a namespace that does not exist).
        self.details = details or {}

    def __str__(self) -> str:
        return self.message


class KubeTransientError(KubeError):
    retryable = True


class KubeUnreachable(KubeTransientError):
    """No HTTP answer at all: connection refused or reset, DNS, TLS handshake."""


class KubeTimeout(KubeTransientError):
    """The server did not answer in time, or a wait for an outcome ran out."""


class KubeNotFound(KubeError):
    pass


class KubeConflict(KubeError):
    pass


class KubeForbidden(KubeError):
    pass


class KubeInvalid(KubeError):
    pass


class KubeUnauthorized(KubeError):
    pass


_BY_STATUS: dict[int, type[KubeError]] = {
    401: KubeUnauthorized,
    403: KubeForbidden,
    404: KubeNotFound,
    409: KubeConflict,
    422: KubeInvalid,
}


def status_message(body: bytes | str | None) -> tuple[str, str, dict[str, Any]]:
    """(message, reason, details) from a Kubernetes Status body, tolerating any body."""
    if not body:
        return "", "", {}
    try:
        data = json.loads(body)
    except (ValueError, TypeError):
        text = body.decode(errors="replace") if isinstance(body, bytes) else str(body)
        return text.strip()[:500], "", {}
    if not isinstance(data, dict):
        return "", "", {}
    return str(data.get("message", "")), str(data.get("reason", "")), data.get("details") or {}


def error_from_response(status: int, body: bytes | None, headers: Any, *, what: str) -> KubeError:
    """Translate a non-2xx answer into the matching KubeError."""
    message, reason, details = status_message(body)
    if not message:
        message = f"the API server answered {status} to {what}"
    causes = details.get("causes") if isinstance(details, dict) else None
    if status == 422 and causes:
        fields = "; ".join(
            f"{c.get('field', '?')}: {c.get('message', '')}" for c in causes if isinstance(c, dict)
        )
        if fields and fields not in message:
            message = f"{message} ({fields})"
    retry_after = None
    if headers is not None:
        raw = headers.get("Retry-After")
        if raw:
            try:
                retry_after = float(raw)
            except ValueError:
                retry_after = None
    if status in TRANSIENT_STATUS:
        cls: type[KubeError] = KubeTimeout if status == 504 else KubeTransientError
    else:
        cls = _BY_STATUS.get(status, KubeError)
    return cls(
        message,
        status=status,
        reason=reason,
        retry_after=retry_after,
        details=details if isinstance(details, dict) else None,
    )
