"""Failures as the Kubernetes API server reports them: ``metav1.Status`` bodies.

The constructors mirror ``k8s.io/apimachinery/pkg/api/errors`` so that clients
which branch on ``reason``, ``code`` or the message text behave as they would
against a real cluster.
"""

from __future__ import annotations

from typing import Any

# Reasons the fault injector uses for bare status codes, as
# ``errors.NewGenericServerResponse`` picks them.
REASON_FOR_CODE = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Expired",
    413: "RequestEntityTooLarge",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}

MESSAGE_FOR_CODE = {
    429: "Too many requests, please try again later.",
    500: "Internal error occurred: injected fault",
    502: "Bad Gateway",
    503: "the server is currently unable to handle the request",
    504: (
        "the server was unable to return a response in the time allotted, "
        "but may still be processing the request"
    ),
}


def status_body(
    code: int, reason: str, message: str, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A failure ``Status`` with upstream's key order and omitempty rules."""
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
    }
    if message:
        body["message"] = message
    if reason:
        body["reason"] = reason
    if details is not None:
        body["details"] = details
    body["code"] = code
    return body


def _details(name: str = "", group: str = "", kind: str = "", **extra: Any) -> dict[str, Any]:
    details: dict[str, Any] = {}
    if name:
        details["name"] = name
    if group:
        details["group"] = group
    if kind:
        details["kind"] = kind
    details.update({k: v for k, v in extra.items() if v})
    return details


def qualified(plural: str, group: str) -> str:
    """``schema.GroupResource.String()``: ``deployments.apps`` or ``pods``."""
    return f"{plural}.{group}" if group else plural


class ApiError(Exception):
    """An error the server answers with a Status body."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return status_body(self.code, self.reason, self.message, self.details)


def not_found(plural: str, group: str, name: str) -> ApiError:
    return ApiError(
        404,
        "NotFound",
        f'{qualified(plural, group)} "{name}" not found',
        _details(name, group, plural),
    )


def route_not_found() -> ApiError:
    return ApiError(404, "NotFound", "the server could not find the requested resource", {})


def already_exists(plural: str, group: str, name: str) -> ApiError:
    return ApiError(
        409,
        "AlreadyExists",
        f'{qualified(plural, group)} "{name}" already exists',
        _details(name, group, plural),
    )


def conflict(plural: str, group: str, name: str, why: str) -> ApiError:
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {qualified(plural, group)} "{name}": {why}',
        _details(name, group, plural),
    )


STALE_OBJECT = (
    "the object has been modified; please apply your changes to the latest version and try again"
)


class Literal(str):
    """A value shown unquoted in a field error, as Go prints non-string values."""


def _show(value: Any) -> str:
    if isinstance(value, Literal) or not isinstance(value, str):
        return str(value)
    return '"' + value + '"'


def field_error(kind: str, field: str, detail: str, value: Any = None) -> dict[str, str]:
    """One ``field.Error`` as a StatusCause.

    ``kind`` is Invalid, Required, TooLong, NotSupported or Forbidden.
    """
    if kind == "Invalid":
        body = f"Invalid value: {_show(value)}: {detail}"
        reason = "FieldValueInvalid"
    elif kind == "Required":
        body = f"Required value: {detail}" if detail else "Required value"
        reason = "FieldValueRequired"
    elif kind == "TooLong":
        body = f"Too long: {detail}"
        reason = "FieldValueTooLong"
    elif kind == "NotSupported":
        body = f"Unsupported value: {_show(value)}: supported values: {detail}"
        reason = "FieldValueNotSupported"
    else:
        body = f"Forbidden: {detail}"
        reason = "FieldValueForbidden"
    return {"reason": reason, "message": body, "field": field}


def invalid(kind: str, group: str, name: str, causes: list[dict[str, str]]) -> ApiError:
    """``errors.NewInvalid``: note ``details.kind`` is the Kind, not the resource."""
    qualified_kind = f"{kind}.{group}" if group else kind
    rendered = [f"{c['field']}: {c['message']}" for c in causes]
    text = rendered[0] if len(rendered) == 1 else "[" + ", ".join(rendered) + "]"
    return ApiError(
        422,
        "Invalid",
        f'{qualified_kind} "{name}" is invalid: {text}',
        _details(name, group, kind, causes=causes),
    )


def forbidden(
    plural: str, group: str, name: str, why: str, causes: list[dict[str, str]] | None = None
) -> ApiError:
    resource = qualified(plural, group)
    if name:
        message = f'{resource} "{name}" is forbidden: {why}'
    else:
        message = f"{resource} is forbidden: {why}"
    return ApiError(403, "Forbidden", message, _details(name, group, plural, causes=causes))


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def method_not_allowed(action: str, plural: str, group: str) -> ApiError:
    return ApiError(
        405,
        "MethodNotAllowed",
        f'{action} is not supported on resources of kind "{qualified(plural, group)}"',
        _details("", group, plural),
    )


def unsupported_media_type(content_type: str, accepted: list[str]) -> ApiError:
    return ApiError(
        415,
        "UnsupportedMediaType",
        "the body of the request was in an unknown format - accepted media types include: "
        + ", ".join(accepted),
    )


def internal_error(why: str) -> ApiError:
    return ApiError(
        500, "InternalError", f"Internal error occurred: {why}", {"causes": [{"message": why}]}
    )


def unknown_error(code: int, message: str) -> ApiError:
    """What ``ErrorToAPIStatus`` makes of a plain Go error: no reason at all."""
    return ApiError(code, "", message)


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized", "Unauthorized")


def entity_too_large(limit: int) -> ApiError:
    return ApiError(413, "RequestEntityTooLarge", f"Request entity too large: limit is {limit}")


def gone(message: str) -> ApiError:
    return ApiError(410, "Expired", message)


def injected(code: int, message: str | None = None) -> ApiError:
    """A fault-injected failure, shaped like the component that would send it."""
    return ApiError(
        code, REASON_FOR_CODE.get(code, ""), message or MESSAGE_FOR_CODE.get(code, "injected fault")
    )
