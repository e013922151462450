"""One error format for the whole API: RFC 9457 problem details, with field errors.

{"type": "about:blank", "title": "Invalid input", "status": 400,
 "detail": "...", "errors": {"image": ["..."]}}
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
)
from django.core.exceptions import (
    ValidationError as DjangoValidationError,
)
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from clusters.engine.services import IdempotencyConflict
from clusters.kube.errors import KubeError

PROBLEM = "application/problem+json"


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "The resource changed since you read it (If-Match does not match its ETag)."
    default_code = "precondition_failed"


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


class UpstreamError(exceptions.APIException):
    status_code = status.HTTP_502_BAD_GATEWAY
    default_code = "cluster_error"


def _field_errors(error: DjangoValidationError) -> dict[str, list[str]]:
    if hasattr(error, "error_dict"):
        return {
            ("non_field_errors" if field == "__all__" else field): messages
            for field, messages in error.message_dict.items()
        }
    return {"non_field_errors": list(error.messages)}


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail as {"field.sub": [messages]}."""
    if isinstance(detail, dict):
        out: dict[str, list[str]] = {}
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            out.update(_flatten(value, name))
        return out
    if isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            return {prefix or "non_field_errors": [str(item) for item in detail]}
        out = {}
        for index, item in enumerate(detail):
            out.update(_flatten(item, f"{prefix}[{index}]"))
        return out
    return {prefix or "non_field_errors": [str(detail)]}


def problem(
    status_code: int,
    title: str,
    detail: str = "",
    errors: dict | None = None,
    headers: dict | None = None,
) -> Response:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status_code}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    response = Response(body, status=status_code, headers=headers, content_type=PROBLEM)
    return response


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Map Hangar's domain errors and DRF's own onto problem details."""
    if isinstance(exc, IdempotencyConflict):
        return problem(
            422,
            "Idempotency key reused",
            "This Idempotency-Key was used for a different request.",
            _field_errors(exc),
        )
    if isinstance(exc, DjangoValidationError):
        return problem(
            400, "Invalid input", "Correct the fields listed in errors.", _field_errors(exc)
        )
    if isinstance(exc, exceptions.ParseError):
        # The body as a whole (not JSON, not UTF-8, nested too deep): the field is "body".
        return problem(400, "Malformed request", str(exc.detail), {"body": [str(exc.detail)]})
    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    if isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if isinstance(exc, KubeError):
        exc = UpstreamError(detail=f"The cluster answered: {exc.message}")
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    detail = exc.detail if isinstance(exc, exceptions.APIException) else None
    if isinstance(exc, exceptions.ValidationError):
        return problem(
            400,
            "Invalid input",
            "Correct the fields listed in errors.",
            _flatten(detail),
            headers=dict(response.items()),
        )
    title = {
        401: "Not authenticated",
        403: "Forbidden",
        404: "Not found",
        405: "Method not allowed",
        406: "Not acceptable",
        412: "Precondition failed",
        413: "Payload too large",
        415: "Unsupported media type",
        422: "Unprocessable",
        429: "Too many requests",
        502: "Cluster error",
    }.get(response.status_code, "Error")
    text = str(detail) if detail is not None and not isinstance(detail, dict | list) else ""
    return problem(response.status_code, title, text, headers=dict(response.items()))
